/**
 * OTLP/JSON helpers shared by the metrics, logs and traces decoders: the protobuf JSON mapping
 * with OTLP's rules (lowerCamelCase keys, int64 as decimal strings or numbers, enums as integers,
 * trace/span ids as hex). Every shape error names the JSON path of the offending value.
 */
import { type AnyValue, type InstrumentationScope, type KeyValue, KeyValueList, EMPTY_SCOPE } from './otlp-common.js';

/** Malformed OTLP/JSON input; answered with 400. */
export class JsonShapeError extends Error {
  override readonly name = 'JsonShapeError';
  constructor(context: string, path: string, detail: string) {
    super(`${context}: ${path}: ${detail}`);
  }
}

export type JsonObject = Record<string, unknown>;

/** Reads fields of one JSON object, reporting errors with the object's path. */
export class JsonReader {
  constructor(readonly context: string) {}

  fail(path: string, detail: string): never {
    throw new JsonShapeError(this.context, path, detail);
  }

  object(v: unknown, path: string): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'expected an object');
    return v as JsonObject;
  }

  optObject(v: unknown, path: string): JsonObject | null {
    return v === undefined || v === null ? null : this.object(v, path);
  }

  array(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, 'expected an array');
    return v;
  }

  string(v: unknown, path: string): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') this.fail(path, 'expected a string');
    return v;
  }

  bool(v: unknown, path: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') this.fail(path, 'expected a boolean');
    return v;
  }

  /** A double: a JSON number or one of "NaN", "Infinity", "-Infinity". */
  double(v: unknown, path: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number') return v;
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    return this.fail(path, `expected a number, got ${JSON.stringify(v)}`);
  }

  /** An unsigned or signed 64-bit integer given as a decimal string or a JSON number; exact within 2^53. */
  int64(v: unknown, path: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return Number(v);
    return this.fail(path, `expected an integer (number or decimal string), got ${JSON.stringify(v)}`);
  }

  /** An enum given as its integer value (OTLP/JSON), or its name as protobuf JSON allows. */
  enumValue(v: unknown, path: string, names: readonly string[]): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    if (typeof v === 'string' && names.includes(v)) return names.indexOf(v);
    return this.fail(path, `expected an enum integer, got ${JSON.stringify(v)}`);
  }

  /** A fixed64 nanosecond timestamp (decimal string or number) converted exactly to milliseconds. */
  nanosToMillis(v: unknown, path: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return v.length > 6 ? Number(v.slice(0, -6)) : 0;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return Math.floor(v / 1e6);
    return this.fail(path, `expected a Unix time in nanoseconds (decimal string or number), got ${JSON.stringify(v)}`);
  }

  anyValue(v: unknown, path: string): AnyValue {
    const o = this.optObject(v, path);
    if (o === null) return null;
    if ('stringValue' in o) return this.string(o.stringValue, `${path}.stringValue`);
    if ('boolValue' in o) return this.bool(o.boolValue, `${path}.boolValue`);
    if ('intValue' in o) {
      const iv = o.intValue;
      if (typeof iv === 'number' && Number.isSafeInteger(iv)) return BigInt(iv);
      if (typeof iv === 'string' && /^-?\d{1,20}$/.test(iv)) return BigInt.asIntN(64, BigInt(iv));
      return this.fail(`${path}.intValue`, `expected an integer, got ${JSON.stringify(iv)}`);
    }
    if ('doubleValue' in o) return this.double(o.doubleValue, `${path}.doubleValue`);
    if ('bytesValue' in o) {
      const b = this.string(o.bytesValue, `${path}.bytesValue`);
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b)) this.fail(`${path}.bytesValue`, 'expected base64');
      return new Uint8Array(Buffer.from(b, 'base64'));
    }
    if ('arrayValue' in o) {
      const arr = this.optObject(o.arrayValue, `${path}.arrayValue`);
      return this.array(arr?.values, `${path}.arrayValue.values`).map((x, i) => this.anyValue(x, `${path}.arrayValue.values[${i}]`));
    }
    if ('kvlistValue' in o) {
      const list = this.optObject(o.kvlistValue, `${path}.kvlistValue`);
      return new KeyValueList(this.keyValues(list?.values, `${path}.kvlistValue.values`));
    }
    return null;
  }

  keyValues(v: unknown, path: string): KeyValue[] {
    return this.array(v, path).map((x, i) => {
      const p = `${path}[${i}]`;
      const o = this.object(x, p);
      return { key: this.string(o.key, `${p}.key`), value: this.anyValue(o.value, `${p}.value`) };
    });
  }

  resource(v: unknown, path: string): KeyValue[] {
    const o = this.optObject(v, path);
    return o === null ? [] : this.keyValues(o.attributes, `${path}.attributes`);
  }

  scope(v: unknown, path: string): InstrumentationScope {
    const o = this.optObject(v, path);
    if (o === null) return EMPTY_SCOPE;
    return {
      name: this.string(o.name, `${path}.name`),
      version: this.string(o.version, `${path}.version`),
      attributes: this.keyValues(o.attributes, `${path}.attributes`),
    };
  }
}
