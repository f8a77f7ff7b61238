/** Public surface of the PromQL engine. */
export { Engine, type EngineOptions, type QueryOptions, type QueryResult, type QueryData, type InstantSample, type SeriesPoints } from './engine.js';
export { QueryError, type QueryErrorType } from './errors.js';
export { parseExpr, ParseError, UnsupportedFeatureError, type ParseOptions } from './parser.js';
export { formatExpr } from './printer.js';
export { astToJson } from './ast-json.js';
export { formatFloat } from './float-math.js';
export type { Expr, ValueType } from './ast.js';
