import { describe, expect, it } from 'vitest';
import { parseFloatRange, parseIntRange, unescapeRange } from './text-scan.js';

function parse(text: string): number | undefined {
  return parseFloatRange(text, 0, text.length);
}

describe('parseFloatRange', () => {
  it('equals Number() for 20000 random decimal forms (fast path and fallback alike)', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    for (let i = 0; i < 20_000; i++) {
      const sign = ['', '-', '+'][Math.floor(random() * 3)]!;
      const intPart = digits(Math.floor(random() * 20));
      const frac = random() < 0.7 ? `.${digits(Math.floor(random() * 20))}` : '';
      const exp = random() < 0.3 ? `${random() < 0.5 ? 'e' : 'E'}${['', '-', '+'][Math.floor(random() * 3)]}${Math.floor(random() * 40)}` : '';
      const text = `${sign}${intPart}${frac}${exp}`;
      const expected = intPart === '' && (frac === '' || frac === '.') ? undefined : Number(text);
      expect({ text, value: parse(text) }).toEqual({ text, value: expected });
    }
  });

  it('reads special values and rejects what Go rejects', () => {
    expect(parse('+Inf')).toBe(Infinity);
    expect(parse('-infinity')).toBe(-Infinity);
    expect(parse('NaN')).toBeNaN();
    expect(parse('1e400')).toBe(Infinity);
    expect(parse('4.9e-324')).toBe(5e-324);
    expect(parse('9007199254740993')).toBe(9007199254740992);
    for (const bad of ['', '.', '-', 'e5', '1e', '1e+', '0x10', '1_000', '1.2.3', '--1', 'Infx']) expect(parse(bad)).toBeUndefined();
  });
});

describe('parseIntRange and unescapeRange', () => {
  it('parses signed integers only', () => {
    expect(parseIntRange('-1234', 0, 5)).toBe(-1234);
    expect(parseIntRange('12a', 0, 3)).toBeUndefined();
    expect(parseIntRange('-', 0, 1)).toBeUndefined();
  });

  it('unescapes backslash, newline and (optionally) quotes, keeping other sequences', () => {
    const text = 'a\\\\b\\nc\\"d\\te';
    expect(unescapeRange(text, 0, text.length, true)).toBe('a\\b\nc"d\\te');
    expect(unescapeRange(text, 0, text.length, false)).toBe('a\\b\nc\\"d\\te');
  });
});
