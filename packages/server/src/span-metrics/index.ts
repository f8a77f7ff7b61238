/** Span-derived RED metrics and service-graph edges (Tempo metrics-generator compatible). */
export { SpanMetricsGenerator, SPAN_METRICS_BUCKETS, SERVICE_GRAPH_BUCKETS, type SpanMetricsGeneratorOptions } from './span-metrics-generator.js';
export { ServiceGraphPairer, type CompletedEdge, type ServiceGraphOptions } from './service-graph.js';
