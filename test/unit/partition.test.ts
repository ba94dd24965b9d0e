import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { partitionScheme, PartitionError, type PartitionScheme } from '../../shared/definition/partition.ts';

const daily = partitionScheme('daily');
const weekly = partitionScheme('weekly');
const monthly = partitionScheme('monthly');

// Instants from 1971 to 2099: every key a scheme gives for them is one it accepts.
const instant = fc.date({
  min: new Date('1971-01-01T00:00:00Z'),
  max: new Date('2099-12-31T00:00:00Z'),
  noInvalidDate: true,
});
const zones = fc.constantFrom(
  'UTC',
  'America/New_York',
  'Asia/Tokyo',
  'Pacific/Kiritimati',
  'Pacific/Pago_Pago',
  'Europe/Berlin',
);
const keyOf = (scheme: PartitionScheme) =>
  fc.tuple(instant, zones).map(([at, zone]) => scheme.containing(at, zone));

describe.each([
  ['daily', daily],
  ['weekly', weekly],
  ['monthly', monthly],
] as const)('the %s partition scheme', (_name, scheme) => {
  it('accepts every key it gives, steps back to where it started, and orders keys as it steps', () => {
    fc.assert(
      fc.property(keyOf(scheme), fc.integer({ min: -400, max: 400 }), (key, n) => {
        expect(scheme.parse(key)).toBe(key);
        const moved = scheme.shift(key, n);
        expect(scheme.shift(moved, -n)).toBe(key);
        expect(Math.sign(scheme.compare(key, moved)) + Math.sign(n)).toBe(0);
      }),
    );
  });

  it('gives a range of n+1 keys, each one step after the last', () => {
    fc.assert(
      fc.property(keyOf(scheme), fc.integer({ min: 0, max: 120 }), (from, n) => {
        const keys = scheme.range(from, scheme.shift(from, n));
        expect(keys).toHaveLength(n + 1);
        keys.slice(1).forEach((k, i) => expect(scheme.shift(keys[i]!, 1)).toBe(k));
      }),
    );
  });

  it('refuses a range that starts after it ends, naming both ends', () => {
    const key = scheme.containing(new Date('2026-03-01T12:00:00Z'), 'UTC');
    expect(() => scheme.range(scheme.shift(key, 1), key)).toThrow(/starts after it ends/);
  });

  it('refuses keys that are not ids or not of the scheme, saying what a key looks like', () => {
    for (const bad of ['', '2024/01/01', 'x'.repeat(81), '../runs'])
      expect(scheme.problem(bad)).not.toBeNull();
    expect(() => scheme.parse('tomorrow')).toThrow(
      new RegExp(`"tomorrow" is not a partition of this pipeline \\(${scheme.describe}\\)`),
    );
  });
});

describe('calendar edges', () => {
  it('days: calendar dates only, the local day of the time zone', () => {
    expect(daily.problem('2024-02-29')).toBeNull();
    expect(daily.problem('2023-02-29')).toBe('not a calendar date');
    expect(daily.containing(new Date('2026-03-01T03:00:00Z'), 'America/New_York')).toBe('2026-02-28');
    expect(daily.containing(new Date('2026-03-01T03:00:00Z'), 'UTC')).toBe('2026-03-01');
    expect(daily.shift('2024-03-01', -1)).toBe('2024-02-29');
  });

  it("ISO weeks: the week with the year's Thursday, week 53 only where it exists", () => {
    expect(weekly.containing(new Date('2020-12-31T12:00:00Z'), 'UTC')).toBe('2020-W53');
    expect(weekly.containing(new Date('2021-01-03T12:00:00Z'), 'UTC')).toBe('2020-W53');
    expect(weekly.containing(new Date('2021-01-04T12:00:00Z'), 'UTC')).toBe('2021-W01');
    expect(weekly.containing(new Date('2024-12-30T12:00:00Z'), 'UTC')).toBe('2025-W01');
    expect(weekly.problem('2026-W53')).toBeNull();
    expect(weekly.problem('2025-W53')).toBe('2025 has no ISO week 53');
    expect(weekly.problem('2025-W00')).toBe('2025 has no ISO week 0');
    expect(weekly.shift('2025-W52', 1)).toBe('2026-W01');
    expect(weekly.range('2026-W52', '2027-W02')).toEqual(['2026-W52', '2026-W53', '2027-W01', '2027-W02']);
  });

  it('months: 01-12, across years', () => {
    expect(monthly.problem('2026-13')).toBe('not a month (01-12)');
    expect(monthly.shift('2026-01', -1)).toBe('2025-12');
    expect(monthly.containing(new Date('2026-03-01T03:00:00Z'), 'America/New_York')).toBe('2026-02');
  });

  it('an unknown time zone is a clear error, not a wrong partition', () => {
    expect(() => daily.containing(new Date(), 'Mars/Olympus')).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('a custom scheme', () => {
  const reports = partitionScheme({
    kind: 'custom',
    describe: 'a module and year, MODULE-YYYY',
    schema: z.string().regex(/^[a-z]+-\d{4}$/, 'expected MODULE-YYYY'),
    compare: (a, b) => a.slice(-4).localeCompare(b.slice(-4)) || a.localeCompare(b),
  });

  it('checks keys with its own schema and orders them with its own order', () => {
    expect(reports.parse('sales-2024')).toBe('sales-2024');
    expect(() => reports.parse('sales_2024')).toThrow(
      /a module and year, MODULE-YYYY\): expected MODULE-YYYY/,
    );
    expect(reports.compare('zoo-2023', 'ants-2024')).toBeLessThan(0);
  });

  it('without shift or containing, says what it cannot do instead of guessing', () => {
    expect(() => reports.range('sales-2023', 'sales-2024')).toThrow(PartitionError);
    expect(() => reports.range('sales-2023', 'sales-2024')).toThrow(/declare no shift/);
    expect(() => reports.containing(new Date(), 'UTC')).toThrow(
      /declare no containing\(\): relative requests need it/,
    );
  });

  it('still refuses a key its schema allows but no id can hold', () => {
    const loose = partitionScheme({ kind: 'custom', describe: 'anything', schema: z.string() });
    expect(loose.problem('a/b')).toMatch(/partition key/);
  });

  it('with a shift that does not move forward, a range fails instead of looping', () => {
    const stuck = partitionScheme({
      kind: 'custom',
      describe: 'stuck',
      schema: z.string(),
      shift: (key) => key,
    });
    expect(() => stuck.range('a', 'b')).toThrow(/shift\(a, 1\) gave a, which is not after it/);
  });
});
