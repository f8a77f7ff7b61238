/**
 * The SDK's span: implements the OpenTelemetry API `Span` (what services and instrumentations call)
 * and reads as a `ReadableSpan` (what OTLP serializers take). The OpenTelemetry SDK's span checks and
 * copies every attribute, converts every time to [seconds, nanoseconds] and copies the context twice
 * per span, which cost more per request than a minimal service's whole handler (docs/benchmarks.md);
 * this one keeps times as epoch milliseconds and attributes in one object, converting only on read.
 */
import {
  diag,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  type TimeInput,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { performance } from 'node:perf_hooks';

/** The OpenTelemetry SDK's default limits of attributes, events and links per span. */
const MAX_ATTRIBUTES = 128;
const MAX_EVENTS = 128;
const MAX_LINKS = 128;

const TIME_ORIGIN = performance.timeOrigin;

/** Now in epoch milliseconds, monotonic within the process (the OpenTelemetry SDK's clock). */
export function nowMs(): number {
  return TIME_ORIGIN + performance.now();
}

/** A `TimeInput` in epoch milliseconds: numbers below the time origin are performance.now() values. */
export function epochMs(t: TimeInput): number {
  if (typeof t === 'number') return t < TIME_ORIGIN ? TIME_ORIGIN + t : t;
  if (t instanceof Date) return t.getTime();
  return t[0] * 1000 + t[1] / 1e6;
}

/** Epoch milliseconds as an OpenTelemetry HrTime. */
export function hrTimeOf(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function isAttributeValue(v: unknown): v is AttributeValue {
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (!Array.isArray(v)) return false;
  for (const item of v) if (item !== null && item !== undefined && typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') return false;
  return true;
}

/** What a span without links or events reads as (most have none: their lists are made on first use). */
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];

/** Called with every span that ends (sampled spans only: unsampled ones are never created). */
export type OnSpanEnd = (span: LeanSpan) => void;

/** A recording, sampled span. */
export class LeanSpan implements Span, ReadableSpan {
  readonly attributes: Attributes = {};
  private linkList: Link[] | null = null;
  private eventList: TimedEvent[] | null = null;
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  endMs = 0;
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  private attributeCount = 0;
  private readonly context: SpanContext;

  constructor(
    context: SpanContext,
    public name: string,
    readonly kind: SpanKind,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startMs: number,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
    private readonly onEnd: OnSpanEnd,
  ) {
    this.context = context;
  }

  spanContext(): SpanContext {
    return this.context;
  }

  get links(): Link[] {
    return this.linkList ?? NO_LINKS;
  }

  get events(): TimedEvent[] {
    return this.eventList ?? NO_EVENTS;
  }

  get startTime(): HrTime {
    return hrTimeOf(this.startMs);
  }

  get endTime(): HrTime {
    return hrTimeOf(this.endMs);
  }

  get duration(): HrTime {
    return hrTimeOf(this.endMs - this.startMs);
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.ended || value === undefined || value === null || key.length === 0 || key === '__proto__') return this;
    if (!isAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      return this;
    }
    if (!Object.hasOwn(this.attributes, key)) {
      if (this.attributeCount >= MAX_ATTRIBUTES) {
        this.droppedAttributesCount++;
        return this;
      }
      this.attributeCount++;
    }
    this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key] as AttributeValue);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    if (this.eventList !== null && this.eventList.length >= MAX_EVENTS) {
      this.droppedEventsCount++;
      return this;
    }
    const isTime = typeof attributesOrTime === 'number' || attributesOrTime instanceof Date || Array.isArray(attributesOrTime);
    const attributes = isTime || attributesOrTime === undefined ? undefined : (attributesOrTime as Attributes);
    const at = isTime ? (attributesOrTime as TimeInput) : time;
    (this.eventList ??= []).push({ name, attributes: attributes ?? {}, time: hrTimeOf(at === undefined ? nowMs() : epochMs(at)), droppedAttributesCount: 0 });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    if (this.linkList !== null && this.linkList.length >= MAX_LINKS) this.droppedLinksCount++;
    else (this.linkList ??= []).push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.ended) return this;
    // As the OpenTelemetry SDK: OK is final, and UNSET does not replace a status set before.
    if (this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    this.endMs = endTime === undefined ? nowMs() : epochMs(endTime);
    if (this.endMs < this.startMs) this.endMs = this.startMs;
    this.onEnd(this);
  }

  isRecording(): boolean {
    return !this.ended;
  }

  /** An `exception` event with the semantic-convention attributes, as the OpenTelemetry SDK writes it. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      if (exception.code !== undefined) attributes['exception.type'] = String(exception.code);
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] !== undefined || attributes['exception.message'] !== undefined) this.addEvent('exception', attributes, time);
    else diag.warn(`Failed to record an exception ${String(exception)}`);
  }
}
