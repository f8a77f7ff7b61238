import { describe, expect, it } from 'vitest';
import { formatLabels } from '../../../model/labels.js';
import { formatFromContentType } from './format.js';
import { EntryKind, ExpositionParseError, ExpositionParser, type ExpositionParserOptions } from './parser.js';

interface Row {
  kind: 'sample' | 'help' | 'type' | 'unit';
  series?: string;
  value?: number;
  t?: number | null;
  name?: string;
  text?: string;
  exemplar?: string;
}

function parseAll(text: string, options: ExpositionParserOptions = { format: 'prometheus-text' }): Row[] {
  const p = new ExpositionParser(text, options);
  const rows: Row[] = [];
  for (let kind = p.next(); kind !== EntryKind.End; kind = p.next()) {
    if (kind === EntryKind.Sample) {
      const row: Row = { kind: 'sample', series: formatLabels(p.labels()), value: p.value(), t: p.timestamp() };
      const ex = p.exemplar();
      if (ex) row.exemplar = `${formatLabels(ex.labels)} ${ex.value} ${ex.timestamp}`;
      rows.push(row);
    } else if (kind === EntryKind.Help) rows.push({ kind: 'help', name: p.metadataName(), text: p.metadataText() });
    else if (kind === EntryKind.Type) rows.push({ kind: 'type', name: p.metadataName(), text: p.metadataType() });
    else rows.push({ kind: 'unit', name: p.metadataName(), text: p.metadataText() });
  }
  return rows;
}

const om: ExpositionParserOptions = { format: 'openmetrics' };

describe('Prometheus text format 0.0.4', () => {
  it('parses every metric type with metadata', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# A plain comment',
      'metric_without_timestamp_and_labels 12.47',
      '# TYPE g gauge',
      'g -Inf',
      '# TYPE h histogram',
      'h_bucket{le="0.05"} 24054',
      'h_bucket{le="+Inf"} 144320',
      'h_sum 53423',
      'h_count 144320',
      '# TYPE s summary',
      's{quantile="0.5"} 4773',
      's_sum 1.7560473e+07',
      's_count 2693',
      '# TYPE u untyped',
      'u NaN',
    ].join('\n');
    const rows = parseAll(text);
    expect(rows[0]).toEqual({ kind: 'help', name: 'http_requests_total', text: 'The total number of HTTP requests.' });
    expect(rows[1]).toEqual({ kind: 'type', name: 'http_requests_total', text: 'counter' });
    expect(rows[2]).toEqual({ kind: 'sample', series: 'http_requests_total{code="200", method="post"}', value: 1027, t: 1395066363000 });
    expect(rows[3]).toMatchObject({ value: 3, t: 1395066363000 });
    expect(rows[4]).toEqual({ kind: 'sample', series: 'metric_without_timestamp_and_labels', value: 12.47, t: null });
    expect(rows.find((r) => r.series === 'g')?.value).toBe(-Infinity);
    expect(rows.find((r) => r.series === 'h_bucket{le="+Inf"}')?.value).toBe(144320);
    expect(rows.find((r) => r.series === 's_sum')?.value).toBe(17560473);
    expect(rows.find((r) => r.name === 'u' && r.kind === 'type')?.text).toBe('unknown');
    expect(rows.find((r) => r.series === 'u')?.value).toBeNaN();
    expect(rows.filter((r) => r.kind === 'sample')).toHaveLength(12);
  });

  it('unescapes label values and HELP text', () => {
    const rows = parseAll('# HELP m a \\\\ back\\nslash \\"kept\\"\nm{a="x\\\\y",b="q\\"uote",c="new\\nline",d="\\t"} 1\n');
    expect(rows[0]!.text).toBe('a \\ back\nslash \\"kept\\"');
    expect(rows[1]!.series).toBe('m{a="x\\\\y", b="q\\"uote", c="new\\nline", d="\\\\t"}');
  });

  it('accepts whitespace, trailing commas, empty label values and CR-free lines', () => {
    const rows = parseAll('  m { a = "1" , b="", } \t 2  \t 17  \n\n\t\n');
    expect(rows).toEqual([{ kind: 'sample', series: 'm{a="1"}', value: 2, t: 17 }]);
  });

  it('reads number forms as Go does', () => {
    const values = parseAll('a +Inf\nb -inf\nc nan\nd 1e3\ne -.5\nf +2.\ng 123456789012345678\nh -0\n').map((r) => r.value);
    expect(values).toEqual([Infinity, -Infinity, NaN, 1000, -0.5, 2, 123456789012345678, -0]);
  });

  it('accepts quoted UTF-8 metric and label names', () => {
    const rows = parseAll('# TYPE "my.metric" gauge\n{"my.metric", "a.b"="c"} 1\n{"x\\"y"} 2\n');
    expect(rows[0]).toEqual({ kind: 'type', name: 'my.metric', text: 'gauge' });
    expect(rows[1]!.series).toBe('{"my.metric", "a.b"="c"}');
    expect(rows[2]!.series).toBe('{"x\\"y"}');
  });

  it('handles many labels on a sample and its exemplar', () => {
    const names = Array.from({ length: 40 }, (_, i) => `l${String(i).padStart(2, '0')}`);
    const labels = names.map((n) => `${n}="${n}"`).join(',');
    const rows = parseAll(`m{${labels}} 1 # {${labels}} 2\n# EOF\n`, om);
    expect(rows[0]!.series).toBe(`m{${names.map((n) => `${n}="${n}"`).join(', ')}}`);
    expect(rows[0]!.exemplar).toBe(`{${names.map((n) => `${n}="${n}"`).join(', ')}} 2 null`);
  });

  it('gives the raw series text as the cache key, equal for equal series text', () => {
    const p = new ExpositionParser('m{a="1"} 1 5\nm{a="1"} 2\n', { format: 'prometheus-text' });
    p.next();
    const first = p.seriesKey();
    p.next();
    expect(p.seriesKey()).toBe(first);
    expect(first).toBe('m{a="1"}');
  });

  it('rejects exemplars, OpenMetrics types and UNIT in text format', () => {
    expect(() => parseAll('m 1 # {a="b"} 1\n')).toThrow(/line 1: exemplars/);
    expect(() => parseAll('# TYPE m info\n')).toThrow(/unknown metric type "info"/);
    expect(parseAll('# UNIT m seconds\n')).toEqual([]);
  });
});

describe('OpenMetrics 1.0', () => {
  it('parses every type, units, timestamps in seconds and exemplars', () => {
    const text = [
      '# TYPE acme_http_router_request_seconds summary',
      '# UNIT acme_http_router_request_seconds seconds',
      '# HELP acme_http_router_request_seconds Latency though all of ACME\'s "routers".',
      'acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32 1.5e9',
      'acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0',
      'acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0',
      '# TYPE go_goroutines gauge',
      'go_goroutines 69 1605281325.1234',
      '# TYPE c counter',
      'c_total 17.0 # {trace_id="KOO5S4vxi0o"} 0.67',
      'c_created 1.6e9',
      '# TYPE h histogram',
      'h_bucket{le="0.01"} 0 # {trace_id="x"} 0.005 1601413488.111',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3',
      'h_count 2',
      '# TYPE gh gaugehistogram',
      'gh_bucket{le="+Inf"} 3',
      'gh_gcount 3',
      'gh_gsum 2',
      '# TYPE build info',
      'build_info{version="1.2"} 1',
      '# TYPE st stateset',
      'st{st="a"} 1',
      'st{st="b"} 0',
      '# TYPE x unknown',
      'x 1',
      '# EOF',
      '',
    ].join('\n');
    const rows = parseAll(text, { format: 'openmetrics', dropCreatedSamples: true });
    expect(rows.slice(0, 3)).toEqual([
      { kind: 'type', name: 'acme_http_router_request_seconds', text: 'summary' },
      { kind: 'unit', name: 'acme_http_router_request_seconds', text: 'seconds' },
      { kind: 'help', name: 'acme_http_router_request_seconds', text: 'Latency though all of ACME\'s "routers".' },
    ]);
    const samples = rows.filter((r) => r.kind === 'sample');
    expect(samples.map((r) => r.series)).toEqual([
      'acme_http_router_request_seconds_sum{method="GET", path="/api/v1"}',
      'acme_http_router_request_seconds_count{method="GET", path="/api/v1"}',
      'go_goroutines',
      'c_total',
      'h_bucket{le="0.01"}',
      'h_bucket{le="+Inf"}',
      'h_sum',
      'h_count',
      'gh_bucket{le="+Inf"}',
      'gh_gcount',
      'gh_gsum',
      'build_info{version="1.2"}',
      'st{st="a"}',
      'st{st="b"}',
      'x',
    ]);
    expect(samples[0]!.t).toBe(1_500_000_000_000);
    expect(samples[2]!.t).toBe(1605281325123);
    expect(samples[3]!.exemplar).toBe('{trace_id="KOO5S4vxi0o"} 0.67 null');
    expect(samples[4]!.exemplar).toBe('{trace_id="x"} 0.005 1601413488111');
  });

  it('keeps _created samples as series (as Prometheus 2.x does) unless asked to drop them', () => {
    const text = '# TYPE c counter\nc_total 1\nc_created 1.6e9\n# TYPE g gauge\ng_created 5\n# EOF\n';
    expect(parseAll(text, om).filter((r) => r.kind === 'sample')).toHaveLength(3);
    const dropped = parseAll(text, { format: 'openmetrics', dropCreatedSamples: true }).filter((r) => r.kind === 'sample');
    expect(dropped.map((r) => r.series)).toEqual(['c_total', 'g_created']);
  });

  it('accepts "# EOF" without a final newline and an exposition that is only "# EOF"', () => {
    expect(parseAll('m 1\n# EOF', om)).toHaveLength(1);
    expect(parseAll('# EOF\n', om)).toEqual([]);
  });

  it('negotiates the format from the Content-Type', () => {
    expect(formatFromContentType('application/openmetrics-text; version=1.0.0; charset=utf-8')).toBe('openmetrics');
    expect(formatFromContentType('text/plain; version=0.0.4')).toBe('prometheus-text');
    expect(formatFromContentType(undefined)).toBe('prometheus-text');
    expect(formatFromContentType('application/json')).toBe('prometheus-text');
  });
});

describe('malformed input', () => {
  const cases: [string, ExpositionParserOptions, number, RegExp][] = [
    ['m{a="b"} x\n', { format: 'prometheus-text' }, 1, /invalid value "x"/],
    ['ok 1\nm{a="b"}x\n', { format: 'prometheus-text' }, 2, /expected a value after the labels, got "x"/],
    ['ok 1\nm\n', { format: 'prometheus-text' }, 2, /expected a value after the metric name, got end of line/],
    ['m{a="b" 1\n', { format: 'prometheus-text' }, 1, /expected "," or "}" after the value of label "a"/],
    ['m{a="b\n', { format: 'prometheus-text' }, 1, /unterminated quoted string/],
    ['m{a=b} 1\n', { format: 'prometheus-text' }, 1, /expected a quoted label value after "a"=, got "b}"/],
    ['m{a} 1\n', { format: 'prometheus-text' }, 1, /expected "=" after the label name "a"/],
    ['m{1a="b"} 1\n', { format: 'prometheus-text' }, 1, /expected a label name or "}", got "1a=\\"b\\"}"/],
    ['m{a="1",a="2"} 1\n', { format: 'prometheus-text' }, 1, /duplicate label name "a"/],
    ['1m 1\n', { format: 'prometheus-text' }, 1, /expected a metric name or "{", got "1m"/],
    ['m 1 12.5\n', { format: 'prometheus-text' }, 1, /invalid timestamp "12.5": expected integer milliseconds/],
    ['m 1 2 3\n', { format: 'prometheus-text' }, 1, /unexpected "3" at the end of the sample/],
    ['# TYPE m\n', { format: 'prometheus-text' }, 1, /expected a metric type/],
    ['# TYPE m countr\n', { format: 'prometheus-text' }, 1, /unknown metric type "countr"/],
    ['# HELP\n', { format: 'prometheus-text' }, 1, /expected a metric name after # HELP/],
    ['# TYPE 9x gauge\n', { format: 'prometheus-text' }, 1, /expected a metric name after # TYPE, got "9x"/],
    ['{a="b"} 1\n', { format: 'prometheus-text' }, 1, /expected a metric name before or inside/],
    ['{"m", "n"} 1\n', { format: 'prometheus-text' }, 1, /metric name is given twice/],
    ['m{="x"} 1\n', { format: 'prometheus-text' }, 1, /expected a label name or "}", got "=\\"x\\"}"/],
    ['m 0x10\n', { format: 'prometheus-text' }, 1, /invalid value "0x10"/],
    ['m 1\n', om, 2, /expected "# EOF"/],
    ['m 1\n# EOF\nm 2\n', om, 3, /unexpected content after "# EOF"/],
    ['m 1\n\n# EOF\n', om, 2, /empty lines are not allowed/],
    ['# random comment\n# EOF\n', om, 1, /expected "# HELP", "# TYPE", "# UNIT" or "# EOF", got "random"/],
    ['m  1\n# EOF\n', om, 1, /expected a value after the metric name, got a space/],
    ['m 1 1.5.5\n# EOF\n', om, 1, /invalid timestamp "1.5.5": expected seconds/],
    ['m 1 # {a="b"}\n# EOF\n', om, 1, /expected a value after the exemplar labels, got end of line/],
    ['m 1 # x\n# EOF\n', om, 1, /expected an exemplar/],
    ['m 1 # {"q"} 1\n# EOF\n', om, 1, /exemplar, got a quoted metric name/],
    ['# UNIT m_seconds bytes\n# EOF\n', om, 1, /unit "bytes" is not a suffix/],
    ['# TYPE m untyped\n# EOF\n', om, 1, /unknown metric type "untyped"/],
    ['m 1 \n# EOF\n', om, 1, /trailing space after the value/],
    ['m 1 NaN\n# EOF\n', om, 1, /invalid timestamp "NaN"/],
  ];

  it.each(cases)('%j fails with the line and the problem', (text, options, line, reason) => {
    let error: unknown;
    try {
      parseAll(text, options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ExpositionParseError);
    const e = error as ExpositionParseError;
    expect(e.line).toBe(line);
    expect(e.message).toMatch(new RegExp(`^line ${line}: `));
    expect(e.reason).toMatch(reason);
  });
});

describe('fuzzing', () => {
  // A deterministic PRNG so a failure reproduces.
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }
  const seeds = [
    '# HELP m help \\n text\n# TYPE m histogram\nm_bucket{le="1",a="x\\"y"} 1 100\nm_bucket{le="+Inf"} 2\nm_sum 3\nm_count 2\n',
    '# TYPE c counter\n# UNIT c_seconds seconds\nc_total{a="b"} 1 1.5 # {t="x"} 1 2\nc_created 1\n{"u.tf", "x.y"="z"} 3\n# EOF\n',
  ];
  const alphabet = ' \t\n{}",=#\\abcEOFHELPTYPE0123456789.+-eNaInf_:';

  it('either parses or throws ExpositionParseError for 2000 mutated and random inputs', () => {
    const random = rng(42);
    const pick = (s: string) => s[Math.floor(random() * s.length)]!;
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      let input: string;
      if (i % 4 === 3) {
        input = '';
        const n = Math.floor(random() * 80);
        for (let j = 0; j < n; j++) input += pick(alphabet);
      } else {
        const chars = [...seeds[i % 2]!];
        const edits = 1 + Math.floor(random() * 4);
        for (let e = 0; e < edits; e++) {
          const at = Math.floor(random() * chars.length);
          const op = random();
          if (op < 0.33) chars.splice(at, 1);
          else if (op < 0.66) chars.splice(at, 0, pick(alphabet));
          else chars[at] = pick(alphabet);
        }
        input = chars.join('');
      }
      for (const format of ['prometheus-text', 'openmetrics'] as const) {
        try {
          parseAll(input, { format });
          parsed++;
        } catch (err) {
          if (!(err instanceof ExpositionParseError)) throw new Error(`unexpected ${String(err)} for ${JSON.stringify(input)}`);
          rejected++;
        }
      }
    }
    expect(parsed).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});
