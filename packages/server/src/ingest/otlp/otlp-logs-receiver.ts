/**
 * The protocol-independent part of OTLP logs ingestion, shared by OTLP/HTTP and OTLP/gRPC:
 * decode into log records, store them (durable before the answer), report rejected records as
 * OTLP partial success, count.
 */
import type { Registry } from 'prom-client';
import type { LogRecord } from '../../model/log-record.js';
import type { LogStore } from '../../storage/log-store.js';
import { logIngestMetricsFor, RecordRejections, type LogIngestMetrics } from '../log-ingest.js';
import { decodeLogsRequestJson } from './logs-json-decoder.js';
import { decodeLogsRequestProto } from './logs-proto-decoder.js';
import type { OtlpProtocol } from './otlp-metrics-receiver.js';
import type { PartialSuccess } from './otlp-responses.js';

export interface OtlpLogsDeps {
  readonly logs: LogStore;
  /** Registry for the watchkeeper_ingest_log_* metrics. */
  readonly registry: Registry;
  /** Clock for observed times of records that carry none, Unix ms. */
  readonly now?: () => number;
}

/** Decoded records of one request and the records it rejected. */
export interface DecodedLogs {
  readonly records: LogRecord[];
  readonly rejections: RecordRejections;
}

export class OtlpLogsReceiver {
  private readonly metrics: LogIngestMetrics;
  private readonly now: () => number;

  constructor(private readonly deps: OtlpLogsDeps) {
    this.metrics = logIngestMetricsFor(deps.registry);
    this.now = deps.now ?? Date.now;
  }

  /** Decodes protobuf; throws DecodeError on malformed input. */
  decodeProto(body: Uint8Array): DecodedLogs {
    const rejections = new RecordRejections();
    return { records: decodeLogsRequestProto(body, this.receivedNs(), rejections), rejections };
  }

  /** Decodes parsed OTLP/JSON; throws JsonShapeError on malformed input. */
  decodeJson(json: unknown): DecodedLogs {
    const rejections = new RecordRejections();
    return { records: decodeLogsRequestJson(json, this.receivedNs(), rejections), rejections };
  }

  private receivedNs(): bigint {
    return BigInt(Math.floor(this.now())) * 1_000_000n;
  }

  /** Stores the valid records; resolves after they are durable with the partial success to report. */
  async export(decoded: DecodedLogs, protocol: OtlpProtocol): Promise<PartialSuccess> {
    if (decoded.records.length > 0) await this.deps.logs.append(decoded.records);
    this.metrics.lines.inc({ protocol }, decoded.records.length);
    const { rejections } = decoded;
    if (rejections.count === 0) return { rejected: 0, message: '' };
    this.metrics.rejected.inc({ protocol }, rejections.count);
    return { rejected: rejections.count, message: rejections.summary(decoded.records.length + rejections.count, 'log records') };
  }

  countRequest(protocol: OtlpProtocol, code: string): void {
    this.metrics.requests.inc({ protocol, code });
  }
}
