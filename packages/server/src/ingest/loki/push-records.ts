/**
 * Turns a decoded Loki push into log records, as Loki 3 does on ingest: stream labels are
 * validated (a bad stream rejects only its own entries), `service_name` is derived from the usual
 * labels when absent, the level comes from a label, structured metadata or the line itself, and
 * trace/span/request ids are taken from structured metadata.
 */
import { labelsFromPairs, type Labels } from '../../model/labels.js';
import { canonicalLevel, severityOfLevelText, UNKNOWN_SERVICE, type LogRecord } from '../../model/log-record.js';
import type { RecordRejections } from '../log-ingest.js';
import { parseLabelsText } from './labels-text.js';
import type { LokiPushRequest } from './push-model.js';

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Loki's default `discover_service_name` labels, in priority order. */
const SERVICE_LABELS = ['service_name', 'service', 'app', 'application', 'name', 'app_kubernetes_io_name', 'container', 'container_name', 'component', 'workload', 'job'];
const LEVEL_KEYS = ['level', 'detected_level', 'severity', 'lvl', 'loglevel', 'LEVEL', 'Level', 'SEVERITY'];
const TRACE_KEYS = ['trace_id', 'traceID', 'traceId', 'traceid'];
const SPAN_KEYS = ['span_id', 'spanID', 'spanId', 'spanid'];
const REQUEST_KEYS = ['request_id', 'requestId', 'requestID', 'correlation_id', 'x_request_id'];
/** `level=warn`, `"level":"warn"`, `severity: error` inside a JSON or logfmt line. */
const LINE_LEVEL_RE = /["']?(?:level|lvl|severity|loglevel)["']?\s*[:=]\s*["']?([A-Za-z]+)/i;
const MAX_LABEL_VALUE_BYTES = 2048;

/** Converts every valid entry; invalid streams and entries are added to `rejections`. */
export function pushToRecords(push: LokiPushRequest, observedNs: bigint, rejections: RecordRejections): LogRecord[] {
  const records: LogRecord[] = [];
  push.streams.forEach((stream, si) => {
    const labelsOrError = streamLabels(stream.labels);
    if (typeof labelsOrError === 'string') {
      for (let i = 0; i < stream.entries.length; i++) rejections.add(`streams[${si}].entries[${i}]`, labelsOrError);
      if (stream.entries.length === 0) rejections.add(`streams[${si}]`, labelsOrError);
      return;
    }
    const { labels, service, labelLevel } = labelsOrError;
    const resource = Object.fromEntries(labels.map((l) => [l.name, l.value]));
    stream.entries.forEach((e, ei) => {
      const metadata: Record<string, string> = {};
      for (const [name, value] of e.metadata) {
        if (!LABEL_NAME_RE.test(name)) {
          rejections.add(`streams[${si}].entries[${ei}]`, `invalid structured metadata name ${JSON.stringify(name)}`);
          return;
        }
        metadata[name] = value;
      }
      const levelText = labelLevel || pick(metadata, LEVEL_KEYS) || lineLevel(e.line);
      const severity = severityOfLevelText(levelText);
      records.push({
        timeNs: e.timeNs,
        observedNs,
        service,
        level: canonicalLevel(severity, levelText),
        severityText: levelText,
        severity,
        body: e.line,
        traceId: pick(metadata, TRACE_KEYS).toLowerCase(),
        spanId: pick(metadata, SPAN_KEYS).toLowerCase(),
        requestId: pick(metadata, REQUEST_KEYS),
        stream: labels,
        attributes: metadata,
        resource,
      });
    });
  });
  return records;
}

interface StreamInfo {
  readonly labels: Labels;
  readonly service: string;
  readonly labelLevel: string;
}

function streamLabels(raw: string | Readonly<Record<string, unknown>>): StreamInfo | string {
  let pairs: [string, string][];
  if (typeof raw === 'string') {
    const parsed = parseLabelsText(raw);
    if (typeof parsed === 'string') return parsed;
    pairs = parsed;
  } else {
    pairs = [];
    for (const [name, value] of Object.entries(raw)) {
      if (typeof value !== 'string') return `stream label ${JSON.stringify(name)} must have a string value`;
      pairs.push([name, value]);
    }
  }
  for (const [name, value] of pairs) {
    if (!LABEL_NAME_RE.test(name)) return `invalid stream label name ${JSON.stringify(name)}`;
    if (Buffer.byteLength(value) > MAX_LABEL_VALUE_BYTES) return `stream label ${name} is longer than ${MAX_LABEL_VALUE_BYTES} bytes`;
  }
  let labels = labelsFromPairs(pairs);
  if (labels.length === 0) return 'a stream needs at least one label';
  let service = '';
  for (const name of SERVICE_LABELS) {
    const l = labels.find((x) => x.name === name);
    if (l) {
      service = l.value;
      break;
    }
  }
  if (service === '') service = UNKNOWN_SERVICE;
  if (!labels.some((l) => l.name === 'service_name')) labels = labelsFromPairs([...pairs, ['service_name', service]]);
  const levelLabel = labels.find((l) => l.name === 'level' || l.name === 'detected_level');
  return { labels, service, labelLevel: levelLabel?.value ?? '' };
}

function pick(meta: Readonly<Record<string, string>>, keys: readonly string[]): string {
  for (const k of keys) {
    const v = meta[k];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

function lineLevel(line: string): string {
  const m = LINE_LEVEL_RE.exec(line.length > 2048 ? line.slice(0, 2048) : line);
  return m ? m[1]! : '';
}
