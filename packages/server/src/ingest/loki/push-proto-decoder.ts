/**
 * Decodes Loki's protobuf PushRequest (pkg/push/push.proto), after snappy decompression:
 *
 * PushRequest { repeated StreamAdapter streams = 1; }
 * StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 * EntryAdapter { google.protobuf.Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
 * Timestamp { int64 seconds = 1; int32 nanos = 2; }   LabelPairAdapter { string name = 1; string value = 2; }
 */
import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, expectWireType } from '../protobuf/proto-reader.js';
import type { LokiEntry, LokiPushRequest, LokiStream } from './push-model.js';

const LD = WIRE_LENGTH_DELIMITED;

/** Decodes a PushRequest; throws DecodeError naming what is malformed and where. */
export function decodePushRequestProto(body: Uint8Array): LokiPushRequest {
  const r = new ProtoReader(body, 'loki push');
  const streams: LokiStream[] = [];
  const end = r.length;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key >>> 3 === 1) {
      expectWireType(r, key, LD, 'PushRequest.streams');
      streams.push(decodeStream(r, r.messageEnd(end)));
    } else r.skip(key & 7);
  }
  return { streams };
}

function decodeStream(r: ProtoReader, end: number): LokiStream {
  let labels = '';
  const entries: LokiEntry[] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(r, key, LD, 'StreamAdapter.labels');
      labels = r.string(end);
    } else if (field === 2) {
      expectWireType(r, key, LD, 'StreamAdapter.entries');
      entries.push(decodeEntry(r, r.messageEnd(end)));
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'StreamAdapter');
  return { labels, entries };
}

function decodeEntry(r: ProtoReader, end: number): LokiEntry {
  let timeNs = 0n;
  let line = '';
  const metadata: [string, string][] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(r, key, LD, 'EntryAdapter.timestamp');
      timeNs = decodeTimestamp(r, r.messageEnd(end));
    } else if (field === 2) {
      expectWireType(r, key, LD, 'EntryAdapter.line');
      line = r.string(end);
    } else if (field === 3) {
      expectWireType(r, key, LD, 'EntryAdapter.structuredMetadata');
      metadata.push(decodeLabelPair(r, r.messageEnd(end)));
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'EntryAdapter');
  return { timeNs, line, metadata };
}

function decodeTimestamp(r: ProtoReader, end: number): bigint {
  let seconds = 0n;
  let nanos = 0;
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(r, key, WIRE_VARINT, 'Timestamp.seconds');
      seconds = r.int64Big();
    } else if (field === 2) {
      expectWireType(r, key, WIRE_VARINT, 'Timestamp.nanos');
      nanos = r.int32();
      if (nanos < 0 || nanos > 999_999_999) throw r.error(`Timestamp.nanos ${nanos} is outside 0..999999999`);
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'Timestamp');
  return seconds * 1_000_000_000n + BigInt(nanos);
}

function decodeLabelPair(r: ProtoReader, end: number): [string, string] {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(r, key, LD, 'LabelPairAdapter.name');
      name = r.string(end);
    } else if (field === 2) {
      expectWireType(r, key, LD, 'LabelPairAdapter.value');
      value = r.string(end);
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'LabelPairAdapter');
  return [name, value];
}
