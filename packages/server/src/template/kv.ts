/**
 * A label or annotation map as templates see it: `.Labels.job` reads a key (a missing key is the
 * empty string, as for Go's map[string]string), and the methods of Alertmanager's template.KV
 * (`SortedPairs`, `Names`, `Values`, `Remove`) are available.
 */

/** One name/value pair, with Go's field names. */
export interface TemplatePair {
  readonly Name: string;
  readonly Value: string;
}

export class KV extends Map<string, string> {
  /** Builds a KV from a plain record. */
  static of(record: Readonly<Record<string, string>>): KV {
    return new KV(Object.entries(record));
  }

  /** Pairs sorted by name. */
  SortedPairs(): TemplatePair[] & { Names(): string[]; Values(): string[] } {
    const pairs = [...this.keys()].sort().map((k) => ({ Name: k, Value: this.get(k)! }));
    return Object.assign(pairs, {
      Names: () => pairs.map((p) => p.Name),
      Values: () => pairs.map((p) => p.Value),
    });
  }

  Names(): string[] {
    return this.SortedPairs().Names();
  }

  Values(): string[] {
    return this.SortedPairs().Values();
  }

  /** A copy without the given keys. */
  Remove(keys: readonly string[]): KV {
    const out = new KV(this);
    for (const k of keys) out.delete(k);
    return out;
  }

  toRecord(): Record<string, string> {
    return Object.fromEntries(this);
  }
}
