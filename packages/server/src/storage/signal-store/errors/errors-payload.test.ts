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

  it('reads payloads stored raw-deflated and base64-encoded by earlier versions', () => {
    const legacy = deflateRawSync(JSON.stringify(event), { level: 1 }).toString('base64');
    expect(decodePayload(legacy)).toEqual(event);
  });
});
