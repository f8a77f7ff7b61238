/**
 * Serialises query results byte-for-byte as Prometheus's JSON API does: timestamps as seconds
 * with millisecond fraction, values as strings in Go's shortest 'f' formatting.
 */
import type { Labels } from '../../model/labels.js';
import { formatFloat, type QueryResult } from '../../promql/index.js';

/** Prometheus's marshalTimestamp: integer seconds, then a 3-digit fraction when non-zero. */
export function formatTimestamp(ms: number): string {
  let t = Math.round(ms);
  let sign = '';
  if (t < 0) {
    sign = '-';
    t = -t;
  }
  const frac = t % 1000;
  const secs = (t - frac) / 1000;
  return frac === 0 ? `${sign}${secs}` : `${sign}${secs}.${String(frac).padStart(3, '0')}`;
}

function metricJson(labels: Labels): string {
  let out = '{';
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    out += `${i > 0 ? ',' : ''}${JSON.stringify(l.name)}:${JSON.stringify(l.value)}`;
  }
  return `${out}}`;
}

function point(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatFloat(v)}"]`;
}

/** The `data` object of a successful query response. */
export function resultDataJson(r: QueryResult): string {
  let result: string;
  switch (r.resultType) {
    case 'scalar':
      result = point(r.result.t, r.result.v);
      break;
    case 'string':
      result = `[${formatTimestamp(r.result.t)},${JSON.stringify(r.result.v)}]`;
      break;
    case 'vector':
      result = `[${r.result.map((s) => `{"metric":${metricJson(s.metric)},"value":${point(s.t, s.v)}}`).join(',')}]`;
      break;
    case 'matrix': {
      const parts: string[] = [];
      for (const s of r.result) {
        const pts: string[] = new Array<string>(s.timestamps.length);
        for (let i = 0; i < s.timestamps.length; i++) pts[i] = point(s.timestamps[i]!, s.values[i]!);
        parts.push(`{"metric":${metricJson(s.metric)},"values":[${pts.join(',')}]}`);
      }
      result = `[${parts.join(',')}]`;
      break;
    }
  }
  return `{"resultType":"${r.resultType}","result":${result}}`;
}

/** A full success body, with warnings and infos only when present (Go's omitempty). */
export function queryResponseJson(r: QueryResult): string {
  let out = `{"status":"success","data":${resultDataJson(r)}`;
  if (r.warnings.length > 0) out += `,"warnings":${JSON.stringify(r.warnings)}`;
  if (r.infos.length > 0) out += `,"infos":${JSON.stringify(r.infos)}`;
  return `${out}}`;
}
