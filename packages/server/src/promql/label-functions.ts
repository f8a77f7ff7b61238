/** label_replace, label_join and the sort_by_label helpers: label rewriting computed once per series. */
import { getLabel, setLabel, type Labels } from '../model/labels.js';
import { compileAnchoredRegex, MatcherError } from '../model/matchers.js';
import { executionError } from './errors.js';

/** Expands a Go regexp template ($1, ${1}, $name, ${name}, $$) against a match. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i === template.length - 1) {
      out += c;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^\w+$/.test(inner)) {
        out += c;
        continue;
      }
      name = inner;
      i = close;
    } else {
      const word = /^\w+/.exec(template.slice(i + 1));
      if (!word) {
        out += c;
        continue;
      }
      name = word[0];
      i += name.length;
    }
    if (/^\d+$/.test(name)) out += m[Number(name)] ?? '';
    else out += m.groups?.[name] ?? '';
  }
  return out;
}

/** Returns a per-series relabelling function for label_replace's arguments. */
export function labelReplacer(dst: string, replacement: string, src: string, regex: string): (labels: Labels) => Labels {
  let re: RegExp;
  try {
    re = compileAnchoredRegex(regex);
  } catch (err) {
    if (err instanceof MatcherError) throw executionError(`invalid regular expression in label_replace(): ${regex}`);
    throw err;
  }
  if (dst === '') throw executionError(`invalid destination label name in label_replace(): ${dst}`);
  return (labels) => {
    const m = re.exec(getLabel(labels, src) ?? '');
    if (!m) return labels;
    return setLabel(labels, dst, expandTemplate(replacement, m));
  };
}

/** Returns a per-series relabelling function for label_join's arguments. */
export function labelJoiner(dst: string, sep: string, srcs: readonly string[]): (labels: Labels) => Labels {
  if (dst === '') throw executionError(`invalid destination label name in label_join(): ${dst}`);
  return (labels) => setLabel(labels, dst, srcs.map((s) => getLabel(labels, s) ?? '').join(sep));
}

/** Natural ("version") ordering of strings: digit runs compare numerically. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
