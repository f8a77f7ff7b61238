/** Go's text/template language, shared by rule annotations and notification templates. */
export { TemplateError } from './go-template-parser.js';
export { TemplateSet, isTrue, type TemplateFunction } from './go-template-exec.js';
export { formatGoDuration, formatGoValue, formatGoTime, GoDuration, goSprintf } from './go-format.js';
export { GoTime } from './go-time.js';
export { formatG, humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp } from './humanize.js';
export { KV, type TemplatePair } from './kv.js';
export {
  alertmanagerFunctions,
  goBuiltins,
  PROMETHEUS_RULE_TEMPLATE_DEFS,
  prometheusFunctions,
  type PrometheusFunctionOptions,
  type TemplateSample,
} from './template-functions.js';
