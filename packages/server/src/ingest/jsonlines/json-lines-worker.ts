/**
 * Worker thread of the JSON-lines decoder pool: decodes request bodies into log columns and posts
 * them back with their typed-array buffers transferred, so the event loop only appends them.
 */
import { parentPort } from 'node:worker_threads';
import { logColumnBuffers } from '../../storage/log-columns.js';
import type { DecodeReply, DecodeRequest } from './json-lines-decoder-pool.js';
import { decodeJsonLines } from './json-lines-decoder.js';

const port = parentPort;
if (port === null) throw new Error('json-lines-worker must run in a worker thread');

port.on('message', (req: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const result = decodeJsonLines(req.body, req.defaults, req.observedNs);
    reply = { id: req.id, result };
    port.postMessage(reply, logColumnBuffers(result.columns));
  } catch (err) {
    reply = { id: req.id, error: (err as Error).message };
    port.postMessage(reply);
  }
});
