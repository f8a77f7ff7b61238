/** Secrets in log fields: replaced at the top level, one level down and in headers; nothing else touched or copied. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from './log-redaction.js';

describe('redactSecrets', () => {
  it('returns the same object when it holds no secret', () => {
    const fields = { user: '42', cart: { items: 2, tokens_used: 3 }, tags: ['password'], headers: { accept: 'json' } };
    expect(redactSecrets(fields)).toBe(fields);
  });

  it('replaces secret fields at the top level and one level down, without changing the original', () => {
    const fields = { password: 'hunter2', token: 't', authorization: 'Bearer x', form: { user: 'ann', password: 'hunter2' }, keep: 1 };
    const out = redactSecrets(fields);
    expect(out).toEqual({ password: REDACTED, token: REDACTED, authorization: REDACTED, form: { user: 'ann', password: REDACTED }, keep: 1 });
    expect(fields.form.password).toBe('hunter2');
    expect(fields.password).toBe('hunter2');
  });

  it('replaces the authorization, cookie and x-api-key headers under headers and req.headers', () => {
    const headers = { authorization: 'Bearer x', cookie: 'session=1', 'x-api-key': 'k', accept: 'json' };
    const out = redactSecrets({ headers, req: { method: 'GET', headers } });
    const filtered = { authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED, accept: 'json' };
    expect(out).toEqual({ headers: filtered, req: { method: 'GET', headers: filtered } });
    expect(headers.cookie).toBe('session=1');
  });

  it('keeps the message and stack of an error whose own field is a secret', () => {
    const err = Object.assign(new Error('login failed'), { password: 'hunter2' });
    const out = redactSecrets({ err }) as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({ type: 'Error', message: 'login failed', password: REDACTED });
    expect(String(out.err.stack)).toContain('login failed');
  });
});
