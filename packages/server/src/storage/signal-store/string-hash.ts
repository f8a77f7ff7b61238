/**
 * A 53-bit string hash for the lookup columns (request id, trace id, interned texts). Lookups
 * compare one 8-byte numeric column instead of a VARCHAR one, which DuckDB scans several times
 * faster; the hash is computed here rather than by DuckDB's hash() so it stays stable across
 * DuckDB versions and is reproducible by another backend. Collisions only widen a lookup:
 * queries re-check the text.
 */

/** cyrb53-style hash of a string's UTF-16 code units: an integer in [0, 2^53). */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** hash53 as a BIGINT column value; the empty string (absent id) hashes to 0. */
export function hashColumnValue(text: string): bigint {
  return text === '' ? 0n : BigInt(hash53(text));
}

/** hash53 of bytes[start, end) read as one character each: equal to hash53 of the same text when it is ASCII. */
export function hash53Bytes(bytes: Uint8Array, start: number, end: number): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = start; i < end; i++) {
    const ch = bytes[i]!;
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
