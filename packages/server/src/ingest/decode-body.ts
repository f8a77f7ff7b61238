/**
 * Request body decompression for every ingest endpoint (Sentry, OTLP/HTTP, Loki JSON, JSON lines):
 * gzip, deflate (zlib or raw) and brotli, as named by Content-Encoding. Output is capped, so a
 * small compressed bomb is refused with 413 instead of filling memory.
 */
import {
  brotliDecompress,
  brotliDecompressSync,
  gunzip,
  gunzipSync,
  inflate,
  inflateRaw,
  inflateRawSync,
  inflateSync,
  type InputType,
  type ZlibOptions,
  type BrotliOptions,
} from 'node:zlib';
import { ApiError, errorTypeForStatus } from '../api/errors.js';

/** The body cannot be decoded; `status` is 400 (corrupt), 413 (too large) or 415 (unknown encoding). */
export class BodyDecodeError extends Error {
  override readonly name = 'BodyDecodeError';
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

type Decompress = (buf: InputType, opts: ZlibOptions & BrotliOptions, cb: (err: Error | null, out: Buffer) => void) => void;
type DecompressSync = (buf: InputType, opts: ZlibOptions & BrotliOptions) => Buffer;

/**
 * Compressed bodies up to this size are inflated on the calling thread. SDK requests are a few
 * KB: inflating one takes microseconds, while zlib's thread pool cost the event loop far more per
 * call in stream set-up and callbacks. Larger bodies (and bombs, bounded by maxBytes either way)
 * go to the thread pool.
 */
const SYNC_MAX_COMPRESSED_BYTES = 256 * 1024;

function run(fn: Decompress, fnSync: DecompressSync, body: Buffer, maxBytes: number): Promise<Buffer> {
  if (body.length <= SYNC_MAX_COMPRESSED_BYTES) return Promise.resolve(fnSync(body, { maxOutputLength: maxBytes }));
  return new Promise((resolve, reject) => fn(body, { maxOutputLength: maxBytes }, (err, out) => (err ? reject(err) : resolve(out))));
}

async function decodeOne(encoding: string, body: Buffer, maxBytes: number): Promise<Buffer> {
  switch (encoding) {
    case 'identity':
    case '':
      return body;
    case 'gzip':
    case 'x-gzip':
      return run(gunzip as Decompress, gunzipSync, body, maxBytes);
    case 'br':
      return run(brotliDecompress as Decompress, brotliDecompressSync, body, maxBytes);
    case 'deflate':
      // RFC 9110's deflate is zlib-wrapped, but some clients send raw deflate; the first byte tells.
      return (body[0]! & 0x0f) === 8 && ((body[0]! << 8) | body[1]!) % 31 === 0
        ? run(inflate as Decompress, inflateSync, body, maxBytes)
        : run(inflateRaw as Decompress, inflateRawSync, body, maxBytes);
    default:
      throw new BodyDecodeError(415, `unsupported Content-Encoding "${encoding}": expected gzip, deflate, br or identity`);
  }
}

/** Decodes `body` per its Content-Encoding header (a list is applied right to left). */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  if (!contentEncoding) return body;
  const encodings = contentEncoding
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  let out = body;
  for (let i = encodings.length - 1; i >= 0; i--) {
    const encoding = encodings[i]!;
    try {
      out = await decodeOne(encoding, out, maxBytes);
    } catch (err) {
      if (err instanceof BodyDecodeError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        throw new BodyDecodeError(413, `the ${encoding}-decoded body is larger than the limit of ${maxBytes} bytes`);
      }
      throw new BodyDecodeError(400, `the body is not valid ${encoding} data: ${(err as Error).message}`);
    }
  }
  if (out.length > maxBytes) throw new BodyDecodeError(413, `the body is larger than the limit of ${maxBytes} bytes`);
  return out;
}

/**
 * decodeBody for routes answering in Prometheus's error shape: a failure becomes an ApiError with
 * the same status, its message prefixed by `what` (e.g. "loki push").
 */
export async function decodeRequestBody(body: Buffer, contentEncoding: string | string[] | undefined, maxBytes: number, what: string): Promise<Buffer> {
  try {
    return await decodeBody(body, typeof contentEncoding === 'string' ? contentEncoding : undefined, maxBytes);
  } catch (err) {
    if (err instanceof BodyDecodeError) throw new ApiError(err.status, errorTypeForStatus(err.status), `${what}: ${err.message}`);
    throw err;
  }
}
