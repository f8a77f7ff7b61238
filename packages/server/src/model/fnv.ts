/** FNV-1a 64, the hash Prometheus and Alertmanager use for label-set fingerprints. */
export const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** Folds `bytes` into an FNV-1a 64 hash; start from FNV64_OFFSET and chain calls to hash several parts. */
export function fnv1a64(bytes: Uint8Array, hash: bigint = FNV64_OFFSET): bigint {
  let h = hash;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV64_PRIME) & MASK64;
  return h;
}
