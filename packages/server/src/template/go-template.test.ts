import { describe, expect, it } from 'vitest';
import { TemplateError, TemplateSet } from './index.js';
import { GoTime } from './go-time.js';
import { KV } from './kv.js';
import { alertmanagerFunctions, PROMETHEUS_RULE_TEMPLATE_DEFS, prometheusFunctions } from './template-functions.js';
import { humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp } from './humanize.js';

const prom = () =>
  new TemplateSet(
    prometheusFunctions({
      externalURL: 'http://wk.example/prefix',
      query: async (expr) => (expr === 'up' ? [{ Labels: KV.of({ job: 'api' }), Value: 0.25 }] : []),
    }),
  );

async function render(text: string, data: unknown, set = prom()): Promise<string> {
  return set.executeText('t', text, data);
}

describe('Go template language', () => {
  it.each([
    ['{{ .a }}', { a: 'x' }, 'x'],
    ['{{ .a.b }}', { a: { b: 2 } }, '2'],
    ['{{ if .a }}yes{{ else }}no{{ end }}', { a: '' }, 'no'],
    ['{{ if eq .a 1 }}one{{ else if eq .a 2 }}two{{ else }}many{{ end }}', { a: 2 }, 'two'],
    ['{{ range $i, $e := .l }}{{ $i }}={{ $e }};{{ end }}', { l: ['a', 'b'] }, '0=a;1=b;'],
    ['{{ range .l }}{{ . }}{{ else }}empty{{ end }}', { l: [] }, 'empty'],
    ['{{ with .a }}{{ . }}{{ end }}', { a: 'w' }, 'w'],
    ['{{ $x := "v" }}{{ $x }}', {}, 'v'],
    ['a  {{- " b " -}}  c', {}, 'a b c'],
    ['{{/* comment */}}x', {}, 'x'],
    ['{{ printf "%.2f|%5s|%-3d|%q" 3.14159 "ab" 7 "q" }}', {}, '3.14|   ab|7  |"q"'],
    ['{{ .a | toUpper | printf "<%s>" }}', { a: 'x' }, '<X>'],
    ['{{ len .l }} {{ index .l 1 }}', { l: [1, 2] }, '2 2'],
    ['{{ define "d" }}[{{ . }}]{{ end }}{{ template "d" .a }}', { a: 5 }, '[5]'],
    ['{{ range .l }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}', { l: [1, 2, 3] }, '1'],
    ['{{ .missing }}', {}, ''],
    ['{{ title "hello world" }} {{ reReplaceAll "(a+)" "<$1>" "xaay" }}', {}, 'Hello World x<aa>y'],
    ['{{ (index .l 0).n }}', { l: [{ n: 'z' }] }, 'z'],
    ['{{ 0.00001 }} {{ 1e21 }}', {}, '1e-05 1e+21'],
  ])('%s', async (text, data, want) => {
    const d = typeof data === 'object' && data !== null && Object.keys(data).length === 0 ? new Map() : data;
    expect(await render(text, d)).toBe(want);
  });

  it('reads Prometheus rule variables and runs query pipelines', async () => {
    const text = '{{ $labels := .Labels }}{{ $value := .Value }}{{ $labels.job }} at {{ $value | humanizePercentage }}; {{ query "up" | first | value }} {{ with query "up" }}{{ . | first | label "job" }}{{ end }}';
    expect(await render(text, { Labels: KV.of({ job: 'api' }), Value: 0.0532 })).toBe('api at 5.32%; 0.25 api');
  });

  it('prints since() as a Go duration and humanizes it', async () => {
    const set = new TemplateSet(alertmanagerFunctions(() => Date.UTC(2026, 0, 1, 1, 2, 3, 500)));
    const data = { T: new GoTime(Date.UTC(2026, 0, 1)) };
    expect(await set.executeText('t', '{{ .T | since }} {{ .T | since | humanizeDuration }}', data)).toBe('1h2m3.5s 1h 2m 3s');
  });

  it.each([
    ['API error rate above 5% on {{ $labels.job }}', 0.0532, 'API error rate above 5% on api'],
    ['Error rate is {{ $value | humanizePercentage }} over the last 5 minutes.', 0.0532, 'Error rate is 5.32% over the last 5 minutes.'],
    ['p95 latency is {{ $value | humanizeDuration }}.', 1.2345, 'p95 latency is 1.234s.'],
    ['Queue {{ $labels.queue }} backlog is {{ $value }}', 1500, 'Queue  backlog is 1500'],
    ['{{ $labels.job }} target {{ $labels.instance }} is down ({{ $externalLabels.region }}, {{ $externalURL }})', 0, 'api target a:9 is down (eu, http://wk)'],
  ])('renders the example rule annotation %s', async (text, value, want) => {
    const data = { Labels: KV.of({ job: 'api', instance: 'a:9' }), ExternalLabels: KV.of({ region: 'eu' }), ExternalURL: 'http://wk', Value: value };
    expect(await render(PROMETHEUS_RULE_TEMPLATE_DEFS + text, data)).toBe(want);
  });

  it.each([
    ['2006-01-02 15:04:05', '2026-03-07 09:05:03'],
    ['Mon Jan _2 3:04PM MST', 'Sat Mar  7 9:05AM UTC'],
    ['Monday, 02-January-06 15:04:05.000 -07:00', 'Saturday, 07-March-26 09:05:03.040 +00:00'],
    ['2006-01-02T15:04:05.999Z07:00', '2026-03-07T09:05:03.04Z'],
  ])('formats times with the Go layout %s', async (layout, want) => {
    const t = new GoTime(Date.UTC(2026, 2, 7, 9, 5, 3, 40));
    expect(await render(`{{ .T.Format ${JSON.stringify(layout)} }}`, { T: t })).toBe(want);
  });

  it('prints Go times and zero times', async () => {
    expect(await render('{{ .T }} {{ .T.Unix }} {{ .Z.IsZero }}', { T: new GoTime(Date.UTC(2026, 0, 1)), Z: GoTime.zero() })).toBe('2026-01-01 00:00:00 +0000 UTC 1767225600 true');
  });

  it('reads Alertmanager KV methods', async () => {
    const set = new TemplateSet(alertmanagerFunctions(() => 0));
    const text = '{{ .L.SortedPairs.Values | join " " }}|{{ with .L.Remove (stringSlice "a") }}{{ .Names | join "," }}{{ end }}|{{ range .L.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}';
    expect(await set.executeText('t', text, { L: KV.of({ b: '2', a: '1', c: '3' }) })).toBe('1 2 3|b,c|a=1 b=2 c=3 ');
  });

  it.each([
    ['{{ nosuch .a }}', 'function "nosuch" not defined'],
    ['{{ if .a }}x', 'unexpected EOF in if clause'],
    ['{{ end }}', 'unexpected {{end}}'],
    ['{{ .a ', 'unclosed action'],
    ['x\n{{ "abc }}', 't:2: unterminated quoted string'],
    ['{{ "\\w" }}', 'invalid syntax in string'],
    ['{{ $nope }}', 't:1: undefined variable "$nope"'],
    ['{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}', 'undefined variable "$x"'],
    ['{{ $x := 1 }}{{ define "d" }}{{ $x }}{{ end }}', 'undefined variable "$x"'],
  ])('rejects %s', async (text, message) => {
    await expect(render(text, {})).rejects.toThrow(TemplateError);
    await expect(render(text, {})).rejects.toThrow(message);
  });

  it('reports execution errors as Go does: template name, line, column and the node evaluated', async () => {
    await expect(render('a\n{{ .a.b }}', { a: null })).rejects.toThrow('template: t:2:5: executing "t" at <.a.b>: nil pointer evaluating interface {}.b');
    await expect(render('{{ $x := 2 }}{{ if $x }}{{ $x.y }}{{ end }}', {})).rejects.toThrow('template: t:1:29: executing "t" at <$x.y>: can\'t evaluate field y in type int');
    await expect(render('{{ define "d" }}\n {{ .k | humanize }}{{ end }}{{ template "d" . }}', { k: 'x' })).rejects.toThrow(
      'template: t:2:9: executing "d" at <humanize>: error calling humanize: strconv.ParseFloat: parsing "x": invalid syntax',
    );
    await expect(render('{{ "up" | first }}', {})).rejects.toThrow('template: t:1:10: executing "t" at <first>: wrong type for value; expected template.queryResult; got string');
    await expect(render('{{ first (query "none") }}', {})).rejects.toThrow('first() called on vector with no elements');
  });
});

describe('humanize functions (Prometheus outputs)', () => {
  it.each([
    [humanize, 0, '0'],
    [humanize, 1234567, '1.235M'],
    [humanize, 0.0012, '1.2m'],
    [humanize, 12, '12'],
    [humanize1024, 1048576, '1Mi'],
    [humanize1024, 0.5, '0.5'],
    [humanizeDuration, 90061, '1d 1h 1m 1s'],
    [humanizeDuration, 1.5, '1.5s'],
    [humanizeDuration, 0.25, '250ms'],
    [humanizeDuration, 0, '0s'],
    [humanizePercentage, 0.0532, '5.32%'],
    [humanizeTimestamp, 1435065584.128, '2015-06-23 13:19:44.128 +0000 UTC'],
  ])('%o(%s) = %s', (fn, v, want) => {
    expect(fn(v)).toBe(want);
  });
});
