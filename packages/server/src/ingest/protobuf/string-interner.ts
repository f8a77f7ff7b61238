/**
 * Interns short ASCII strings decoded from protobuf bytes. Label names and values repeat across
 * series and requests; creating a JS string per occurrence dominates remote-write decoding, while
 * hashing the bytes and comparing them with a cached string is several times cheaper. The table
 * is direct-mapped with a fixed number of slots (a colliding string replaces the old one), so its
 * memory is bounded whatever the input.
 */

/** Strings longer than this are decoded directly: they rarely repeat and comparing costs more. */
const MAX_INTERNED_LENGTH = 96;

export class StringInterner {
  private readonly slots: (string | undefined)[];
  private readonly mask: number;

  constructor(slotsLog2 = 16) {
    this.slots = new Array<string | undefined>(1 << slotsLog2).fill(undefined);
    this.mask = (1 << slotsLog2) - 1;
  }

  /**
   * The string of buf[start, end) if it is ASCII and short, reusing an equal cached string;
   * null when the bytes are not interned (non-ASCII or long) and must be decoded normally.
   */
  ascii(buf: Uint8Array, start: number, end: number): string | null {
    const len = end - start;
    if (len > MAX_INTERNED_LENGTH) return null;
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return null;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const slot = (h ^ (h >>> 16)) & this.mask;
    const cached = this.slots[slot];
    if (cached !== undefined && cached.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (cached.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    // A flat (sequential) string: cached strings are compared with charCodeAt, which is slow on concatenated ones.
    const s = Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('latin1');
    this.slots[slot] = s;
    return s;
  }
}
