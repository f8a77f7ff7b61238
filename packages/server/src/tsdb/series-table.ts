/**
 * Head series by ref in fixed-size pages: a lookup is two array loads (a Map lookup was the
 * single biggest cost of appending by ref), and a page is freed once all its series are gone,
 * so memory follows live series even as refs keep growing with churn.
 */
import type { MemSeries } from './mem-series.js';

const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

/** Map from series ref to head series, paged. */
export class SeriesTable {
  private readonly pages: ((MemSeries | undefined)[] | undefined)[] = [];
  private readonly livePerPage: number[] = [];
  size = 0;

  get(ref: number): MemSeries | undefined {
    const page = this.pages[ref >>> PAGE_BITS];
    return page === undefined ? undefined : page[ref & PAGE_MASK];
  }

  set(ref: number, s: MemSeries): void {
    const p = ref >>> PAGE_BITS;
    while (this.pages.length <= p) {
      this.pages.push(undefined);
      this.livePerPage.push(0);
    }
    let page = this.pages[p];
    if (page === undefined) {
      page = new Array<MemSeries | undefined>(PAGE_SIZE).fill(undefined);
      this.pages[p] = page;
    }
    if (page[ref & PAGE_MASK] === undefined) {
      this.livePerPage[p]!++;
      this.size++;
    }
    page[ref & PAGE_MASK] = s;
  }

  delete(ref: number): void {
    const p = ref >>> PAGE_BITS;
    const page = this.pages[p];
    if (page === undefined || page[ref & PAGE_MASK] === undefined) return;
    page[ref & PAGE_MASK] = undefined;
    this.size--;
    if (--this.livePerPage[p]! === 0) this.pages[p] = undefined;
  }

  *values(): IterableIterator<MemSeries> {
    for (const page of this.pages) {
      if (page === undefined) continue;
      for (const s of page) if (s !== undefined) yield s;
    }
  }
}
