/**
 * Self metrics shared by every push protocol (remote_write, OTLP HTTP and gRPC). Created once per
 * registry, because routes may be registered on several Fastify apps that share one registry.
 */
import { Counter, type Registry } from 'prom-client';

/** Counters of the ingest paths, labelled by protocol ("remote_write", "otlp_http", "otlp_grpc"). */
export interface IngestMetrics {
  readonly samples: Counter<'protocol'>;
  readonly requests: Counter<'protocol' | 'code'>;
  readonly rejectedSamples: Counter<'protocol' | 'reason'>;
  readonly exemplarsDropped: Counter;
}

const byRegistry = new WeakMap<Registry, IngestMetrics>();

/** The ingest metrics registered on `registry`, created on first use. */
export function ingestMetricsFor(registry: Registry): IngestMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: IngestMetrics = {
    samples: new Counter({
      name: 'watchkeeper_ingest_samples_total',
      help: 'Samples accepted from push protocols, by protocol.',
      labelNames: ['protocol'],
      registers,
    }),
    requests: new Counter({
      name: 'watchkeeper_ingest_requests_total',
      help: 'Push requests answered, by protocol and status code.',
      labelNames: ['protocol', 'code'],
      registers,
    }),
    rejectedSamples: new Counter({
      name: 'watchkeeper_ingest_rejected_samples_total',
      help: 'Samples (or OTLP data points) rejected from push protocols, by protocol and reason.',
      labelNames: ['protocol', 'reason'],
      registers,
    }),
    exemplarsDropped: new Counter({
      name: 'watchkeeper_ingest_exemplars_dropped_total',
      help: 'Exemplars received and dropped (exemplar storage is not supported yet).',
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
