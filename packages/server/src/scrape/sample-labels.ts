/** How a scraped series' labels combine with its target's labels (honor_labels) before metric relabeling. */
import { METRIC_NAME, type Label, type Labels } from '../model/labels.js';
import { relabel, type CompiledRelabelRule } from './relabel.js';

const EXPORTED_PREFIX = 'exported_';

function has(labels: Labels, name: string): boolean {
  for (const l of labels) if (l.name === name) return true;
  return false;
}

/**
 * Attaches target labels to scraped labels and applies metric_relabel_configs, as Prometheus's
 * mutateSampleLabels does. With honor_labels the scraped value wins; otherwise the target's does
 * and the scraped value moves to `exported_<name>` (prefixed again until the name is free).
 * Returns null when relabeling drops the series or leaves no labels.
 */
export function mutateSampleLabels(scraped: Labels, target: Labels, honorLabels: boolean, rules: readonly CompiledRelabelRule[]): Labels | null {
  const lb = new Map<string, string>();
  for (const l of scraped) lb.set(l.name, l.value);
  if (honorLabels) {
    for (const l of target) if (!lb.get(l.name)) lb.set(l.name, l.value);
  } else {
    const conflicts: Label[] = [];
    for (const l of target) {
      const existing = lb.get(l.name);
      if (existing) conflicts.push({ name: l.name, value: existing });
      lb.set(l.name, l.value);
    }
    if (conflicts.length > 0) {
      conflicts.sort((a, b) => a.name.length - b.name.length);
      const taken = new Set<string>();
      for (const c of conflicts) {
        let name = c.name;
        do name = EXPORTED_PREFIX + name;
        while (has(scraped, name) || has(target, name) || taken.has(name));
        taken.add(name);
        lb.set(name, c.value);
      }
    }
  }
  const merged: Label[] = [];
  for (const [name, value] of lb) if (value !== '') merged.push({ name, value });
  merged.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = relabel(merged, rules);
  return out === null || out.length === 0 ? null : out;
}

/** Labels of a report series (`up`, `scrape_duration_seconds`, ...): the target's labels plus the name. */
export function reportLabels(name: string, target: Labels): Labels {
  const out: Label[] = [{ name: METRIC_NAME, value: name }];
  for (const l of target) if (l.name !== METRIC_NAME) out.push(l);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
