/**
 * A 32-bit hash of a label set computed straight from its strings, so finding a series by
 * labels allocates nothing (building a key string per sample dominated append time).
 */
import type { Labels } from '../model/labels.js';

/** FNV-1a over UTF-16 code units with separators between names and values, then a final mix; an int32. */
export function labelsHash(labels: Labels): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    const name = l.name;
    for (let j = 0; j < name.length; j++) h = Math.imul(h ^ name.charCodeAt(j), 0x01000193);
    h = Math.imul(h ^ 0xffff, 0x01000193);
    const value = l.value;
    for (let j = 0; j < value.length; j++) h = Math.imul(h ^ value.charCodeAt(j), 0x01000193);
    h = Math.imul(h ^ 0xfffe, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  // A signed 32-bit result stays a small integer (no heap number) as a Map key.
  return h | 0;
}
