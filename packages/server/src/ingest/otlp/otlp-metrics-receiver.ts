/**
 * The protocol-independent part of OTLP metrics ingestion, shared by OTLP/HTTP and OTLP/gRPC:
 * translate a decoded request onto one appender, commit (durable before the answer), count.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Appendable } from '../../storage/interfaces.js';
import { ingestMetricsFor, type IngestMetrics } from '../ingest-metrics.js';
import { Rejections } from '../rejections.js';
import type { MetricsRequest } from './metrics-model.js';
import type { PartialSuccess } from './otlp-responses.js';
import { translateMetrics } from './metrics-translator.js';

/** What OTLP metrics receivers need from the server. */
export interface OtlpMetricsDeps {
  readonly appendable: Appendable;
  readonly logger: Logger;
  /** Registry for the watchkeeper_ingest_* metrics. */
  readonly registry: Registry;
  /** Clock in ms, for the "too far in the future" check (10 minutes ahead, as Prometheus). Default Date.now. */
  readonly now?: () => number;
}

export type OtlpProtocol = 'otlp_http' | 'otlp_grpc';

/** How far ahead of the receiver's clock a point may be, as in Prometheus's OTLP receiver. */
const MAX_AHEAD_MS = 10 * 60 * 1000;

export class OtlpMetricsReceiver {
  private readonly metrics: IngestMetrics;
  private readonly log: Logger;

  constructor(private readonly deps: OtlpMetricsDeps) {
    this.metrics = ingestMetricsFor(deps.registry);
    this.log = deps.logger.child({ component: 'otlp-metrics' });
  }

  /** Stores what can be stored; resolves after commit with the partial success to report. */
  async export(req: MetricsRequest, protocol: OtlpProtocol): Promise<PartialSuccess> {
    const rejections = new Rejections();
    const app = this.deps.appendable.appender();
    let result;
    try {
      result = translateMetrics(req, app, rejections, (this.deps.now ?? Date.now)() + MAX_AHEAD_MS);
    } catch (err) {
      app.rollback();
      throw err;
    }
    await app.commit();
    this.metrics.samples.inc({ protocol }, result.samplesAppended);
    if (result.exemplarsDropped > 0) this.metrics.exemplarsDropped.inc(result.exemplarsDropped);
    for (const [reason, n] of rejections.byReason) this.metrics.rejectedSamples.inc({ protocol, reason }, n);
    if (rejections.total === 0) return { rejected: 0, message: '' };
    this.log.warn({ protocol, rejected: result.rejectedDataPoints, first: rejections.firstMessage }, 'OTLP metric points rejected');
    return { rejected: result.rejectedDataPoints, message: rejections.summary('data points') };
  }

  countRequest(protocol: OtlpProtocol, code: string): void {
    this.metrics.requests.inc({ protocol, code });
  }
}
