/** Decodes an OTLP/JSON ExportLogsServiceRequest into LogRecords (the same rules as the protobuf decoder). */
import type { RecordRejections } from '../log-ingest.js';
import type { LogRecord } from '../../model/log-record.js';
import { JsonReader } from './otlp-json.js';
import { newLogFields, resourceContext, toLogRecord } from './logs-records.js';

const SEVERITY_NAMES = [
  'SEVERITY_NUMBER_UNSPECIFIED',
  'SEVERITY_NUMBER_TRACE', 'SEVERITY_NUMBER_TRACE2', 'SEVERITY_NUMBER_TRACE3', 'SEVERITY_NUMBER_TRACE4',
  'SEVERITY_NUMBER_DEBUG', 'SEVERITY_NUMBER_DEBUG2', 'SEVERITY_NUMBER_DEBUG3', 'SEVERITY_NUMBER_DEBUG4',
  'SEVERITY_NUMBER_INFO', 'SEVERITY_NUMBER_INFO2', 'SEVERITY_NUMBER_INFO3', 'SEVERITY_NUMBER_INFO4',
  'SEVERITY_NUMBER_WARN', 'SEVERITY_NUMBER_WARN2', 'SEVERITY_NUMBER_WARN3', 'SEVERITY_NUMBER_WARN4',
  'SEVERITY_NUMBER_ERROR', 'SEVERITY_NUMBER_ERROR2', 'SEVERITY_NUMBER_ERROR3', 'SEVERITY_NUMBER_ERROR4',
  'SEVERITY_NUMBER_FATAL', 'SEVERITY_NUMBER_FATAL2', 'SEVERITY_NUMBER_FATAL3', 'SEVERITY_NUMBER_FATAL4',
];

/** Decodes parsed OTLP/JSON; throws JsonShapeError naming the path of a malformed value. */
export function decodeLogsRequestJson(json: unknown, receivedNs: bigint, rejections: RecordRejections): LogRecord[] {
  const j = new JsonReader('otlp logs JSON');
  const root = j.object(json, '$');
  const out: LogRecord[] = [];
  j.array(root.resourceLogs, 'resourceLogs').forEach((rlv, i) => {
    const rp = `resourceLogs[${i}]`;
    const rl = j.object(rlv, rp);
    const ctx = resourceContext(j.resource(rl.resource, `${rp}.resource`));
    j.array(rl.scopeLogs, `${rp}.scopeLogs`).forEach((slv, k) => {
      const sp = `${rp}.scopeLogs[${k}]`;
      const sl = j.object(slv, sp);
      j.array(sl.logRecords, `${sp}.logRecords`).forEach((lrv, n) => {
        const lp = `${sp}.logRecords[${n}]`;
        const lr = j.object(lrv, lp);
        const f = newLogFields();
        f.timeNs = nanos(j, lr.timeUnixNano, `${lp}.timeUnixNano`);
        f.observedNs = nanos(j, lr.observedTimeUnixNano, `${lp}.observedTimeUnixNano`);
        f.severityNumber = j.enumValue(lr.severityNumber, `${lp}.severityNumber`, SEVERITY_NAMES);
        f.severityText = j.string(lr.severityText, `${lp}.severityText`);
        f.body = j.anyValue(lr.body, `${lp}.body`);
        f.attributes = j.keyValues(lr.attributes, `${lp}.attributes`);
        f.traceId = hexId(j, lr.traceId, `${lp}.traceId`);
        f.spanId = hexId(j, lr.spanId, `${lp}.spanId`);
        f.eventName = j.string(lr.eventName, `${lp}.eventName`);
        const rec = toLogRecord(f, ctx, receivedNs);
        if (typeof rec === 'string') rejections.add(lp, rec);
        else out.push(rec);
      });
    });
  });
  return out;
}

/** A fixed64 nanosecond time as a decimal string or a safe integer number, exactly. */
function nanos(j: JsonReader, v: unknown, path: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return j.fail(path, `expected a Unix time in nanoseconds (decimal string), got ${JSON.stringify(v)}`);
}

/** OTLP/JSON carries trace and span ids as hex (not base64, unlike plain protobuf JSON). */
function hexId(j: JsonReader, v: unknown, path: string): string {
  const s = j.string(v, path);
  if (!/^[0-9a-fA-F]*$/.test(s) || s.length % 2 !== 0) j.fail(path, 'expected a hex string');
  return s.toLowerCase();
}
