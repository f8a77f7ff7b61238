/**
 * The notification log: per group and integration, which alerts were firing and resolved at the last
 * successful notification, and when. Deduplication reads it; it is written durably before a flush
 * counts as done, so a restart sends neither a duplicate nor skips a notification.
 */
import type { Clock } from './clock.js';
import { readStateFile, StateFileWriter } from './state-file.js';

export interface NotificationLogEntry {
  /** Fingerprints. */
  readonly firing: readonly string[];
  readonly resolved: readonly string[];
  /** Unix ms of the notification. */
  readonly timestamp: number;
  /** Unix ms after which the entry is dropped. */
  readonly expiresAt: number;
}

/** Identifies one integration of one receiver, as Alertmanager's nflog does: `name/integration/index`. */
export interface ReceiverKey {
  readonly receiver: string;
  readonly integration: string;
  readonly index: number;
}

export function receiverKeyString(r: ReceiverKey): string {
  return `${r.receiver}/${r.integration}/${r.index}`;
}

export class NotificationLog {
  private readonly entries = new Map<string, NotificationLogEntry>();
  private readonly writer: StateFileWriter;

  constructor(
    file: string,
    private readonly clock: Clock,
  ) {
    this.writer = new StateFileWriter(file);
    const saved = readStateFile(file) as Record<string, NotificationLogEntry> | null;
    for (const [k, v] of Object.entries(saved ?? {})) this.entries.set(k, v);
  }

  private static key(groupKey: string, r: ReceiverKey): string {
    return `${groupKey}:${receiverKeyString(r)}`;
  }

  get(groupKey: string, r: ReceiverKey): NotificationLogEntry | undefined {
    const e = this.entries.get(NotificationLog.key(groupKey, r));
    return e && e.expiresAt > this.clock.now() ? e : undefined;
  }

  /**
   * Records a notification made at `now` (Unix ms), kept for `retentionMs`. Deduplication sees it at
   * once; the promise resolves when it is durable.
   */
  log(groupKey: string, r: ReceiverKey, firing: readonly string[], resolved: readonly string[], now: number, retentionMs: number): Promise<void> {
    this.entries.set(NotificationLog.key(groupKey, r), { firing: [...firing], resolved: [...resolved], timestamp: now, expiresAt: now + retentionMs });
    return this.persist();
  }

  /** Drops expired entries. */
  async gc(): Promise<void> {
    const now = this.clock.now();
    let changed = false;
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(k);
        changed = true;
      }
    }
    if (changed) await this.persist();
  }

  private persist(): Promise<void> {
    return this.writer.write(Object.fromEntries(this.entries));
  }
}
