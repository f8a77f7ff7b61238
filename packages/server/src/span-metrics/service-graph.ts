/**
 * Service-graph edge pairing as Tempo's metrics-generator does it: a client (or producer) span and
 * the server (or consumer) span whose parent it is form one request between two services. Both
 * halves are keyed by (trace id, client span id) and wait here until the other arrives, at most
 * `waitMs`; the store holds at most `maxItems` unpaired halves, so memory is bounded whatever
 * the traffic. Expired halves become "virtual node" edges when Tempo would make them so: a root
 * server span was called by "user", a client span with peer.service called that peer. Client
 * spans to databases (db.name or db.system) complete at once, the server named after the peer.
 */
import { type Span, SpanKind, StatusCode, attributeValueToString, findAttribute } from '../model/span.js';
import { spanSeconds } from './span-seconds.js';

/** A finished edge, reported once. Latencies in seconds. */
export interface CompletedEdge {
  readonly client: string;
  readonly server: string;
  /** '' (plain), 'messaging_system', 'database' or 'virtual_node', as Tempo labels it. */
  readonly connectionType: string;
  readonly failed: boolean;
  readonly clientSeconds: number;
  readonly serverSeconds: number;
}

interface PendingEdge {
  client: string;
  server: string;
  connectionType: string;
  failed: boolean;
  clientSeconds: number;
  serverSeconds: number;
  /** peer.service (or db peer) of the client span, for virtual server nodes. */
  peer: string;
  /** True when the server half is a root span (no parent): its client is the user. */
  serverIsRoot: boolean;
  readonly expiresAtMs: number;
}

export interface ServiceGraphOptions {
  readonly waitMs: number;
  readonly maxItems: number;
  readonly onEdge: (edge: CompletedEdge) => void;
}

const PEER_ATTRIBUTES = ['peer.service', 'db.name', 'db.system'];

export class ServiceGraphPairer {
  private readonly pending = new Map<string, PendingEdge>();
  /** Halves dropped because the store was full, and halves that expired unpaired. */
  dropped = 0;
  expired = 0;

  constructor(private readonly opts: ServiceGraphOptions) {}

  get size(): number {
    return this.pending.size;
  }

  /** Pairs one half (see edgeHalf) with its other half, or keeps it waiting. */
  observeHalf(h: EdgeHalf, nowMs: number): void {
    let e = this.pending.get(h.key);
    if (e === undefined) {
      if (this.pending.size >= this.opts.maxItems) {
        this.dropped++;
        return;
      }
      e = { client: '', server: '', connectionType: '', failed: false, clientSeconds: 0, serverSeconds: 0, peer: '', serverIsRoot: false, expiresAtMs: nowMs + this.opts.waitMs };
      this.pending.set(h.key, e);
    }
    if (h.messaging) e.connectionType = 'messaging_system';
    e.failed ||= h.failed;
    if (h.isClient) {
      e.client = h.service;
      e.clientSeconds = h.seconds;
      e.peer = h.peer;
      if (h.database !== null) {
        e.connectionType = 'database';
        e.server = h.database;
        e.serverSeconds = h.seconds;
      }
    } else {
      e.server = h.service;
      e.serverSeconds = h.seconds;
      e.serverIsRoot = h.isRoot;
    }
    if (e.client !== '' && e.server !== '') {
      this.pending.delete(h.key);
      this.emit(e);
    }
  }

  /** Reports and forgets halves whose wait is over. */
  expire(nowMs: number): void {
    // Halves are inserted in arrival order with the same wait, so the oldest come first.
    for (const [key, e] of this.pending) {
      if (e.expiresAtMs > nowMs) break;
      this.pending.delete(key);
      this.expired++;
      if (e.client === '' && e.serverIsRoot) {
        e.client = 'user';
        e.connectionType = 'virtual_node';
        this.emit(e);
      } else if (e.server === '' && e.client !== '' && e.peer !== '') {
        e.server = e.peer;
        e.connectionType = 'virtual_node';
        this.emit(e);
      }
    }
  }

  private emit(e: PendingEdge): void {
    this.opts.onEdge({
      client: e.client,
      server: e.server,
      connectionType: e.connectionType,
      failed: e.failed,
      clientSeconds: e.clientSeconds,
      serverSeconds: e.serverSeconds,
    });
  }
}

/** What one client (or producer) or server (or consumer) span contributes to its edge. */
export interface EdgeHalf {
  /** Trace id and the client span's id: both halves of a request share it. */
  readonly key: string;
  readonly isClient: boolean;
  readonly messaging: boolean;
  readonly failed: boolean;
  readonly service: string;
  readonly seconds: number;
  /** Client: peer.service (or db peer), for a virtual server node. */
  readonly peer: string;
  /** Client: the database server it called, or null when not a database call. */
  readonly database: string | null;
  /** Server: a root span (its client is the user). */
  readonly isRoot: boolean;
}

/** The edge half of a span, or null for spans that are neither client nor server. */
export function edgeHalf(span: Span): EdgeHalf | null {
  const isClient = span.kind === SpanKind.CLIENT || span.kind === SpanKind.PRODUCER;
  const isServer = span.kind === SpanKind.SERVER || span.kind === SpanKind.CONSUMER;
  if (!isClient && !isServer) return null;
  return {
    key: `${span.traceId}:${isClient ? span.spanId : span.parentSpanId}`,
    isClient,
    messaging: span.kind === SpanKind.PRODUCER || span.kind === SpanKind.CONSUMER,
    failed: span.statusCode === StatusCode.ERROR,
    service: span.service,
    seconds: spanSeconds(span),
    peer: isClient ? peerOf(span) : '',
    database: isClient ? databaseServer(span) : null,
    isRoot: !isClient && span.parentSpanId === '',
  };
}

function peerOf(span: Span): string {
  for (const name of PEER_ATTRIBUTES) {
    const v = findAttribute(span.attributes, name);
    if (v !== undefined && v !== null) return attributeValueToString(v);
  }
  return '';
}

/** The server node of a database client span (Tempo's precedence), or null when not a database call. */
function databaseServer(span: Span): string | null {
  const dbName = findAttribute(span.attributes, 'db.name');
  if (dbName === undefined && findAttribute(span.attributes, 'db.system') === undefined) return null;
  for (const name of ['peer.service', 'server.address']) {
    const v = findAttribute(span.attributes, name);
    if (v !== undefined && v !== null) return attributeValueToString(v);
  }
  const host = findAttribute(span.attributes, 'network.peer.address');
  if (host !== undefined && host !== null) {
    const port = findAttribute(span.attributes, 'network.peer.port');
    return port !== undefined && port !== null ? `${attributeValueToString(host)}:${attributeValueToString(port)}` : attributeValueToString(host);
  }
  return dbName !== undefined && dbName !== null ? attributeValueToString(dbName) : null;
}
