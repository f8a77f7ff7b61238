import { describe, expect, it } from 'vitest';
import { intervalContains, parseTimeInterval } from './time-intervals.js';

const at = (iso: string) => Date.parse(iso);
const interval = (raw: unknown) => parseTimeInterval(raw, ['t']);

describe('time intervals', () => {
  const businessHours = interval({ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '18:00' }], location: 'Europe/Berlin' });

  it.each([
    ['2026-11-23T07:59:00Z', false], // Monday 08:59 CET
    ['2026-11-23T08:00:00Z', true], // Monday 09:00 CET
    ['2026-11-23T16:59:59Z', true], // Monday 17:59:59 CET
    ['2026-11-23T17:00:00Z', false], // Monday 18:00 CET: the end is exclusive
    ['2026-07-06T07:00:00Z', true], // Monday 09:00 CEST (summer time)
    ['2026-07-06T06:59:00Z', false], // Monday 08:59 CEST
    ['2026-11-28T10:00:00Z', false], // Saturday
    ['2026-11-22T23:30:00Z', false], // Monday 00:30 in Berlin, still Sunday in UTC
  ])('Berlin business hours at %s: %s', (time, want) => {
    expect(intervalContains(businessHours, at(time))).toBe(want);
  });

  it.each([
    [['-1'], '2026-02-28T12:00:00Z', true],
    [['-1'], '2026-02-27T12:00:00Z', false],
    [['-1'], '2028-02-29T12:00:00Z', true],
    [['-7:-1'], '2026-01-25T12:00:00Z', true],
    [['-7:-1'], '2026-01-24T12:00:00Z', false],
    [['1:5'], '2026-03-05T23:59:00Z', true],
    [['1:5', '-1'], '2026-03-31T00:00:00Z', true],
    [['28:31'], '2026-02-28T00:00:00Z', true],
  ])('days_of_month %j at %s: %s', (days, time, want) => {
    expect(intervalContains(interval({ days_of_month: days }), at(time))).toBe(want);
  });

  it('matches months, years, weekdays and times up to 24:00 together', () => {
    const ti = interval({ months: ['december', '1:2'], years: ['2026:2027'], weekdays: ['saturday', 'sunday'], times: [{ start_time: '20:00', end_time: '24:00' }] });
    expect(intervalContains(ti, at('2026-12-05T23:59:00Z'))).toBe(true); // Saturday in December 2026
    expect(intervalContains(ti, at('2027-01-03T20:00:00Z'))).toBe(true); // Sunday in January 2027
    expect(intervalContains(ti, at('2026-11-28T21:00:00Z'))).toBe(false); // November
    expect(intervalContains(ti, at('2028-12-02T21:00:00Z'))).toBe(false); // 2028
    expect(intervalContains(ti, at('2026-12-05T19:59:00Z'))).toBe(false); // before 20:00
    expect(intervalContains(ti, at('2026-12-07T21:00:00Z'))).toBe(false); // Monday
  });

  it('treats an empty interval as always', () => {
    expect(intervalContains(interval({}), at('2026-01-01T00:00:00Z'))).toBe(true);
  });
});
