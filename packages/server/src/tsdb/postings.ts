/**
 * Postings: sorted lists of series ids per label pair, and the set algebra that turns label
 * matchers into one sorted id list, following Prometheus's PostingsForMatchers (a matcher that
 * matches the empty string also selects series without that label).
 */
import type { Label, Labels } from '../model/labels.js';
import type { CompiledMatcher } from '../model/matchers.js';

/** What matcher selection needs from an index (the head's or a block's). Ids are sorted ascending. */
export interface PostingsReader {
  postings(name: string, value: string): ArrayLike<number>;
  /** Every value the label name takes (any order). */
  labelValues(name: string): Iterable<string>;
  allPostings(): ArrayLike<number>;
}

const EMPTY = new Uint32Array(0);

/** Intersection of two sorted id lists. */
function intersect(a: ArrayLike<number>, b: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, n);
}

/** Ids of `a` not in `b` (both sorted). */
function subtract(a: ArrayLike<number>, b: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(a.length);
  let j = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j < b.length && b[j] === x) continue;
    out[n++] = x;
  }
  return out.subarray(0, n);
}

/** Sorted, de-duplicated union of sorted lists. */
export function union(lists: readonly ArrayLike<number>[]): Uint32Array {
  if (lists.length === 0) return EMPTY;
  if (lists.length === 1) return Uint32Array.from(lists[0]!);
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Uint32Array(total);
  let n = 0;
  for (const l of lists) {
    if (l instanceof Uint32Array) all.set(l, n);
    else for (let i = 0; i < l.length; i++) all[n + i] = l[i]!;
    n += l.length;
  }
  all.sort();
  let w = 0;
  for (let i = 0; i < total; i++) if (i === 0 || all[i] !== all[w - 1]) all[w++] = all[i]!;
  return all.subarray(0, w);
}

/** Union of the postings of every value of `m.name` for which `accept(value)` is true. */
function postingsForValues(ix: PostingsReader, name: string, accept: (v: string) => boolean): Uint32Array {
  const lists: ArrayLike<number>[] = [];
  for (const v of ix.labelValues(name)) if (accept(v)) lists.push(ix.postings(name, v));
  return union(lists);
}

/** A regex that is only literal alternatives (`a|b|c`), as Grafana's multi-value variables produce. */
const LITERAL_ALTERNATION = /^[A-Za-z0-9_:/-]+(?:\|[A-Za-z0-9_:/-]+)*$/;

/** Sorted ids of the series matching every matcher. With no matchers, all series. */
export function postingsForMatchers(ix: PostingsReader, matchers: readonly CompiledMatcher[]): Uint32Array {
  const include: ArrayLike<number>[] = [];
  const exclude: ArrayLike<number>[] = [];
  for (const m of matchers) {
    if (m.matches('')) {
      // Series lacking the label match; exclude those whose value fails the matcher.
      exclude.push(postingsForValues(ix, m.name, (v) => !m.matches(v)));
    } else if (m.type === '=') {
      include.push(ix.postings(m.name, m.value));
    } else if (m.type === '=~' && LITERAL_ALTERNATION.test(m.value)) {
      // Look the listed values up directly instead of testing the regex against every value.
      include.push(union(m.value.split('|').map((v) => ix.postings(m.name, v))));
    } else {
      include.push(postingsForValues(ix, m.name, m.matches));
    }
  }
  let result: ArrayLike<number>;
  if (include.length === 0) {
    result = ix.allPostings();
  } else {
    include.sort((a, b) => a.length - b.length);
    result = include[0]!;
    for (let i = 1; i < include.length && result.length > 0; i++) result = intersect(result, include[i]!);
  }
  for (const ex of exclude) if (ex.length > 0 && result.length > 0) result = subtract(result, ex);
  return result instanceof Uint32Array ? result : Uint32Array.from(result);
}

interface PostingEntry {
  /** The one shared Label object for this pair; series label sets point at it (interning). */
  readonly label: Label;
  refs: number[];
}

/** The head's in-memory postings: label name -> value -> ascending series refs. */
export class MemPostings implements PostingsReader {
  private readonly byName = new Map<string, Map<string, PostingEntry>>();
  private all: number[] = [];

  /** Indexes a new series (refs must be added in ascending order) and returns its labels interned. */
  add(ref: number, labels: Labels): Labels {
    const interned: Label[] = new Array<Label>(labels.length);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      let values = this.byName.get(l.name);
      if (!values) {
        values = new Map();
        this.byName.set(l.name, values);
      }
      let entry = values.get(l.value);
      if (!entry) {
        entry = { label: { name: l.name, value: l.value }, refs: [] };
        values.set(l.value, entry);
      }
      entry.refs.push(ref);
      interned[i] = entry.label;
    }
    this.all.push(ref);
    return interned;
  }

  /** Removes the given series refs from every list. */
  delete(refs: ReadonlySet<number>): void {
    if (refs.size === 0) return;
    for (const [name, values] of this.byName) {
      for (const [value, entry] of values) {
        const kept = entry.refs.filter((r) => !refs.has(r));
        if (kept.length === 0) values.delete(value);
        else entry.refs = kept;
      }
      if (values.size === 0) this.byName.delete(name);
    }
    this.all = this.all.filter((r) => !refs.has(r));
  }

  postings(name: string, value: string): ArrayLike<number> {
    return this.byName.get(name)?.get(value)?.refs ?? EMPTY;
  }

  labelValues(name: string): Iterable<string> {
    return this.byName.get(name)?.keys() ?? [];
  }

  labelNames(): Iterable<string> {
    return this.byName.keys();
  }

  allPostings(): ArrayLike<number> {
    return this.all;
  }

  /** Per label name: its values with their series counts (for status statistics). */
  entries(): Iterable<[string, Map<string, { refs: number[] }>]> {
    return this.byName;
  }
}
