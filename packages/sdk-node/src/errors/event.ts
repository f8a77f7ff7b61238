/** The Sentry event payload the SDK sends (the subset of the Sentry event schema it fills). */

/** One stack frame, oldest first as Sentry expects. */
export interface StackFrame {
  filename: string;
  function: string;
  lineno?: number;
  colno?: number;
  in_app: boolean;
}

/** A breadcrumb: something that happened before the error. */
export interface Breadcrumb {
  timestamp: number;
  category: string;
  level?: string;
  message?: string;
  type?: string;
  data?: Record<string, unknown>;
}

/** User attributes attached to events. */
export interface User {
  id?: string;
  email?: string;
  username?: string;
  ip_address?: string;
  [key: string]: unknown;
}

/** A Sentry event as sent in an envelope item of type "event". */
export interface ErrorEvent {
  event_id: string;
  timestamp: number;
  platform: 'node';
  level: 'fatal' | 'error' | 'warning' | 'info' | 'debug';
  logger?: string;
  server_name: string;
  release: string;
  environment: string;
  transaction?: string;
  message?: { formatted: string };
  exception?: { values: { type: string; value: string; mechanism?: { type: string; handled: boolean }; stacktrace?: { frames: StackFrame[] } }[] };
  tags: Record<string, string>;
  user?: User;
  extra?: Record<string, unknown>;
  breadcrumbs?: { values: Breadcrumb[] };
  contexts: { trace: { trace_id: string; span_id: string }; runtime: { name: string; version: string } };
  request?: { method: string; url: string; headers: Record<string, string> };
  sdk: { name: string; version: string };
}

const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;

/** Parses a V8 stack (`err.stack`) into Sentry frames, oldest call first. */
export function parseStack(stack: string | undefined): StackFrame[] {
  if (!stack) return [];
  const frames: StackFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const filename = m[2]!.replace(/^file:\/\//, '');
    frames.push({
      filename,
      function: (m[1] ?? '<anonymous>').replace(/^async /, ''),
      lineno: Number(m[3]),
      colno: Number(m[4]),
      in_app: !filename.includes('/node_modules/') && !filename.startsWith('node:'),
    });
  }
  return frames.reverse();
}
