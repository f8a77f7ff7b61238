/**
 * Alerting-rule label and annotation templates, expanded as Prometheus does: the text is prefixed
 * with the `$labels`/`$externalLabels`/`$externalURL`/`$value` definitions, named `__alert_<rule>`,
 * and an expansion error becomes the value `<error expanding template: ...>` (the rule still fires).
 */
import { KV, PROMETHEUS_RULE_TEMPLATE_DEFS, prometheusFunctions, TemplateSet, type TemplateSample } from '../template/index.js';

/** Runs an instant query at the rule's evaluation time for the template `query` function. */
export type TemplateQuery = (expr: string) => Promise<TemplateSample[]>;

const CHECK_FUNCTIONS = prometheusFunctions({ query: () => Promise.resolve([]), externalURL: '' });

function templateName(ruleName: string): string {
  return `__alert_${ruleName}`;
}

/** Returns why a label or annotation template of rule `ruleName` does not parse, or null. */
export function checkRuleTemplate(ruleName: string, text: string): string | null {
  try {
    new TemplateSet(CHECK_FUNCTIONS).parse(templateName(ruleName), PROMETHEUS_RULE_TEMPLATE_DEFS + text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The data every template of one alert sees. */
export interface AlertTemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  readonly value: number;
}

/** Expands a bound template for one alert: its text, and the expansion error if any (else null). */
export type BoundRuleTemplate = (data: AlertTemplateData) => Promise<{ text: string; error: string | null }>;

/** One label or annotation template, parsed once at load. Texts without `{{` are returned as they are. */
export class RuleTemplate {
  private readonly set: TemplateSet | null;
  private readonly name: string;

  constructor(
    ruleName: string,
    /** The template text; when `isStatic`, also its expansion. */
    readonly text: string,
    externalUrl: string,
  ) {
    this.name = templateName(ruleName);
    if (!text.includes('{{')) {
      this.set = null;
      return;
    }
    this.set = new TemplateSet(prometheusFunctions({ query: () => Promise.resolve([]), externalURL: externalUrl }));
    this.set.parse(this.name, PROMETHEUS_RULE_TEMPLATE_DEFS + text);
  }

  /** True when the text has no actions, so it expands to itself. */
  get isStatic(): boolean {
    return this.set === null;
  }

  /**
   * The template with `query` answering at one evaluation's time; bind once per rule evaluation
   * (binding copies the function table) and expand once per alert.
   */
  bind(query: TemplateQuery): BoundRuleTemplate {
    const set = this.set?.withFunctions({ query: (expr) => query(String(expr)) }) ?? null;
    return async (data) => {
      if (set === null) return { text: this.text, error: null };
      try {
        const text = await set.execute(this.name, {
          Labels: KV.of(data.labels),
          ExternalLabels: KV.of(data.externalLabels),
          ExternalURL: data.externalUrl,
          Value: data.value,
        });
        return { text, error: null };
      } catch (err) {
        const message = `error executing template ${this.name}: ${err instanceof Error ? err.message : String(err)}`;
        return { text: `<error expanding template: ${message}>`, error: message };
      }
    };
  }
}
