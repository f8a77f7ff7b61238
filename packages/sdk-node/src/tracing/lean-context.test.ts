/** LeanContext behaves as the API's contexts: immutable, values shadowed by later links, deletion. */
import { createContextKey, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { LEAN_ROOT_CONTEXT } from './lean-context.js';

describe('LeanContext', () => {
  it('sets, shadows and deletes values without changing the contexts it derives from', () => {
    const a = createContextKey('a');
    const b = createContextKey('b');
    const one = LEAN_ROOT_CONTEXT.setValue(a, 1);
    const two = one.setValue(b, 2).setValue(a, 3);
    expect(LEAN_ROOT_CONTEXT.getValue(a)).toBeUndefined();
    expect(one.getValue(a)).toBe(1);
    expect(two.getValue(a)).toBe(3);
    expect(two.getValue(b)).toBe(2);
    const deleted = two.deleteValue(a);
    expect(deleted.getValue(a)).toBeUndefined();
    expect(deleted.getValue(b)).toBe(2);
    expect(two.getValue(a)).toBe(3);
    expect(one.deleteValue(b)).toBe(one);
  });

  it('carries spans through the API', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    const ctx = trace.setSpan(LEAN_ROOT_CONTEXT, span);
    expect(trace.getSpan(ctx)).toBe(span);
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined();
  });
});
