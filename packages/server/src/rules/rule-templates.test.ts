/**
 * Rule templates outside what promtool's test format can compare: load-time checks and the text an
 * alert gets when expansion fails (the alert still fires, as in Prometheus).
 */
import { describe, expect, it } from 'vitest';
import { checkRuleTemplate, RuleTemplate } from './rule-templates.js';

const data = { labels: { job: 'api' }, externalLabels: {}, externalUrl: 'http://wk', value: 3 };

describe('rule templates', () => {
  it('load-time check names the template and the unknown function', () => {
    expect(checkRuleTemplate('X', '{{ $labels.job | nosuch }}')).toBe('template: __alert_X:1: function "nosuch" not defined');
    expect(checkRuleTemplate('X', '{{ $labels.job | toUpper }}')).toBeNull();
    expect(checkRuleTemplate('X', '{{ if }}')).not.toBeNull();
  });

  it('an expansion error becomes the value, worded as Prometheus words it', async () => {
    const template = new RuleTemplate('X', '{{ query "nothing" | first | value }}', 'http://wk');
    const { text, error } = await template.bind(() => Promise.resolve([]))(data);
    expect(error).not.toBeNull();
    // Prometheus 2.42 words this very expansion so (the column counts the $labels/$value definitions).
    expect(text).toBe(
      '<error expanding template: error executing template __alert_X: template: __alert_X:1:133: executing "__alert_X" at <first>: error calling first: first() called on vector with no elements>',
    );
  });

  it('text without actions is returned as it is, and query answers at the evaluation', async () => {
    expect((await new RuleTemplate('X', 'plain {text}', '').bind(() => Promise.reject(new Error('unused')))(data)).text).toBe('plain {text}');
    const asked: string[] = [];
    const query = (expr: string) => {
      asked.push(expr);
      return Promise.resolve([]);
    };
    const { text } = await new RuleTemplate('X', '{{ $labels.job }}: {{ len (query "up") }} {{ $value }}', '').bind(query)(data);
    expect(text).toBe('api: 0 3');
    expect(asked).toEqual(['up']);
  });
});
