/**
 * The snappy block format starts with the uncompressed length as a varint (at most 32 bits).
 * Reading it first lets the receiver refuse decompression bombs before allocating anything.
 */

/** The declared uncompressed length of a snappy block, or null when the header is malformed. */
export function snappyDeclaredLength(block: Uint8Array): number | null {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) return null;
    const b = block[i]!;
    result += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return result <= 0xffffffff ? result : null;
  }
  return null;
}
