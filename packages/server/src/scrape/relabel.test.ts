import { describe, expect, it } from 'vitest';
import { relabelConfigSchema, type RelabelConfig } from '../config/schema.js';
import { labelsFromRecord, labelsToRecord } from '../model/labels.js';
import { compileRelabelRules, expandTemplate, hashmod, relabel } from './relabel.js';

type Rule = Partial<Omit<RelabelConfig, 'action'>> & { action?: RelabelConfig['action'] };

function run(input: Record<string, string>, rules: Rule[]): Record<string, string> | null {
  const configs = rules.map((r) => relabelConfigSchema.parse(r));
  const out = relabel(labelsFromRecord(input), compileRelabelRules(configs));
  return out === null ? null : labelsToRecord(out);
}

const cases: [string, Record<string, string>, Rule[], Record<string, string> | null][] = [
  // replace
  ['replace with groups', { a: 'foo', b: 'bar' }, [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch$1' }], { a: 'foo', b: 'bar', d: 'choo-choo' }],
  ['replace joins sources with the separator', { a: 'foo', b: 'bar' }, [{ source_labels: ['a', 'b'], separator: '|', regex: 'foo\\|(.*)', target_label: 'c', replacement: '$1' }], { a: 'foo', b: 'bar', c: 'bar' }],
  ['replace is anchored: no partial match', { a: 'boo' }, [{ source_labels: ['a'], regex: 'o', target_label: 'b', replacement: 'x' }], { a: 'boo' }],
  ['replace with an absent source reads ""', { a: 'foo' }, [{ source_labels: ['z'], regex: '', target_label: 'b', replacement: 'empty' }], { a: 'foo', b: 'empty' }],
  ['replace to "" deletes the target', { a: 'foo', b: 'bar' }, [{ source_labels: ['a'], regex: 'foo', target_label: 'b', replacement: '' }], { a: 'foo' }],
  ['replace with a named group', { a: 'some-thing' }, [{ source_labels: ['a'], regex: '(?P<first>[a-z]+)-.*', target_label: 'n', replacement: '${first}' }], { a: 'some-thing', n: 'some' }],
  ['$1x is the (absent) group "1x", as in Go', { a: 'foo' }, [{ source_labels: ['a'], regex: '(f)oo', target_label: 'b', replacement: '$1x' }], { a: 'foo' }],
  ['target label from a group', { a: 'foo' }, [{ source_labels: ['a'], regex: '(f)(.*)', target_label: 'l_$1', replacement: '$2' }], { a: 'foo', l_f: 'oo' }],
  ['invalid expanded target is skipped', { a: 'foo' }, [{ source_labels: ['a'], regex: '(f).*', target_label: '$1', replacement: '$2' }], { a: 'foo' }],
  ['$$ is a literal dollar', { a: 'foo' }, [{ source_labels: ['a'], target_label: 'b', replacement: '$$$1' }], { a: 'foo', b: '$foo' }],
  // keep / drop
  ['keep matching', { a: 'foo' }, [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }], { a: 'foo' }],
  ['keep drops non-matching', { a: 'foo' }, [{ source_labels: ['a'], regex: 'f', action: 'keep' }], null],
  ['drop matching', { a: 'foo' }, [{ source_labels: ['a'], regex: '.*o', action: 'drop' }], null],
  ['drop keeps non-matching', { a: 'foo' }, [{ source_labels: ['a'], regex: 'bar', action: 'drop' }], { a: 'foo' }],
  // keepequal / dropequal
  ['keepequal keeps equal', { a: '1', b: '1' }, [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }], { a: '1', b: '1' }],
  ['keepequal drops different', { a: '1', b: '2' }, [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }], null],
  ['dropequal drops equal', { a: '1', b: '1' }, [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }], null],
  ['dropequal keeps different', { a: '1', b: '2' }, [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }], { a: '1', b: '2' }],
  // hashmod: expected values from Prometheus's own relabel tests
  ['hashmod', { a: 'foo', b: 'bar', c: 'baz' }, [{ source_labels: ['c'], target_label: 'd', action: 'hashmod', modulus: 1000 }], { a: 'foo', b: 'bar', c: 'baz', d: '976' }],
  ['hashmod over a newline', { a: 'foo\nbar' }, [{ source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 1000 }], { a: 'foo\nbar', b: '734' }],
  // labelmap / labeldrop / labelkeep
  ['labelmap copies matching names', { a: 'foo', b1: 'bar', b2: 'baz' }, [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }], { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' }],
  ['labelmap strips a prefix', { __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', a: 'foo' }, [{ regex: '__meta_(my.*)', replacement: '$1', action: 'labelmap' }], { __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', a: 'foo', my_bar: 'aaa', my_baz: 'bbb' }],
  ['labeldrop', { a: 'foo', b1: 'bar', b2: 'baz' }, [{ regex: 'b.*', action: 'labeldrop' }], { a: 'foo' }],
  ['labelkeep', { a: 'foo', b1: 'bar', b2: 'baz' }, [{ regex: 'b.*', action: 'labelkeep' }], { b1: 'bar', b2: 'baz' }],
  // lowercase / uppercase
  ['lowercase', { a: 'AbCd' }, [{ source_labels: ['a'], target_label: 'l', action: 'lowercase' }], { a: 'AbCd', l: 'abcd' }],
  ['uppercase', { a: 'AbCd' }, [{ source_labels: ['a'], target_label: 'u', action: 'uppercase' }], { a: 'AbCd', u: 'ABCD' }],
  // rules chain
  [
    'each rule sees the previous output',
    { a: 'foo' },
    [
      { source_labels: ['a'], target_label: 'b', replacement: 'x$1' },
      { source_labels: ['b'], regex: 'xfoo', action: 'keep' },
    ],
    { a: 'foo', b: 'xfoo' },
  ],
];

describe('relabel', () => {
  it.each(cases)('%s', (_name, input, rules, expected) => {
    expect(run(input, rules)).toEqual(expected);
  });

  it('returns the input unchanged without rules', () => {
    const labels = labelsFromRecord({ a: 'b' });
    expect(relabel(labels, [])).toBe(labels);
  });

  it('hashmod uses the last 8 bytes of the MD5 digest, big-endian', () => {
    // md5("") = d41d8cd98f00b204 e9800998ecf8427e
    expect(hashmod('', 2 ** 52)).toBe(0xe9800998ecf8427en % 2n ** 52n);
  });

  it('expands Go template references', () => {
    const m = /^(?<x>a)(b)$/.exec('ab')!;
    expect(expandTemplate('$1-${2}-$x-${x}-$3-$-${1', m)).toBe('a-b-a-a--$-${1');
  });
});
