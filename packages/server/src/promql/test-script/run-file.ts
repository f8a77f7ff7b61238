/** Runs one test-script file's text and tallies the outcomes. */
import { ScriptError, parseScript } from './script-parser.js';
import { ScriptRunner, type EvalOutcome } from './runner.js';

export interface FileReport {
  readonly file: string;
  readonly outcomes: EvalOutcome[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Set when the file could not be parsed or a load failed; it then counts as one failure. */
  readonly error: string | null;
}

export async function runScriptFile(file: string, text: string): Promise<FileReport> {
  let outcomes: EvalOutcome[] = [];
  let error: string | null = null;
  try {
    outcomes = await new ScriptRunner().run(parseScript(text));
  } catch (err) {
    if (!(err instanceof ScriptError) && !(err instanceof Error)) throw err;
    error = err.message;
  }
  const count = (s: EvalOutcome['status']): number => outcomes.filter((o) => o.status === s).length;
  return { file, outcomes, passed: count('passed'), failed: count('failed') + (error ? 1 : 0), skipped: count('skipped'), error };
}
