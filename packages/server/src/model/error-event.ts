/**
 * The error-event vocabulary shared by the Sentry ingest path, OpenTelemetry exception events, the
 * error store and the issues API. Times are milliseconds since the Unix epoch (Sentry sends seconds
 * with a fraction; millisecond precision is what issue views need). Absent values are '' or null,
 * never undefined, so every event has one shape.
 */

/** Levels as Sentry names them, most severe last. */
export const ERROR_LEVELS = ['debug', 'info', 'warning', 'error', 'fatal'] as const;
export type ErrorLevel = (typeof ERROR_LEVELS)[number];

/** One stack frame, innermost last (Sentry's order). */
export interface StackFrame {
  readonly filename: string;
  readonly absPath: string;
  readonly module: string;
  readonly function: string;
  readonly lineno: number | null;
  readonly colno: number | null;
  readonly inApp: boolean;
  readonly contextLine: string;
}

/** One exception of a chain; a chain lists causes first and the exception that was raised last. */
export interface ExceptionInfo {
  readonly type: string;
  readonly value: string;
  readonly module: string;
  /** How it was caught; `synthetic` marks an exception the SDK made up to carry a stack (messages). */
  readonly mechanism: { readonly type: string; readonly handled: boolean | null; readonly synthetic: boolean } | null;
  readonly frames: readonly StackFrame[];
}

export interface Breadcrumb {
  readonly timestampMs: number | null;
  readonly type: string;
  readonly category: string;
  readonly level: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>> | null;
}

export interface EventUser {
  readonly id: string;
  readonly email: string;
  readonly username: string;
  readonly ipAddress: string;
}

/** An error event after normalisation and scrubbing: what is stored and what grouping reads. */
export interface ErrorEvent {
  /** 32 lowercase hex digits. */
  readonly eventId: string;
  readonly projectId: number;
  readonly timestampMs: number;
  readonly receivedMs: number;
  readonly level: ErrorLevel;
  readonly platform: string;
  readonly logger: string;
  readonly release: string;
  readonly environment: string;
  readonly serverName: string;
  readonly transaction: string;
  /** The message as formatted, and its template and params when the SDK sent them apart. */
  readonly message: string;
  readonly messageTemplate: string;
  readonly messageParams: readonly string[];
  readonly exceptions: readonly ExceptionInfo[];
  readonly tags: Readonly<Record<string, string>>;
  readonly user: EventUser | null;
  readonly request: Readonly<Record<string, unknown>> | null;
  readonly contexts: Readonly<Record<string, unknown>>;
  readonly breadcrumbs: readonly Breadcrumb[];
  readonly extra: Readonly<Record<string, unknown>>;
  readonly sdk: { readonly name: string; readonly version: string } | null;
  /** The SDK's grouping override, possibly with `{{ default }}`; empty when none. */
  readonly fingerprint: readonly string[];
  /** From the trace context: links the event to its trace ('' when none). */
  readonly traceId: string;
  readonly spanId: string;
}

/** The key that counts distinct users: id, else email, else username, else IP; '' when anonymous. */
export function userKey(user: EventUser | null): string {
  if (user === null) return '';
  return user.id || user.email || user.username || user.ipAddress;
}
