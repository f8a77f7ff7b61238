import { describe, expect, it } from 'vitest';
import { labelsFromPairs } from '../model/labels.js';
import type { LogRecord } from '../model/log-record.js';
import { logColumnBuffers, LogColumnsBuilder, recordsOfColumns } from './log-columns.js';

const stream = labelsFromPairs([['service_name', 'api']]);
const resource = { 'service.name': 'api' };

function record(over: Partial<LogRecord>): LogRecord {
  return {
    timeNs: 1_700_000_000_123_456_789n,
    observedNs: 1_700_000_001_000_000_000n,
    service: 'api',
    level: 'info',
    severityText: 'INFO',
    severity: 9,
    body: 'hello',
    traceId: '',
    spanId: '',
    requestId: '',
    stream,
    attributes: {},
    resource,
    ...over,
  };
}

describe('LogColumnsBuilder', () => {
  const records = [
    record({}),
    record({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', requestId: 'req-1', attributes: { a: 1, nested: { b: [true, null] } } }),
    record({ traceId: '1234', spanId: 'not-hex-span', body: 'non-ASCII: é ✓ 🎉', level: 'notice', severity: 10, severityText: '' }),
    record({ traceId: '00000000000000000000000000000000', level: '', severity: 0, severityText: 'custom', body: '' }),
    record({ severity: 99, level: 'weird', stream: labelsFromPairs([['service_name', 'other']]), resource: { 'service.name': 'other' }, service: 'other' }),
  ];

  it('gives back the records it was given, ids as text or integers', () => {
    const builder = new LogColumnsBuilder(records.length + 3, 1);
    for (const r of records) builder.addRecord(r);
    const columns = builder.finish();
    expect(columns.rowCount).toBe(records.length);
    expect(columns.streams).toHaveLength(2);
    // A W3C trace id is stored as integers, others as text.
    expect(columns.traceHi[1]).not.toBe(0n);
    expect(columns.traceText.nulls[1]).toBe(1);
    expect(columns.traceText.nulls[2]).toBe(0);
    // Severity 99 is out of range: stored as 0 with its level kept.
    expect(recordsOfColumns(columns)).toEqual(records.map((r) => (r.severity === 99 ? { ...r, severity: 0 } : r)));
  });

  it('survives a transfer to another thread by its buffers', () => {
    const builder = new LogColumnsBuilder(records.length);
    for (const r of records) builder.addRecord(r);
    const columns = builder.finish();
    const expected = recordsOfColumns(columns);
    const moved = structuredClone(columns, { transfer: logColumnBuffers(columns) });
    expect(columns.timeNs.length).toBe(0);
    expect(recordsOfColumns(moved)).toEqual(expected);
  });
});
