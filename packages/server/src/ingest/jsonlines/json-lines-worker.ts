/**
 * Decoder thread of the JSON-lines decoder pool: decodes a request body into log columns and
 * hands them back with their typed-array buffers moved, so the event loop only appends them.
 */
import { logColumnBuffers } from '../../storage/log-columns.js';
import { transferring } from '../../threads/transfer.js';
import type { DecodeReply, DecodeRequest } from './json-lines-decoder-pool.js';
import { decodeJsonLines } from './json-lines-decoder.js';

export default function decode(req: DecodeRequest): DecodeReply {
  try {
    const result = decodeJsonLines(req.body, req.defaults, req.observedNs);
    return transferring<DecodeReply>({ result }, logColumnBuffers(result.columns));
  } catch (err) {
    return { error: (err as Error).message };
  }
}
