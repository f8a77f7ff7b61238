/**
 * A decoded Loki PushRequest, produced by the protobuf and the JSON decoder alike. Stream labels
 * stay raw here (the protobuf form carries them as selector text); push-records.ts validates them
 * so that one bad stream rejects only its own entries.
 */

export interface LokiEntry {
  /** Nanoseconds since the epoch. */
  readonly timeNs: bigint;
  readonly line: string;
  /** Structured metadata name/value pairs. */
  readonly metadata: readonly (readonly [string, string])[];
}

export interface LokiStream {
  /** Selector text (`{app="x"}`, protobuf) or a name → value object (JSON). */
  readonly labels: string | Readonly<Record<string, unknown>>;
  readonly entries: readonly LokiEntry[];
}

export interface LokiPushRequest {
  readonly streams: readonly LokiStream[];
}
