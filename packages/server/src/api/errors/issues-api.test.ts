import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorsHarness, project, type ErrorsHarness } from '../../../test/support/errors-harness.js';
import { AccessControl, createToken } from '../auth.js';

const KEY = 'apitestkey0001';

describe('issues API', () => {
  let h: ErrorsHarness;
  const reader = createToken('reader', ['read']);
  const admin = createToken('admin', ['admin']);
  let issueId = '';

  beforeAll(async () => {
    h = await createErrorsHarness([project(1, 'shop', [KEY, 'secondkey0001'], { rate_limit_per_minute: 600 })], {
      accessControl: new AccessControl([reader.entry, admin.entry]),
    });
    await h.app.ready();
    const body = ['{}', '{"type":"event"}', JSON.stringify({ message: 'disk full on /dev/sda1', level: 'fatal', release: 'shop@3.0.0', environment: 'prod' }), ''].join('\n');
    const res = await h.app.inject({ method: 'POST', url: `/api/1/envelope/?sentry_key=${KEY}`, payload: body });
    expect(res.statusCode).toBe(200);
    const list = await h.app.inject({ url: '/api/v1/issues', headers: { authorization: `Bearer ${reader.token}` } });
    issueId = list.json().data.issues[0].id;
  });
  afterAll(async () => {
    await h.close();
  });

  const call = (method: 'GET' | 'PUT' | 'DELETE', url: string, token: string | null, payload?: unknown) =>
    h.app.inject({ method, url, payload: payload as never, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('needs read to list and admin to change, while ingestion authenticates with the project key alone', async () => {
    expect((await call('GET', '/api/v1/issues', null)).statusCode).toBe(401);
    expect((await call('GET', `/api/v1/issues/${issueId}`, reader.token)).statusCode).toBe(200);
    expect((await call('PUT', `/api/v1/issues/${issueId}`, reader.token, { status: 'resolved' })).statusCode).toBe(403);
    expect((await call('DELETE', `/api/v1/issues/${issueId}`, reader.token)).statusCode).toBe(403);
  });

  it('lists projects with their DSNs', async () => {
    const res = await call('GET', '/api/v1/projects', reader.token);
    expect(res.json().data).toEqual([
      { id: 1, name: 'shop', rate_limit_per_minute: 600, dsns: [`http://${KEY}@127.0.0.1:9700/1`, 'http://secondkey0001@127.0.0.1:9700/1'] },
    ]);
  });

  it('rejects bad parameters and bodies with the reason', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['GET', '/api/v1/issues?status=open', undefined, /"status" must be one of unresolved/],
      ['GET', '/api/v1/issues?sort=random', undefined, /"sort" must be one of/],
      ['GET', '/api/v1/issues?limit=0', undefined, /"limit" must be an integer from 1 to 1000/],
      ['GET', '/api/v1/issues?project=nope', undefined, /unknown project "nope"/],
      ['GET', '/api/v1/issues?level=loud', undefined, /"level" must be one of debug/],
      ['GET', '/api/v1/issues/abc', undefined, /invalid issue id "abc"/],
      ['GET', `/api/v1/issues/${'1'.repeat(3)}/events?cursor=zzz`, undefined, /"cursor" must be/],
      ['PUT', `/api/v1/issues/1`, { status: 'done' }, /"status" must be one of/],
      ['PUT', `/api/v1/issues/1`, { status: 'resolved', ignore_until_count: 3 }, /ignore limits apply only to status "ignored"/],
      ['PUT', `/api/v1/issues/1`, { status: 'ignored', ignore_until_count: -1 }, /positive integer/],
      ['PUT', `/api/v1/issues/1`, { status: 'ignored', ignore_duration: 'soon' }, /duration like 1h/],
      ['PUT', `/api/v1/issues/1`, [1], /expected a JSON object/],
    ];
    for (const [method, url, body, message] of cases) {
      const res = await call(method as 'GET', url, admin.token, body);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ status: 'error', errorType: 'bad_data' });
      expect(res.json().error, url).toMatch(message);
    }
    for (const [method, url] of [
      ['GET', '/api/v1/issues/999'],
      ['GET', '/api/v1/issues/999/events'],
      ['PUT', '/api/v1/issues/999'],
      ['DELETE', '/api/v1/issues/999'],
    ] as const) {
      const res = await call(method, url, admin.token, method === 'PUT' ? { status: 'resolved' } : undefined);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
  });

  it('ignores for a while, resolves, lists releases and deletes', async () => {
    let res = await call('PUT', `/api/v1/issues/${issueId}`, admin.token, { status: 'ignored', ignore_duration: '1h' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ id: issueId, status: 'ignored', title: 'disk full on /dev/sda1', level: 'fatal' });
    expect(Date.parse(res.json().data.ignore_until) - Date.now()).toBeGreaterThan(3_500_000);
    expect((await call('GET', '/api/v1/issues?status=ignored&environment=prod&release=shop%403.0.0', reader.token)).json().data.total).toBe(1);
    expect((await call('GET', '/api/v1/issues?status=ignored&environment=dev', reader.token)).json().data.total).toBe(0);
    res = await call('PUT', `/api/v1/issues/${issueId}`, admin.token, { status: 'resolved' });
    expect(res.json().data).toMatchObject({ status: 'resolved', resolved_release: 'shop@3.0.0' });
    const releases = (await call('GET', '/api/v1/releases?project=shop', reader.token)).json().data;
    expect(releases).toMatchObject([{ project_id: 1, release: 'shop@3.0.0', event_count: 1, new_issues: 1, crash_free_rate: null }]);
    expect((await call('DELETE', `/api/v1/issues/${issueId}`, admin.token)).json().data).toEqual({ deleted: issueId });
    expect((await call('GET', '/api/v1/issues', reader.token)).json().data).toEqual({ total: 0, issues: [] });
    expect(await h.count('error_events')).toBe(0);
  });
});
