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

/** One label or annotation template, parsed once at load. Texts without `{{` are returned as they are. */
export class RuleTemplate {
  private readonly set: TemplateSet | null;
  private readonly name: string;

  constructor(
    ruleName: string,
    private readonly text: string,
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

  /** Expands the template; `query` answers the template's `query` calls at the evaluation time. */
  async expand(data: AlertTemplateData, query: TemplateQuery): Promise<{ text: string; error: string | null }> {
    if (this.set === null) return { text: this.text, error: null };
    try {
      const text = await this.set.withFunctions({ query: (expr) => query(String(expr)) }).execute(this.name, {
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
  }
}
