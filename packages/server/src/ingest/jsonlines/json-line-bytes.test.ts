import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../model/log-record.js';
import { LogColumnsBuilder, recordsOfColumns, type LogColumns } from '../../storage/log-columns.js';
import { addJsonLineBytes } from './json-line-bytes.js';
import { addJsonLine } from './json-line-record.js';
import { JsonObjectScan } from './json-object-scan.js';

const defaults = { service: 'svc', environment: 'env', version: '' };
const OBSERVED = 1_800_000_000_000_000_000n;

/**
 * The record of a line by the byte path (null when it declines) and by the text path (or its
 * rejection); when both read it, their lookup columns (id hashes and integers) must agree too.
 */
function bothPaths(line: string | Buffer): { fast: LogRecord | null; slow: LogRecord | string } {
  const lineBytes = Buffer.from(line);
  const bytes = Buffer.concat([Buffer.from('xx'), lineBytes, Buffer.from('yy')]);
  const fastOut = new LogColumnsBuilder(1);
  const fastRead = addJsonLineBytes(bytes, 2, bytes.length - 2, defaults, OBSERVED, fastOut);
  const slowOut = new LogColumnsBuilder(1);
  const reason = addJsonLine(lineBytes.toString('utf8').trim(), defaults, OBSERVED, slowOut);
  const fastColumns = fastOut.finish();
  const slowColumns = slowOut.finish();
  if (fastRead && reason === null) {
    const lookups = (c: LogColumns): bigint[] => [c.traceHash[0]!, c.requestHash[0]!, c.traceHi[0]!, c.traceLo[0]!, c.spanBits[0]!];
    expect(lookups(fastColumns)).toEqual(lookups(slowColumns));
  }
  return { fast: fastRead ? recordsOfColumns(fastColumns)[0]! : null, slow: reason ?? recordsOfColumns(slowColumns)[0]! };
}

function rng(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

describe('JSON lines read from bytes', () => {
  it('gives the records the text path gives, for lines of many shapes', () => {
    const next = rng(5);
    const keys = ['msg', 'message', 'event', 'level', 'levelname', 'levelno', 'severity', 'time', 'ts', '@timestamp', 'request_id', 'reqId', 'trace_id', 'traceId', 'span_id', 'name', 'service', 'env', 'version', 'a', 'b', 'x.y', 'req', 'msg'];
    const values = [
      '"text"', '""', 'null', '12', '30', '50', '-0.5e3', '1.5E+2', 'true', 'false', '{"url":"/x","n":[1,{"k":"}"}]}', '[]', '{}', '"{not: an, [object]}"',
      '1700000000123', '1700000000', '"1700000000123456789"', '"2023-11-14T22:13:20.123456Z"', '"soon"', '"4bf92f3577b34da6a3ce929d0e0e4736"', '"4BF92F3577B34DA6A3CE929D0E0E4736"',
      '"00f067aa0ba902b7"', '"00000000000000000000000000000000"', '"warning"', '"INFO"', '12345678901234567890', '0', '-1', '"r-1"', '"é"', '"a\\"b"',
      '"line 1\\nline 2 \\u00e9 \\ud83c\\udf89 \\/"', '"日本語 ✓ 🎉"', '{"é":"\\t"}', '["\\u0000"]',
    ];
    const space = (): string => [' ', '', '', '\t', '  '][next(5)]!;
    let fastLines = 0;
    for (let i = 0; i < 3000; i++) {
      const members = Array.from({ length: next(10) }, () => `${space()}"${keys[next(keys.length)]}"${space()}:${space()}${values[next(values.length)]}${space()}`);
      const line = `${space()}{${members.join(',')}}${space()}`;
      const { fast, slow } = bothPaths(line);
      if (fast === null) continue;
      fastLines++;
      expect(fast, line).toEqual(slow);
    }
    // Many of these lines are of the shape the byte path reads (the others have escapes, repeated role keys, ...).
    expect(fastLines).toBeGreaterThan(400);
  });

  it('reads a pino line from bytes, attributes copied as text', () => {
    const line = '{"level":30,"time":1700000000123,"pid":1,"hostname":"h","name":"checkout","request_id":"r-1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","req":{"url":"/x"},"msg":"done"}';
    const { fast, slow } = bothPaths(line);
    expect(fast).toMatchObject({ timeNs: 1_700_000_000_123_000_000n, level: 'info', severityText: '30', body: 'done', service: 'checkout', requestId: 'r-1', attributes: { pid: 1, hostname: 'h', req: { url: '/x' } } });
    expect(fast).toEqual(slow);
  });

  it('never reads a line the text path rejects, nor one it reads differently, among random mutations', () => {
    const next = rng(9);
    const base = '{"level":30,"time":1700000000123,"name":"checkout","request_id":"r-1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","req":{"n":[1,2.5e3,true,null]},"msg":"done"}';
    const alphabet = '{}[]":,.-+eE0123456789 \t\\truefalsnl\u0000\u007fé';
    let declined = 0;
    for (let i = 0; i < 5000; i++) {
      const chars = [...base];
      for (let k = 0, edits = 1 + next(3); k < edits; k++) {
        const at = next(chars.length + 1);
        const op = next(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[next(alphabet.length)]!);
        else chars[at] = alphabet[next(alphabet.length)]!;
      }
      const line = chars.join('');
      const { fast, slow } = bothPaths(line);
      if (fast === null) {
        declined++;
        continue;
      }
      expect(slow, line).not.toBeTypeOf('string');
      expect(fast, line).toEqual(slow);
    }
    expect(declined).toBeGreaterThan(0);
  });

  it('never reads a line whose bytes are not valid UTF-8, nor reads one differently', () => {
    const next = rng(13);
    const base = Buffer.from('{"level":30,"msg":"caf\u00e9 é","user":"日本","n":[1,"✓"],"request_id":"r-1"}');
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(base);
      for (let k = 0, edits = 1 + next(2); k < edits; k++) bytes[next(bytes.length)] = 0x80 + next(0x80);
      const { fast, slow } = bothPaths(bytes);
      if (fast === null) continue;
      expect(bytes.equals(Buffer.from(bytes.toString('utf8'))), bytes.toString('hex')).toBe(true);
      expect(fast).toEqual(slow);
    }
  });

  it('accepts what JSON.parse accepts as an object with plain keys, and declines the rest', () => {
    const scan = new JsonObjectScan(8);
    const valid = ['{}', ' {"a":1} ', '{"a":[1,{"b":[]}],"c":-0.5e-3}', '{"a":"\\n\\u00e9\\"","b":"é ✓ 🎉","c":{"ключ":"\\/"}}'];
    const invalid = ['{"a":01}', '{"a":1,}', '{"a" 1}', '{"a":tru}', '{"a":"\u0001"}', '{"a":1}x', '{"a":1.}', '{"a":-}', '{"a":1e}', '{,}', '{"a":[1,]}', '{"a":nul}', '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":"\\u12g4"}'];
    // Valid JSON, but not an object with plain keys (the decoder matches keys as bytes): left to JSON.parse.
    const declined = ['[1]', '{"é":1}', '{"m\\u0073g":1}'];
    for (const text of valid) expect(scan.scan(Buffer.from(text), 0, Buffer.byteLength(text)), text).toBe(true);
    for (const text of [...invalid, ...declined]) expect(scan.scan(Buffer.from(text), 0, Buffer.byteLength(text)), text).toBe(false);
    for (const text of [...valid, ...declined]) expect(() => JSON.parse(text)).not.toThrow();
    for (const text of invalid) expect(() => JSON.parse(text), text).toThrow();
    // Invalid UTF-8 in a string (overlong forms, surrogates, beyond U+10FFFF, stray or missing continuation bytes): declined.
    const invalidUtf8 = [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xc3, 0x41]];
    for (const sequence of invalidUtf8) {
      const bytes = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from(sequence), Buffer.from('y"}')]);
      expect(scan.scan(bytes, 0, bytes.length), Buffer.from(sequence).toString('hex')).toBe(false);
    }
    const validUtf8 = Buffer.from('{"a":"\u00e9 \u0800 \ud7ff \ue000 \u{10ffff}"}');
    expect(scan.scan(validUtf8, 0, validUtf8.length)).toBe(true);
    // More members than the scan holds: declined.
    expect(scan.scan(Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i])))), 0, 80)).toBe(false);
  });
});
