/**
 * The alerts Alertmanager knows, by fingerprint, merged as Alertmanager merges a resent alert with
 * the stored one. Persisted under the data directory (debounced, and on stop) so a restart resumes
 * pending groups even before sources resend; resolved alerts are dropped by gc().
 */
import { isResolvedAt, mergeAlerts, overlaps, type Alert } from './alert.js';
import type { Clock, TimerHandle } from './clock.js';
import { readStateFile, StateFileWriter } from './state-file.js';

export interface AlertStoreOptions {
  readonly file: string;
  readonly clock: Clock;
  /** Delay before a change is written, ms. */
  readonly persistDelayMs: number;
  /** Reports a failed delayed write (the next change or stop() writes again). */
  readonly onPersistError: (err: Error) => void;
}

export class AlertStore {
  private readonly alerts = new Map<string, Alert>();
  private persistTimer: TimerHandle | null = null;
  private readonly writer: StateFileWriter;

  constructor(private readonly opts: AlertStoreOptions) {
    this.writer = new StateFileWriter(opts.file);
    const saved = readStateFile(opts.file) as Alert[] | null;
    for (const a of saved ?? []) this.alerts.set(a.fingerprint, a);
  }

  /** Stores an alert (merged with an overlapping stored one); returns what is stored. */
  put(alert: Alert): Alert {
    const prev = this.alerts.get(alert.fingerprint);
    const stored = prev && overlaps(prev, alert) ? mergeAlerts(prev, alert, this.opts.clock.now()) : alert;
    this.alerts.set(alert.fingerprint, stored);
    this.schedulePersist();
    return stored;
  }

  get(fingerprint: string): Alert | undefined {
    return this.alerts.get(fingerprint);
  }

  values(): IterableIterator<Alert> {
    return this.alerts.values();
  }

  get size(): number {
    return this.alerts.size;
  }

  /** Drops resolved alerts. */
  gc(): void {
    const now = this.opts.clock.now();
    let changed = false;
    for (const [fp, a] of this.alerts) {
      if (isResolvedAt(a, now)) {
        this.alerts.delete(fp);
        changed = true;
      }
    }
    if (changed) this.schedulePersist();
  }

  private schedulePersist(): void {
    if (this.persistTimer) return;
    this.persistTimer = this.opts.clock.setTimeout(() => {
      this.persistTimer = null;
      this.persist().catch((err: unknown) => this.opts.onPersistError(err as Error));
    }, this.opts.persistDelayMs);
  }

  /** Writes the state now (and cancels a pending delayed write); resolves when it is durable. */
  persist(): Promise<void> {
    if (this.persistTimer) {
      this.opts.clock.clearTimeout(this.persistTimer);
      this.persistTimer = null;
    }
    return this.writer.write([...this.alerts.values()]);
  }
}
