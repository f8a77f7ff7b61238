/**
 * OTLP's shared vocabulary (opentelemetry/proto/common/v1 and resource/v1), decoded from protobuf.
 * Metrics use it now; logs and traces reuse the same types and decoders.
 *
 * message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
 *   double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
 * message ArrayValue { repeated AnyValue values = 1; }   message KeyValueList { repeated KeyValue values = 1; }
 * message KeyValue { string key = 1; AnyValue value = 2; }
 * message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
 * message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
 */
import { type ProtoReader, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, expectWireType } from '../protobuf/proto-reader.js';

/** A key/value list (AnyValue.kvlist_value), kept distinct from arrays. */
export class KeyValueList {
  constructor(readonly values: KeyValue[]) {}
}

/**
 * An attribute value: string, boolean, double (number), int64 (bigint, exact), bytes,
 * array, key/value list, or null when the AnyValue is empty.
 */
export type AnyValue = string | boolean | number | bigint | Uint8Array | AnyValue[] | KeyValueList | null;

export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: KeyValue[];
}

export const EMPTY_SCOPE: InstrumentationScope = { name: '', version: '', attributes: [] };

const LD = WIRE_LENGTH_DELIMITED;

export function decodeAnyValue(r: ProtoReader, end: number): AnyValue {
  let value: AnyValue = null;
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key >>> 3) {
      case 1:
        expectWireType(r, key, LD, 'AnyValue.string_value');
        value = r.string(end);
        break;
      case 2:
        expectWireType(r, key, WIRE_VARINT, 'AnyValue.bool_value');
        value = r.bool();
        break;
      case 3:
        expectWireType(r, key, WIRE_VARINT, 'AnyValue.int_value');
        value = r.int64Big();
        break;
      case 4:
        expectWireType(r, key, WIRE_FIXED64, 'AnyValue.double_value');
        value = r.double();
        break;
      case 5: {
        expectWireType(r, key, LD, 'AnyValue.array_value');
        const arrEnd = r.messageEnd(end);
        const values: AnyValue[] = [];
        while (r.pos < arrEnd) {
          const k = r.tag(arrEnd);
          if (k === ((1 << 3) | LD)) values.push(decodeAnyValue(r, r.messageEnd(arrEnd)));
          else r.skip(k & 7);
        }
        r.expectEnd(arrEnd, 'ArrayValue');
        value = values;
        break;
      }
      case 6: {
        expectWireType(r, key, LD, 'AnyValue.kvlist_value');
        const listEnd = r.messageEnd(end);
        const values: KeyValue[] = [];
        while (r.pos < listEnd) {
          const k = r.tag(listEnd);
          if (k === ((1 << 3) | LD)) values.push(decodeKeyValue(r, r.messageEnd(listEnd)));
          else r.skip(k & 7);
        }
        r.expectEnd(listEnd, 'KeyValueList');
        value = new KeyValueList(values);
        break;
      }
      case 7:
        expectWireType(r, key, LD, 'AnyValue.bytes_value');
        value = Uint8Array.from(r.bytes(end));
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'AnyValue');
  return value;
}

export function decodeKeyValue(r: ProtoReader, end: number): KeyValue {
  let key = '';
  let value: AnyValue = null;
  while (r.pos < end) {
    const k = r.tag(end);
    if (k === ((1 << 3) | LD)) key = r.string(end);
    else if (k === ((2 << 3) | LD)) value = decodeAnyValue(r, r.messageEnd(end));
    else r.skip(k & 7);
  }
  r.expectEnd(end, 'KeyValue');
  return { key, value };
}

/** Decodes a Resource message into its attributes. */
export function decodeResource(r: ProtoReader, end: number): KeyValue[] {
  const attributes: KeyValue[] = [];
  while (r.pos < end) {
    const k = r.tag(end);
    if (k === ((1 << 3) | LD)) attributes.push(decodeKeyValue(r, r.messageEnd(end)));
    else r.skip(k & 7);
  }
  r.expectEnd(end, 'Resource');
  return attributes;
}

export function decodeScope(r: ProtoReader, end: number): InstrumentationScope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  while (r.pos < end) {
    const k = r.tag(end);
    if (k === ((1 << 3) | LD)) name = r.string(end);
    else if (k === ((2 << 3) | LD)) version = r.string(end);
    else if (k === ((3 << 3) | LD)) attributes.push(decodeKeyValue(r, r.messageEnd(end)));
    else r.skip(k & 7);
  }
  r.expectEnd(end, 'InstrumentationScope');
  return { name, version, attributes };
}

/** Renders an attribute value as a label value, per the OpenTelemetry attribute specification. */
export function anyValueToString(v: AnyValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return formatDouble(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(anyValueToJson(v));
}

function anyValueToJson(v: AnyValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : formatDouble(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof KeyValueList) return Object.fromEntries(v.values.map((kv) => [kv.key, anyValueToJson(kv.value)]));
  return v.map(anyValueToJson);
}

/** Formats a float the way Prometheus labels print them (`+Inf`, `-Inf`, `NaN`, shortest decimal). */
export function formatDouble(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
