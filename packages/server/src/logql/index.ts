/** The LogQL subset: parser, pipeline and evaluator over a LogStore. */
export type * from './ast.js';
export { LogQLParseError, UnsupportedLogQLError, LogQLLimitError } from './errors.js';
export { parseLogQL, parseStreamSelector } from './parser.js';
export { parseDurationNs } from './lexer.js';
export { Pipeline } from './pipeline.js';
export { LogQLEvaluator, type LogQLLimits, type LogStreamResult, type MatrixResult, type SeriesResult, type LogEntry } from './evaluator.js';
