/** Loki's response shapes: streams (log queries), matrix and vector (metric queries). */
import { labelsToRecord } from '../../model/labels.js';
import type { LogStreamResult, MatrixResult } from '../../logql/evaluator.js';

export interface LokiStreamJson {
  stream: Record<string, string>;
  values: [string, string][];
}

/** Streams with their entries as ["<ns>", "<line>"], entries ordered by the query's direction. */
export function streamsJson(streams: readonly LogStreamResult[]): LokiStreamJson[] {
  return streams.map((s) => ({ stream: labelsToRecord(s.labels), values: s.entries.map((e) => [String(e.timeNs), e.line] as [string, string]) }));
}

function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function seconds(ns: bigint): number {
  return Number(ns) / 1e9;
}

/** A range query's result: `[[<unix seconds>, "<value>"], ...]` per series, absent steps omitted. */
export function matrixJson(m: MatrixResult): { metric: Record<string, string>; values: [number, string][] }[] {
  return m.series.map((s) => {
    const values: [number, string][] = [];
    for (let i = 0; i < m.steps; i++) {
      const v = s.values[i]!;
      if (!Number.isNaN(v)) values.push([seconds(m.startNs + BigInt(i) * m.stepNs), formatValue(v)]);
    }
    return { metric: labelsToRecord(s.labels), values };
  });
}

/** An instant query's result: one `[<unix seconds>, "<value>"]` per series. */
export function vectorJson(m: MatrixResult): { metric: Record<string, string>; value: [number, string] }[] {
  const t = seconds(m.startNs);
  return m.series.filter((s) => !Number.isNaN(s.values[0]!)).map((s) => ({ metric: labelsToRecord(s.labels), value: [t, formatValue(s.values[0]!)] }));
}
