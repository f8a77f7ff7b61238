/**
 * Byte buffers for head chunks carved out of 1 MiB pages, in size classes with free lists. Every
 * head series holds one or two small growing chunk buffers; as separate ArrayBuffers each costs
 * a malloc'd backing store plus V8's ArrayBuffer and backing-store records, and the malloc heap
 * fragments as they grow and are freed. A pooled buffer is only a view into a shared page.
 */

const PAGE_BYTES = 1 << 20;
/** Size classes (bytes); larger requests get their own ArrayBuffer. */
const CLASSES = [32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096];
const MAX_POOLED = CLASSES[CLASSES.length - 1]!;

/** Allocates zeroed byte buffers; `free` hands one back for reuse (it must not be used after). */
export class BytePool {
  private page = new Uint8Array(PAGE_BYTES);
  private used = 0;
  private readonly free: Uint8Array[][] = CLASSES.map(() => []);

  /** A zeroed buffer of at least `n` bytes (exactly one of the size classes when pooled). */
  alloc(n: number): Uint8Array {
    if (n > MAX_POOLED) return new Uint8Array(n);
    let c = 0;
    while (CLASSES[c]! < n) c++;
    const reused = this.free[c]!.pop();
    if (reused !== undefined) return reused.fill(0);
    const size = CLASSES[c]!;
    if (this.used + size > PAGE_BYTES) {
      this.page = new Uint8Array(PAGE_BYTES);
      this.used = 0;
    }
    const b = this.page.subarray(this.used, this.used + size);
    this.used += size;
    return b;
  }

  /** Returns a buffer from `alloc` for reuse; other buffers are ignored (left to the GC). */
  release(b: Uint8Array): void {
    if (b.buffer.byteLength !== PAGE_BYTES || b.length > MAX_POOLED) return;
    const c = CLASSES.indexOf(b.length);
    if (c >= 0) this.free[c]!.push(b);
  }
}
