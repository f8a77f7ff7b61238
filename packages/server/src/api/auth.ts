/**
 * Access control: every route declares the scope it needs; one hook enforces it. Tokens are
 * configured only as SHA-256 hashes and compared in constant time. With no tokens configured
 * (the loopback default) every request is allowed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type Scope = 'ingest' | 'read' | 'admin';
/** `public` routes need no token (health, the UI's static files, endpoints with their own auth). */
export type RouteScope = Scope | 'public';

export interface TokenEntry {
  readonly name: string;
  readonly token_sha256: string;
  readonly scopes: readonly Scope[];
}

export type AuthResult = { ok: true; tokenName: string | null } | { ok: false; status: 401 | 403; message: string };

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token (URL-safe, 192 bits) and its configuration entry. */
export function createToken(name: string, scopes: readonly Scope[]): { token: string; entry: TokenEntry } {
  const token = `wk_${randomBytes(24).toString('base64url')}`;
  return { token, entry: { name, token_sha256: sha256Hex(token), scopes } };
}

/** Extracts a presented token from `Authorization: Bearer x` or the password of basic auth. */
export function presentedToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const space = authorization.indexOf(' ');
  if (space < 0) return null;
  const kind = authorization.slice(0, space).toLowerCase();
  const rest = authorization.slice(space + 1).trim();
  if (kind === 'bearer') return rest || null;
  if (kind === 'basic') {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    return password || null;
  }
  return null;
}

export class AccessControl {
  private readonly hashes: { name: string; hash: Buffer; scopes: ReadonlySet<Scope> }[];

  constructor(tokens: readonly TokenEntry[]) {
    this.hashes = tokens.map((t) => ({ name: t.name, hash: Buffer.from(t.token_sha256, 'hex'), scopes: new Set(t.scopes) }));
  }

  get enabled(): boolean {
    return this.hashes.length > 0;
  }

  check(scope: RouteScope, authorization: string | undefined): AuthResult {
    if (scope === 'public' || !this.enabled) return { ok: true, tokenName: null };
    const token = presentedToken(authorization);
    if (token === null) return { ok: false, status: 401, message: 'authentication required: present a token as "Authorization: Bearer <token>" or as the basic-auth password' };
    const hash = createHash('sha256').update(token, 'utf8').digest();
    for (const t of this.hashes) {
      if (t.hash.length === hash.length && timingSafeEqual(t.hash, hash)) {
        if (t.scopes.has(scope) || t.scopes.has('admin')) return { ok: true, tokenName: t.name };
        return { ok: false, status: 403, message: `token "${t.name}" lacks the "${scope}" scope` };
      }
    }
    return { ok: false, status: 401, message: 'invalid token' };
  }
}
