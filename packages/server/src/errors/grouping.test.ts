import { describe, expect, it } from 'vitest';
import { groupEvent, normalizeFilename, normalizeFunction, normalizeMessageText } from './grouping.js';
import { normalizeEvent } from './normalize.js';

const NOW = Date.UTC(2026, 10, 22, 12);
const group = (raw: Record<string, unknown>) => groupEvent(normalizeEvent(raw, 1, NOW));

/** A Node SDK event: module names, absolute paths, node_modules frames not in-app. */
function nodeEvent(over: { value?: string; line?: number; fn?: string; deployRoot?: string } = {}): Record<string, unknown> {
  const root = over.deployRoot ?? '/srv/shop/releases/41';
  return {
    platform: 'node',
    exception: {
      values: [
        {
          type: 'TypeError',
          value: over.value ?? "Cannot read properties of undefined (reading 'price')",
          mechanism: { type: 'onunhandledrejection', handled: false },
          stacktrace: {
            frames: [
              { filename: 'node:internal/process/task_queues', function: 'process.processTicksAndRejections', lineno: 95, in_app: false },
              { filename: `${root}/node_modules/express/lib/router/layer.js`, module: 'express.lib.router:layer', function: 'Layer.handle [as handle_request]', lineno: 95, in_app: false },
              { filename: `${root}/src/routes/cart.js`, module: 'src.routes:cart', function: 'CartController.total', lineno: over.line ?? 42, colno: 17, in_app: true },
              { filename: `${root}/src/pricing.js`, module: 'src:pricing', function: over.fn ?? 'priceOf', lineno: (over.line ?? 42) + 10, colno: 9, in_app: true },
            ],
          },
        },
      ],
    },
  };
}

/** A Python SDK event: a chained exception with module and function per frame. */
function pythonEvent(value: string, addr: string): Record<string, unknown> {
  return {
    platform: 'python',
    exception: {
      values: [
        {
          type: 'ConnectionRefusedError',
          value: `[Errno 111] Connection refused at ${addr}`,
          module: 'builtins',
          stacktrace: { frames: [{ module: 'psycopg.connection', function: 'connect', filename: 'psycopg/connection.py', lineno: 120, in_app: false }] },
        },
        {
          type: 'OperationalError',
          value,
          module: 'psycopg',
          stacktrace: {
            frames: [
              { module: 'django.core.handlers.base', function: '_get_response', filename: 'django/core/handlers/base.py', lineno: 197, in_app: false },
              { module: 'shop.views', function: 'checkout', filename: 'shop/views.py', lineno: 88, in_app: true, context_line: '    order = Order.objects.create(cart=cart)' },
              { module: 'shop.models', function: 'save', filename: 'shop/models.py', lineno: 31, in_app: true },
            ],
          },
        },
      ],
    },
  };
}

/** A browser SDK event from a minified bundle: hashed file names, one-letter function names. */
function browserEvent(bundleHash: string, minifiedFn: string, line: number): Record<string, unknown> {
  return {
    platform: 'javascript',
    exception: {
      values: [
        {
          type: 'TypeError',
          value: "undefined is not an object (evaluating 't.items.length')",
          mechanism: { type: 'onerror', handled: false },
          stacktrace: {
            frames: [
              { filename: `https://shop.example.com/static/js/vendor.${bundleHash}.js`, function: 'HTMLButtonElement.r', lineno: 1, colno: 88213, in_app: true },
              { filename: `https://shop.example.com/static/js/main.${bundleHash}.chunk.js?v=3`, function: minifiedFn, lineno: line, colno: 4123, in_app: true },
              { filename: `https://shop.example.com/static/js/main.${bundleHash}.chunk.js?v=3`, function: 'CartSummary', lineno: line, colno: 9000, in_app: true },
            ],
          },
        },
      ],
    },
  };
}

describe('grouping', () => {
  it('groups Node errors by type and in-app frames, not by message, line numbers or deploy path', () => {
    const a = group(nodeEvent());
    expect(group(nodeEvent({ value: "Cannot read properties of undefined (reading 'qty')", line: 57 })).fingerprint).toBe(a.fingerprint);
    expect(group(nodeEvent({ deployRoot: '/srv/shop/releases/42' })).fingerprint).toBe(a.fingerprint);
    expect(group(nodeEvent({ fn: 'discountOf' })).fingerprint).not.toBe(a.fingerprint);
    expect(a.title).toBe("TypeError: Cannot read properties of undefined (reading 'price')");
    expect(a.culprit).toBe('priceOf(src:pricing)');
    expect(a.components).toEqual(['type:TypeError', 'frame:src.routes:cart|CartController.total', 'frame:src:pricing|priceOf']);
  });

  it('groups Python exception chains by every exception of the chain', () => {
    const a = group(pythonEvent('could not connect to server', '10.0.0.5:5432'));
    const b = group(pythonEvent('could not connect to server: timeout', '10.0.0.9:5432'));
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(a.type).toBe('OperationalError');
    expect(a.title).toBe('OperationalError: could not connect to server');
    expect(a.components[0]).toBe('type:ConnectionRefusedError');
    expect(a.components).toContain('frame:shop.views|checkout');
  });

  it('ignores content hashes, query strings and minified names of browser bundles', () => {
    const a = group(browserEvent('3f2a9c1e', 'n', 2));
    const b = group(browserEvent('77b0d4aa', 'Qe', 2));
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(a.components).toContain('frame:/static/js/main.<hash>.chunk.js|CartSummary');
    expect(a.components).toContain('frame:/static/js/vendor.<hash>.js|HTMLButtonElement.r');
  });

  it('groups messages with their variable parts normalised', () => {
    const m = (message: string) => group({ message, level: 'warning' });
    const a = m('payment 8841 for user 3fa85f64-5717-4562-b3fc-2c963f66afa6 timed out after 3012ms at 2026-11-22T10:00:01Z');
    const b = m('payment 17 for user 0b7c1a2e-1111-4222-8333-444455556666 timed out after 90ms at 2026-11-21T23:59:59Z');
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(m('payment 17 refused').fingerprint).not.toBe(a.fingerprint);
    expect(a.title).toMatch(/^payment 8841 for user/);
    expect(group({ logentry: { message: 'user %s not found', params: ['alice'] } }).title).toBe('user alice not found');
    expect(group({ logentry: { message: 'user %s not found', params: ['bob'] } }).fingerprint).toBe(group({ logentry: { message: 'user %s not found', params: ['alice'] } }).fingerprint);
  });

  it('honours the SDK fingerprint with {{ default }} expansion', () => {
    const custom = group({ ...nodeEvent(), fingerprint: ['database-unavailable'] });
    expect(custom.components).toEqual(['custom:database-unavailable']);
    expect(group({ ...nodeEvent({ fn: 'other' }), fingerprint: ['database-unavailable'] }).fingerprint).toBe(custom.fingerprint);
    const expanded = group({ ...nodeEvent(), fingerprint: ['{{ default }}', 'tenant-7'] });
    expect(expanded.components).toEqual([...group(nodeEvent()).components, 'custom:tenant-7']);
    expect(group({ ...nodeEvent(), fingerprint: ['{{default}}', 'tenant-8'] }).fingerprint).not.toBe(expanded.fingerprint);
  });

  it('falls back to all frames when none is in-app, and to type and value without frames', () => {
    const lib = (fn: string) =>
      group({ exception: { values: [{ type: 'Error', value: 'x', stacktrace: { frames: [{ filename: 'node_modules/pg/lib/client.js', function: fn, in_app: false }] } }] } });
    expect(lib('connect').fingerprint).not.toBe(lib('query').fingerprint);
    const bare = (value: string) => group({ exception: { values: [{ type: 'Timeout', value }] } });
    expect(bare('after 30s').fingerprint).toBe(bare('after 45s').fingerprint);
    expect(bare('after 30s').fingerprint).not.toBe(bare('gave up').fingerprint);
  });

  it('normalises the variable parts of names and texts', () => {
    expect(normalizeFunction('Object.<anonymous>')).toBe('');
    expect(normalizeFunction('async handler0x7ffe12')).toBe('handler');
    expect(normalizeFunction('t')).toBe('');
    expect(normalizeFilename('webpack://shop/./src/app.ts?abc')).toBe('/./src/app.ts');
    expect(normalizeFilename('/app/node_modules/.pnpm/pg@8.11.3/node_modules/pg/lib/client.js')).toBe('/app/node_modules/.pnpm/pg@<version>/node_modules/pg/lib/client.js');
    expect(normalizeMessageText('id 0xdeadbeef, hash 9f86d081884c7d65, from 10.1.2.3, mail a.b@example.org, at 12:30:01')).toBe(
      'id <hex>, hash <hex>, from <ip>, mail <email>, at <time>',
    );
  });
});
