/**
 * The configured Sentry projects and their public keys. Rebuilt from the configuration on every
 * reload, so removing a key revokes it at once.
 */
import type { ProjectConfig } from '../config/schema.js';

/** A project as the ingest path and the API see it. */
export interface Project {
  readonly id: number;
  readonly name: string;
  readonly keys: ReadonlySet<string>;
  readonly rateLimitPerMinute: number;
  readonly scrubFields: readonly string[];
  /** OpenTelemetry service names whose exceptions go to this project (besides its own name). */
  readonly services: ReadonlySet<string>;
}

/** Outcome of checking a key against a project: the HTTP status to answer when it fails. */
export type KeyCheck = { ok: true; project: Project } | { ok: false; status: 401 | 403 | 404; message: string };

export class ProjectRegistry {
  private readonly byId: ReadonlyMap<number, Project>;

  constructor(projects: readonly ProjectConfig[]) {
    this.byId = new Map(
      projects.map((p) => [
        p.id,
        {
          id: p.id,
          name: p.name,
          keys: new Set(p.keys),
          rateLimitPerMinute: p.rate_limit_per_minute,
          scrubFields: p.scrub_fields,
          services: new Set(p.services),
        },
      ]),
    );
  }

  get(id: number): Project | undefined {
    return this.byId.get(id);
  }

  /** The project an OpenTelemetry service's exceptions belong to: one listing it, else one named like it. */
  forService(service: string): Project | null {
    let named: Project | null = null;
    for (const p of this.byId.values()) {
      if (p.services.has(service)) return p;
      if (p.name === service && named === null) named = p;
    }
    return named;
  }

  list(): Project[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Checks that `key` is a current public key of project `id`. */
  authenticate(id: number, key: string | null): KeyCheck {
    const project = this.byId.get(id);
    if (project === undefined) return { ok: false, status: 404, message: `project ${id} does not exist` };
    if (key === null || key === '') {
      return { ok: false, status: 401, message: 'missing public key: send sentry_key in the query string, the X-Sentry-Auth header, or the envelope DSN' };
    }
    if (!project.keys.has(key)) return { ok: false, status: 403, message: `the public key is not valid for project ${id} (unknown or revoked)` };
    return { ok: true, project };
  }
}

/** The DSN of a project key: `http://<key>@<host:port>/<project_id>`, from the server's external URL. */
export function formatDsn(baseUrl: string, key: string, projectId: number): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${key}@${url.host}${path}/${projectId}`;
}
