import { describe, expect, it } from 'vitest';
import { scrapeTimestamp } from './scrape-loop.js';

describe('scrapeTimestamp', () => {
  it('stamps a scrape that fires close to its schedule with the scheduled time', () => {
    expect(scrapeTimestamp(1_000_007, 1_000_000, 15_000)).toBe(1_000_000);
    expect(scrapeTimestamp(999_995, 1_000_000, 15_000)).toBe(1_000_000);
  });

  it('keeps the real time when the scrape is late beyond the tolerance', () => {
    expect(scrapeTimestamp(1_000_050, 1_000_000, 15_000)).toBe(1_000_050);
  });

  it('does not align short intervals', () => {
    expect(scrapeTimestamp(1_000_003, 1_000_000, 250)).toBe(1_000_003);
  });
});
