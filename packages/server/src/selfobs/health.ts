/**
 * Component health. Each subsystem registers a check; `/healthz/ready` is 200 only when every
 * component reports `ok`. Checks are synchronous and cheap: they report state the component
 * already keeps, they do no I/O.
 */
export type ComponentStatus = 'ok' | 'starting' | 'failing' | 'stopping';

export interface ComponentHealth {
  status: ComponentStatus;
  details?: Record<string, unknown>;
}

export type HealthCheck = () => ComponentHealth;

export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private shuttingDown = false;

  register(component: string, check: HealthCheck): void {
    this.checks.set(component, check);
  }

  unregister(component: string): void {
    this.checks.delete(component);
  }

  /** Readiness turns false for good once shutdown begins. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  report(): { ready: boolean; components: Record<string, ComponentHealth> } {
    const components: Record<string, ComponentHealth> = {};
    let ready = !this.shuttingDown;
    for (const [name, check] of this.checks) {
      let h: ComponentHealth;
      try {
        h = check();
      } catch (err) {
        h = { status: 'failing', details: { error: (err as Error).message } };
      }
      if (this.shuttingDown && h.status === 'ok') h = { ...h, status: 'stopping' };
      components[name] = h;
      if (h.status !== 'ok') ready = false;
    }
    return { ready, components };
  }
}
