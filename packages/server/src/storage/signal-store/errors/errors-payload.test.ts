import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ErrorEvent } from '../../../model/error-event.js';
import { decodePayload, encodePayload } from './errors-payload.js';

const event: ErrorEvent = {
  eventId: 'a'.repeat(32),
  projectId: 1,
  timestampMs: 1_700_000_000_000,
  receivedMs: 1_700_000_000_100,
  level: 'error',
  platform: 'node',
  logger: '',
  release: 'shop@1.0.0',
  environment: 'production',
  serverName: 'node-1',
  transaction: '/api/cart',
  message: 'boom {',
  messageTemplate: '',
  messageParams: [],
  exceptions: [],
  tags: { region: 'eu' },
  user: null,
  request: null,
  contexts: {},
  breadcrumbs: [],
  extra: { note: 'ünïcode' },
  sdk: null,
  fingerprint: [],
  traceId: '',
  spanId: '',
};

describe('error payloads', () => {
  it('round-trips an event through its stored text', () => {
    expect(decodePayload(encodePayload(event))).toEqual(event);
  });

  it('stores compressed base64 text, far smaller than the JSON', () => {
    const stored = encodePayload({ ...event, extra: { note: 'ünïcode', filler: 'abc '.repeat(500) } });
    expect(stored).toMatch(/^br:[A-Za-z0-9+/]+=*$/);
    expect(stored.length).toBeLessThan(500);
  });

  it('reads payloads stored as plain JSON text by an earlier version', () => {
    expect(decodePayload(JSON.stringify(event))).toEqual(event);
  });

  it('reads raw-deflated base64 payloads of earlier versions', () => {
    const legacy = deflateRawSync(JSON.stringify(event)).toString('base64');
    expect(decodePayload(legacy)).toEqual(event);
  });
});
