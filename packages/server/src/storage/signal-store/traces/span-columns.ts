/**
 * The span table's columns for one write, filled span by span. Numeric columns are typed arrays,
 * which the writer copies into DuckDB in bulk; ids go in as bytes: each hex id is written into its
 * column's buffer as it is (big-endian bytes), and one byte swap per column at the end turns them
 * into the BIGINTs trace-tables.ts defines. No BigInt or string is made per id.
 */
import { endianness } from 'node:os';
import { spanDurationNs, type Span } from '../../../model/span.js';
import type { ColumnValues } from '../table-schema.js';
import { hashColumnValue } from '../string-hash.js';
import { encodeSpanBody, flattenTags } from './span-codec.js';
import { TAG_SEPARATOR } from './trace-tables.js';

/** DuckDB and typed arrays use the platform's byte order; ids are big-endian bytes. */
const SWAP = endianness() === 'LE';

export class SpanColumns {
  /** Low and high 64 bits of the trace id (valid after finishIds). */
  readonly traceKey: BigInt64Array;
  readonly traceHi: BigInt64Array;
  private readonly spanKey: BigInt64Array;
  private readonly parentKey: BigInt64Array;
  private readonly startNs: BigInt64Array;
  private readonly endNs: BigInt64Array;
  private readonly durationNs: BigInt64Array;
  private readonly kind: Uint8Array;
  private readonly statusCode: Uint8Array;
  private readonly requestHash: BigInt64Array;
  private readonly originId: BigInt64Array;
  private readonly service: string[];
  private readonly name: string[];
  private readonly statusMessage: (string | null)[];
  private readonly requestId: (string | null)[];
  private readonly tags: string[];
  private readonly body: string[];
  /** Trace ids as 16 bytes per row, split into traceHi/traceKey by finishIds. */
  private readonly traceIdBytes: Buffer;
  private readonly spanIdBytes: Buffer;
  private readonly parentIdBytes: Buffer;

  constructor(private readonly n: number) {
    this.traceKey = new BigInt64Array(n);
    this.traceHi = new BigInt64Array(n);
    this.spanKey = new BigInt64Array(n);
    this.parentKey = new BigInt64Array(n);
    this.startNs = new BigInt64Array(n);
    this.endNs = new BigInt64Array(n);
    this.durationNs = new BigInt64Array(n);
    this.kind = new Uint8Array(n);
    this.statusCode = new Uint8Array(n);
    this.requestHash = new BigInt64Array(n);
    this.originId = new BigInt64Array(n);
    this.service = new Array<string>(n);
    this.name = new Array<string>(n);
    this.statusMessage = new Array<string | null>(n);
    this.requestId = new Array<string | null>(n);
    this.tags = new Array<string>(n);
    this.body = new Array<string>(n);
    this.traceIdBytes = Buffer.from(new Uint8Array(n * 16).buffer);
    this.spanIdBytes = Buffer.from(this.spanKey.buffer);
    this.parentIdBytes = Buffer.from(this.parentKey.buffer);
  }

  /**
   * Row `i` from span `s` (ids valid lowercase hex, as decoders and the Span contract give them).
   * An all-zero parent id is not a parent in W3C terms and is stored as none.
   */
  set(i: number, s: Span, originId: bigint): void {
    this.traceIdBytes.write(s.traceId, i * 16, 16, 'hex');
    this.spanIdBytes.write(s.spanId, i * 8, 8, 'hex');
    if (s.parentSpanId !== '') this.parentIdBytes.write(s.parentSpanId, i * 8, 8, 'hex');
    this.startNs[i] = s.startNs;
    this.endNs[i] = s.endNs;
    this.durationNs[i] = spanDurationNs(s);
    this.kind[i] = s.kind;
    this.statusCode[i] = s.statusCode;
    this.service[i] = s.service;
    this.name[i] = s.name;
    this.statusMessage[i] = s.statusMessage === '' ? null : s.statusMessage;
    this.requestId[i] = s.requestId === '' ? null : s.requestId;
    this.requestHash[i] = hashColumnValue(s.requestId);
    this.tags[i] = flattenTags('span.', s.attributes, TAG_SEPARATOR);
    this.body[i] = encodeSpanBody(s);
    this.originId[i] = originId;
  }

  /** Turns the id bytes of every row into BIGINTs; call once, after the last set(). */
  finishIds(): void {
    if (SWAP) {
      this.traceIdBytes.swap64();
      this.spanIdBytes.swap64();
      this.parentIdBytes.swap64();
    }
    const ids = new Uint32Array(this.traceIdBytes.buffer, this.traceIdBytes.byteOffset, this.n * 4);
    const hi = new Uint32Array(this.traceHi.buffer);
    const key = new Uint32Array(this.traceKey.buffer);
    for (let i = 0; i < this.n; i++) {
      hi[2 * i] = ids[4 * i]!;
      hi[2 * i + 1] = ids[4 * i + 1]!;
      key[2 * i] = ids[4 * i + 2]!;
      key[2 * i + 1] = ids[4 * i + 3]!;
    }
  }

  /** The columns in SPANS_TABLE order. */
  columns(): ColumnValues[] {
    return [
      this.traceKey,
      this.traceHi,
      this.spanKey,
      this.parentKey,
      this.startNs,
      this.endNs,
      this.durationNs,
      this.service,
      this.name,
      this.kind,
      this.statusCode,
      this.statusMessage,
      this.requestId,
      this.requestHash,
      this.tags,
      this.body,
      this.originId,
    ];
  }
}
