import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { DecodeError, ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './proto-reader.js';

const SCALARS = `
syntax = "proto3";
message Scalars {
  int64 i64 = 1;
  uint64 u64 = 2;
  sint64 s64 = 3;
  fixed64 f64 = 4;
  sfixed64 sf64 = 5;
  double d = 6;
  int32 i32 = 7;
  sint32 s32 = 8;
  uint32 u32 = 9;
  fixed32 f32 = 10;
  float fl = 11;
  bool b = 12;
  string s = 13;
  bytes raw = 14;
}`;
const Scalars = protobuf.parse(SCALARS).root.lookupType('Scalars');

/** A deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function randomSafeInt(rand: () => number, signed: boolean): number {
  const mag = Math.floor(rand() * 2 ** Math.floor(rand() * 53));
  return signed && rand() < 0.5 ? -mag : mag;
}

function readAll(buf: Uint8Array): Record<string, unknown> {
  const r = new ProtoReader(buf, 'test');
  const out: Record<string, unknown> = {};
  while (r.pos < r.length) {
    const key = r.tag(r.length);
    switch (key >>> 3) {
      case 1: out.i64 = r.int64(); break;
      case 2: out.u64 = r.uint64(); break;
      case 3: out.s64 = r.sint64(); break;
      case 4: out.f64 = r.fixed64(); break;
      case 5: out.sf64 = r.sfixed64(); break;
      case 6: out.d = r.double(); break;
      case 7: out.i32 = r.int32(); break;
      case 8: out.s32 = r.sint32(); break;
      case 9: out.u32 = r.uint32(); break;
      case 10: out.f32 = r.fixed32(); break;
      case 11: out.fl = r.float(); break;
      case 12: out.b = r.bool(); break;
      case 13: out.s = r.string(); break;
      case 14: out.raw = Buffer.from(r.bytes()); break;
      default: r.skip(key & 7);
    }
  }
  return out;
}

describe('ProtoReader against protobufjs', () => {
  it('decodes random scalar messages exactly as protobufjs encodes them', () => {
    const rand = rng(42);
    for (let i = 0; i < 2000; i++) {
      const msg = {
        i64: randomSafeInt(rand, true),
        u64: randomSafeInt(rand, false),
        s64: randomSafeInt(rand, true),
        f64: randomSafeInt(rand, false),
        sf64: randomSafeInt(rand, true),
        d: (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20),
        i32: (rand() * 2 ** 32) | 0,
        s32: (rand() * 2 ** 32) | 0,
        u32: Math.floor(rand() * 2 ** 32),
        f32: Math.floor(rand() * 2 ** 32),
        fl: Math.fround(rand() * 1000),
        b: rand() < 0.5,
        s: String.fromCodePoint(...Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * 0x2ffff) % 0xd800)),
        raw: Buffer.from(Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * 256))),
      };
      const bytes = Scalars.encode(Scalars.fromObject(msg)).finish();
      const got = readAll(bytes);
      const want = Scalars.toObject(Scalars.decode(bytes), { longs: Number, bytes: Buffer as unknown as typeof String }) as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) {
        if (v instanceof Uint8Array) expect(Buffer.compare(got[k] as Buffer, Buffer.from(v)), k).toBe(0);
        else expect(got[k], `${k} of message ${i}`).toEqual(v);
      }
    }
  });

  it('converts fixed64 nanoseconds to milliseconds exactly', () => {
    const rand = rng(7);
    for (let i = 0; i < 2000; i++) {
      const ns = BigInt(Math.floor(rand() * 2 ** 31)) * 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32));
      const buf = Buffer.alloc(8);
      buf.writeBigUInt64LE(ns);
      expect(new ProtoReader(buf, 't').fixed64NanosToMillis()).toBe(Number(ns / 1_000_000n));
    }
  });

  it('skips unknown fields of every wire type', () => {
    const w = protobuf.Writer.create();
    w.uint32((99 << 3) | WIRE_VARINT).uint64(123456789);
    w.uint32((98 << 3) | WIRE_FIXED64).double(1.5);
    w.uint32((97 << 3) | WIRE_LENGTH_DELIMITED).bytes(Buffer.from('xyz'));
    w.uint32((96 << 3) | WIRE_FIXED32).fixed32(7);
    w.uint32((13 << 3) | WIRE_LENGTH_DELIMITED).string('kept');
    expect(readAll(w.finish())).toEqual({ s: 'kept' });
  });
});

describe('ProtoReader on malformed input', () => {
  const cases: [string, number[], RegExp][] = [
    ['truncated varint', [0x08, 0x80], /test: truncated varint at byte 1/],
    ['varint over 10 bytes', [0x08, ...Array(11).fill(0xff)], /varint longer than 10 bytes at byte 1/],
    ['field number 0', [0x00, 0x01], /invalid field number 0 at byte 0/],
    ['group wire type', [0x0b], /unsupported wire type 3 at byte 0/],
    ['truncated double', [0x31, 1, 2, 3], /truncated 8-byte fixed field at byte 1/],
    ['length past the end', [0x6a, 0x05, 0x61], /truncated: length 5 exceeds the remaining 1 bytes at byte 1/],
    ['invalid UTF-8', [0x6a, 0x02, 0xc3, 0x28], /invalid UTF-8 in string field at byte 2/],
  ];
  for (const [name, bytes, message] of cases) {
    it(`throws a DecodeError on ${name}`, () => {
      let caught: unknown;
      try {
        readAll(Uint8Array.from(bytes));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DecodeError);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('never throws anything but DecodeError on random bytes', () => {
    const rand = rng(99);
    for (let i = 0; i < 3000; i++) {
      const buf = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
      try {
        readAll(buf);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    }
  });
});
