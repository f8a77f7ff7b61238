import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../protobuf/proto-reader.js';
import { JsonShapeError } from './otlp-json.js';
import { decodeTracesRequestJson } from './traces-json-decoder.js';
import { decodeTracesRequestProto } from './traces-proto-decoder.js';

const require = createRequire(import.meta.url);
const transformerDir = dirname(require.resolve('@opentelemetry/otlp-transformer/package.json'));
interface StaticType {
  encode(m: unknown): { finish(): Uint8Array };
  fromObject(o: unknown): unknown;
}
const root = require(join(transformerDir, 'build/src/generated/root.js')) as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: StaticType } } } } };
};
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const opts = { requestIdAttributes: ['app.rid', 'http.request.header.x-request-id', 'request_id'] };
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const PARENT = '00f067aa0ba902b7';
// Past 2^53: a float64 would lose the last digits.
const START = '1700000000123456789';
const END = '1700000000987654321';

/** One span with every field set, in protobufjs object form (bytes as base64, int64 as strings). */
function fullRequest(): unknown {
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '2.0', attributes: [{ key: 'scope.attr', value: { boolValue: true } }] },
            spans: [
              {
                traceId: b64(TRACE),
                spanId: b64(SPAN),
                parentSpanId: b64(PARENT),
                traceState: 'vendor=1',
                flags: 0x301,
                name: 'charge card',
                kind: 3,
                startTimeUnixNano: START,
                endTimeUnixNano: END,
                attributes: [
                  { key: 's', value: { stringValue: 'héllo' } },
                  { key: 'i', value: { intValue: '-9007199254740993' } },
                  { key: 'd', value: { doubleValue: 1.5 } },
                  { key: 'b', value: { boolValue: false } },
                  { key: 'y', value: { bytesValue: Buffer.from([0, 255]).toString('base64') } },
                  { key: 'a', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '2' }] } } },
                  { key: 'kv', value: { kvlistValue: { values: [{ key: 'inner', value: { doubleValue: 2 } }] } } },
                  { key: 'app.rid', value: { arrayValue: { values: [{ stringValue: 'rid-42' }] } } },
                  { key: 'empty', value: {} },
                ],
                droppedAttributesCount: 2,
                events: [{ timeUnixNano: START, name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'Boom' } }], droppedAttributesCount: 1 }],
                droppedEventsCount: 3,
                links: [{ traceId: b64(TRACE), spanId: b64(PARENT), traceState: 'l=1', attributes: [], droppedAttributesCount: 4, flags: 1 }],
                droppedLinksCount: 5,
                status: { code: 2, message: 'declined' },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('OTLP trace protobuf decoder', () => {
  it('decodes every span field exactly, checked against OpenTelemetry’s generated encoder', () => {
    const bytes = Request.encode(Request.fromObject(fullRequest())).finish();
    const { spans, rejections } = decodeTracesRequestProto(bytes, opts);
    expect(rejections.total).toBe(0);
    expect(spans).toHaveLength(1);
    const s = spans[0]!;
    expect(s).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: PARENT,
      traceState: 'vendor=1',
      flags: 0x301,
      name: 'charge card',
      kind: 3,
      startNs: BigInt(START),
      endNs: BigInt(END),
      statusCode: 2,
      statusMessage: 'declined',
      droppedAttributesCount: 2,
      droppedEventsCount: 3,
      droppedLinksCount: 5,
      service: 'checkout',
      requestId: 'rid-42',
      scope: { name: 'lib', version: '2.0', attributes: [{ key: 'scope.attr', value: true }] },
    });
    const attr = Object.fromEntries(s.attributes.map((a) => [a.key, a.value]));
    expect(attr.s).toBe('héllo');
    expect(attr.i).toBe(-9007199254740993n);
    expect(attr.d).toBe(1.5);
    expect(attr.b).toBe(false);
    expect(attr.y).toEqual(new Uint8Array([0, 255]));
    expect(attr.a).toEqual(['x', 2n]);
    expect(attr.kv).toMatchObject({ values: [{ key: 'inner', value: 2 }] });
    expect(attr.empty).toBeNull();
    expect(s.events).toEqual([{ timeNs: BigInt(START), name: 'exception', attributes: [{ key: 'exception.type', value: 'Boom' }], droppedAttributesCount: 1 }]);
    expect(s.links).toEqual([{ traceId: TRACE, spanId: PARENT, traceState: 'l=1', flags: 1, attributes: [], droppedAttributesCount: 4 }]);
  });

  it('rejects every truncation with a DecodeError, never another exception', () => {
    const bytes = Buffer.from(Request.encode(Request.fromObject(fullRequest())).finish());
    let rejected = 0;
    for (let n = 1; n < bytes.length; n++) {
      try {
        decodeTracesRequestProto(bytes.subarray(0, n), opts);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(bytes.length / 2);
  });

  it('names the field for a wrong wire type and rejects invalid UTF-8', () => {
    // ResourceSpans { ScopeSpans { Span { name (field 5) as varint } } }
    const wrongType = Buffer.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x28, 0x01]);
    expect(() => decodeTracesRequestProto(wrongType, opts)).toThrow(/Span.name has wire type 0, expected 2/);
    const badUtf8 = Buffer.from([0x0a, 0x07, 0x12, 0x05, 0x12, 0x03, 0x2a, 0x01, 0xff]);
    expect(() => decodeTracesRequestProto(badUtf8, opts)).toThrow(/invalid UTF-8/);
  });

  it('drops invalid spans with a reason and keeps the rest', () => {
    const req = fullRequest() as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
    const spans = req.resourceSpans[0]!.scopeSpans[0]!.spans;
    const good = spans[0]!;
    spans.push({ ...good, traceId: Buffer.alloc(8, 1).toString('base64') });
    spans.push({ ...good, spanId: Buffer.alloc(8).toString('base64') });
    spans.push({ ...good, startTimeUnixNano: '0' });
    const decoded = decodeTracesRequestProto(Request.encode(Request.fromObject(req)).finish(), opts);
    expect(decoded.spans).toHaveLength(1);
    expect(decoded.rejections.total).toBe(3);
    expect(decoded.rejections.summary('spans')).toBe(
      '3 spans rejected (invalid_span: 3); first error: resourceSpans[0].scopeSpans[0].spans[1]: trace id must be 16 bytes and not all zero, got "0101010101010101"',
    );
  });
});

describe('OTLP trace JSON decoder', () => {
  const span = (over: Record<string, unknown> = {}) => ({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
        scopeSpans: [{ spans: [{ traceId: TRACE.toUpperCase(), spanId: SPAN, name: 'GET', kind: 'SPAN_KIND_SERVER', startTimeUnixNano: START, endTimeUnixNano: END, ...over }] }],
      },
    ],
  });

  it('reads hex ids (any case), enum names or numbers, and exact nanosecond strings', () => {
    const { spans } = decodeTracesRequestJson(
      span({ attributes: [{ key: 'request_id', value: { stringValue: 'r-1' } }, { key: 'n', value: { intValue: '12' } }], status: { code: 'STATUS_CODE_ERROR' } }),
      opts,
    );
    expect(spans[0]).toMatchObject({ traceId: TRACE, kind: 2, startNs: BigInt(START), endNs: BigInt(END), statusCode: 2, service: 'web', requestId: 'r-1' });
    expect(spans[0]!.attributes[1]!.value).toBe(12n);
  });

  it('rejects malformed JSON shapes with the JSON path', () => {
    const cases: [unknown, RegExp][] = [
      [[], /\$: expected an object/],
      [{ resourceSpans: 'x' }, /\$\.resourceSpans: expected an array/],
      [span({ spanId: 'AAECAwQFBgc=' }), /spans\[0\]\.spanId: expected a hex-encoded id/],
      [span({ startTimeUnixNano: '1.5' }), /startTimeUnixNano: expected a Unix time in nanoseconds/],
      [span({ kind: 'SERVER' }), /spans\[0\]\.kind: expected an enum integer/],
      [span({ attributes: [{ key: 'x', value: { intValue: 'ten' } }] }), /attributes\[0\]\.value\.intValue: expected an integer/],
      [span({ events: [{ timeUnixNano: -1 }] }), /events\[0\]\.timeUnixNano/],
    ];
    for (const [body, message] of cases) {
      expect(() => decodeTracesRequestJson(body, opts)).toThrow(JsonShapeError);
      expect(() => decodeTracesRequestJson(body, opts)).toThrow(message);
    }
  });
});
