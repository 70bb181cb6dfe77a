// One duration grammar: policies, `gc --grace`, `--settle`, `extend --for` and `query --since` read the same strings.
import { describe, expect, test } from 'vitest';
import { parseTime } from '../../lib/catalog/query-flags.ts';
import { ConfigError } from '../../lib/errors.ts';
import {
  DURATION_RE,
  durationFlag,
  fixedDurationFlagMs,
  parseDuration,
  subtractDuration,
} from '../../lib/policy/duration.ts';

const NOW = new Date('2026-03-31T12:00:00Z');
const GOOD = ['0', '0s', '30s', '90m', '1h30m', '12h', '7d', '2w', '1mo', '1y6mo', '7y'];
const BAD = ['', 'soon', '1.5h', '100ms', '-1d', '3600', 'h', '1 d', '1D', 'indefinite'];

describe('the one duration grammar', () => {
  test('every flag accepts exactly what a policy accepts', () => {
    for (const text of [...GOOD, ...BAD]) {
      const policy = DURATION_RE.test(text);
      expect(policy, text).toBe(GOOD.includes(text));
      expect(parseDuration(text) !== undefined, text).toBe(policy);
      if (policy) expect(durationFlag('for', text).text).toBe(text);
      else expect(() => durationFlag('for', text)).toThrow(ConfigError);
      // query --since: a duration back from now, else an ISO date; neither is an error naming the flag.
      if (policy) expect(parseTime('since', text, NOW)).toEqual(subtractDuration(NOW, parseDuration(text)!));
      else expect(() => parseTime('since', text, NOW)).toThrow(/--since .* nor a duration \(numbers with units/);
    }
  });

  test('fixed-length flags (gc --grace, --settle) take weeks to seconds and refuse calendar units', () => {
    expect(fixedDurationFlagMs('grace', '0')).toBe(0);
    expect(fixedDurationFlagMs('grace', '1h30m')).toBe(5_400_000);
    expect(fixedDurationFlagMs('settle', '60s')).toBe(60_000);
    expect(fixedDurationFlagMs('grace', '2w')).toBe(14 * 86_400_000);
    expect(() => fixedDurationFlagMs('grace', '1mo')).toThrow(/--grace "1mo": years and months have no fixed length/);
    expect(() => fixedDurationFlagMs('grace', 'soon')).toThrow(/--grace "soon" is not a duration/);
  });

  test('"ago" is calendar-correct: one month before March 31 is February 28', () => {
    expect(parseTime('since', '1mo', NOW)).toEqual(new Date('2026-02-28T12:00:00Z'));
    expect(parseTime('since', '1y', new Date('2028-02-29T00:00:00Z'))).toEqual(new Date('2027-02-28T00:00:00Z'));
    expect(parseTime('since', '90m', NOW)).toEqual(new Date('2026-03-31T10:30:00Z'));
  });
});
