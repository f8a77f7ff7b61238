/**
 * Stack traces as text (OpenTelemetry's `exception.stacktrace`) → frames, innermost last as Sentry
 * orders them. Understands V8 (`at fn (file:line:col)`), Python tracebacks (`File "f", line n, in
 * fn`) and JVM traces (`at pkg.Class.method(File.java:n)`); other lines are skipped. Frames in
 * dependencies and runtimes are marked not in-app, so grouping looks at the application's own.
 */
import type { StackFrame } from '../model/error-event.js';

const MAX_FRAMES = 250;
const MAX_LINE = 2000;
const V8_RE = /^\s*at (?:(?:async )?(.+?) \()?(.+?):(\d+):(\d+)\)?\s*$/;
const PYTHON_RE = /^\s*File "(.+)", line (\d+), in (.+?)\s*$/;
const JVM_RE = /^\s*at ([\w$.<>/]+)\.([\w$<>]+)\(([^:)]*)(?::(\d+))?\)\s*$/;
const NOT_IN_APP = /(^|\/)(node_modules|site-packages|dist-packages)\/|^node:|^internal\/|^<frozen |^(java|javax|jdk|sun|kotlin|scala)\./;

function frame(filename: string, fn: string, module: string, lineno: number | null, colno: number | null): StackFrame {
  return {
    filename,
    absPath: filename,
    module,
    function: fn,
    lineno,
    colno,
    inApp: !NOT_IN_APP.test(module || filename),
    contextLine: '',
  };
}

/** Parses a stack trace; an empty list when no line is recognised. */
export function parseStackTrace(text: string): StackFrame[] {
  const v8: StackFrame[] = [];
  const python: StackFrame[] = [];
  const jvm: StackFrame[] = [];
  let lines = 0;
  for (const raw of text.split('\n')) {
    if (++lines > MAX_FRAMES * 4) break;
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    let m = PYTHON_RE.exec(line);
    if (m) {
      python.push(frame(m[1]!, m[3]!, '', Number(m[2]), null));
      continue;
    }
    m = JVM_RE.exec(line);
    if (m && !line.includes('(/') && !line.includes('file://')) {
      jvm.push(frame(m[3]!, m[2]!, m[1]!, m[4] === undefined ? null : Number(m[4]), null));
      continue;
    }
    m = V8_RE.exec(line);
    if (m) v8.push(frame(m[2]!.replace(/^file:\/\//, ''), m[1] ?? '', '', Number(m[3]), Number(m[4])));
  }
  // V8 and JVM list the innermost frame first, Python last.
  if (python.length >= v8.length && python.length >= jvm.length) return python.slice(-MAX_FRAMES);
  const innermostFirst = v8.length >= jvm.length ? v8 : jvm;
  return innermostFirst.slice(0, MAX_FRAMES).reverse();
}
