import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, parseConfig } from './load.js';
import { formatDuration, parseByteSize, parseDuration } from './duration.js';

function problems(text: string): string[] {
  try {
    parseConfig(text, 'wk.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('has a working default for every option', () => {
    const c = defaultConfig();
    expect(c.server.listen).toBe('127.0.0.1:9700');
    expect(c.server.otlp_http).toEqual({ enabled: true, listen: '127.0.0.1:4318' });
    expect(c.server.otlp_grpc).toEqual({ enabled: true, listen: '127.0.0.1:4317' });
    expect(c.storage.data_dir).toBe('./data');
    expect(c.storage.retention.metrics).toBe(15 * 24 * 3600_000);
    expect(c.storage.retention.logs).toBe(7 * 24 * 3600_000);
    expect(c.global.scrape_interval).toBe(60_000);
    expect(c.query.lookback_delta).toBe(300_000);
    expect(c.server.max_body_bytes).toBe(32 * 1024 * 1024);
    expect(parseConfig('', 'empty.yaml')).toEqual(c);
    expect(parseConfig('# only a comment\n', 'c.yaml')).toEqual(c);
  });

  it('parses durations and sizes', () => {
    const c = parseConfig('global:\n  scrape_interval: 1m30s\nserver:\n  max_body_bytes: 1MiB\n', 'wk.yaml');
    expect(c.global.scrape_interval).toBe(90_000);
    expect(c.server.max_body_bytes).toBe(1024 * 1024);
  });

  it.each([
    ['server:\n  listen: 9700\n', 'wk.yaml:2: server.listen: expected a string, got a number'],
    ['server:\n  listen: "localhost"\n', 'wk.yaml:2: server.listen: expected HOST:PORT like 127.0.0.1:9700'],
    ['global:\n  scrape_interval: fast\n', 'wk.yaml:2: global.scrape_interval: expected a duration like 15s'],
    ['scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 15x\n', 'wk.yaml:4: scrape_configs[1].scrape_interval: expected a duration like 15s'],
    ['scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n', 'wk.yaml:4: scrape_configs[0].scrape_timeout: scrape_timeout must not be greater than scrape_interval'],
    ['scrape_configs:\n  - job_name: a\n  - job_name: a\n', 'wk.yaml:3: scrape_configs[1].job_name: duplicate job name "a"'],
    ['scrape_configs:\n  - static_configs: []\n', 'wk.yaml:2: scrape_configs[0].job_name: is required'],
    ['scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: explode\n', 'wk.yaml:4: scrape_configs[0].relabel_configs[0].action: expected one of replace, keep, drop, labelmap, labeldrop, labelkeep, hashmod, lowercase, uppercase, keepequal, dropequal, got "explode"'],
    ['scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n', 'wk.yaml:4: scrape_configs[0].relabel_configs[0].modulus: relabel action hashmod requires modulus'],
    ['servr:\n  listen: 1\n', 'wk.yaml:1: unknown field "servr"'],
    ['log:\n  level: loud\n', 'wk.yaml:2: log.level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    ['auth:\n  tokens:\n    - name: ci\n      token_sha256: abc\n      scopes: [read]\n', 'wk.yaml:4: auth.tokens[0].token_sha256: expected 64 lowercase hex digits (the SHA-256 of the token)'],
    ['auth:\n  tokens:\n    - name: ci\n      token_sha256: ' + 'a'.repeat(64) + '\n      scopes: [write]\n', 'wk.yaml:5: auth.tokens[0].scopes[0]: expected one of ingest, read, admin, got "write"'],
    ['storage:\n  retention:\n    metrics: forever\n', 'wk.yaml:3: storage.retention.metrics: expected a duration like 15s'],
    ['server: [1, 2]\n', 'wk.yaml:1: server: expected a mapping, got a list'],
    ['- 1\n- 2\n', 'wk.yaml:1: the configuration must be a mapping of sections (server:, storage:, ...)'],
    ['server:\n  listen: "a\n', 'wk.yaml:3: invalid YAML: Missing closing "quote'],
    ['server:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n', 'wk.yaml:3: invalid YAML: Map keys must be unique'],
  ])('rejects %j with %j', (text, message) => {
    expect(problems(text)).toContain(message);
  });
});

describe('durations', () => {
  it.each([
    ['15s', 15_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    ['0', 0],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  it.each(['', '15', '1.5s', 's', '1m1h', '-1s', '15 s'])('rejects %j', (text) => expect(parseDuration(text)).toBeNull());
  it('formats like Prometheus', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
  it('parses sizes', () => {
    expect(parseByteSize('32MiB')).toBe(33_554_432);
    expect(parseByteSize('1GB')).toBe(1e9);
    expect(parseByteSize('123')).toBe(123);
    expect(parseByteSize('lots')).toBeNull();
  });
});
