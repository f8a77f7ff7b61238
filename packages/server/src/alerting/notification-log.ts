/**
 * The notification log: per group and integration, which alerts were firing and resolved at the last
 * successful notification, and when. Deduplication reads it; it is written durably before a flush
 * counts as done, so a restart sends neither a duplicate nor skips a notification.
 */
import type { Clock } from './clock.js';
import { readStateFile, writeStateFile } from './state-file.js';

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

  constructor(
    private readonly file: string,
    private readonly clock: Clock,
  ) {
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

  /** Records a notification made at `now` (Unix ms) durably; the entry is kept for `retentionMs`. */
  log(groupKey: string, r: ReceiverKey, firing: readonly string[], resolved: readonly string[], now: number, retentionMs: number): void {
    this.entries.set(NotificationLog.key(groupKey, r), { firing: [...firing], resolved: [...resolved], timestamp: now, expiresAt: now + retentionMs });
    this.persist();
  }

  /** Drops expired entries. */
  gc(): void {
    const now = this.clock.now();
    let changed = false;
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(k);
        changed = true;
      }
    }
    if (changed) this.persist();
  }

  private persist(): void {
    writeStateFile(this.file, Object.fromEntries(this.entries));
  }
}
