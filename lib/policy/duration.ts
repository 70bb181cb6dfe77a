// The one duration grammar, for policies and every flag ("90d", "7y", "1y6mo", "0"; "indefinite" for retention):
// parsing and calendar-correct addition to dates.
import { ConfigError } from '../errors.ts';

export interface PolicyDuration {
  /** Calendar years and months are added on the calendar, so "7y" never falls a leap day short. */
  years: number;
  months: number;
  /** Fixed part: weeks, days, hours, minutes, seconds. */
  ms: number;
  text: string;
}

export type Retention = PolicyDuration | 'indefinite';

const UNIT_MS: Record<string, number> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
/** Numbers with units y, mo, w, d, h, m, s, run together ("1y6mo", "1h30m"); or "0". */
const GRAMMAR = '0|(?:\\d+(?:y|mo|w|d|h|m|s))+';
export const DURATION_RE = new RegExp(`^(?:${GRAMMAR})$`);
export const RETENTION_RE = new RegExp(`^(?:indefinite|${GRAMMAR})$`);
/** A timeline stage: a duration, or "rest" (until deletion). */
export const STAY_RE = new RegExp(`^(?:rest|${GRAMMAR})$`);
/** Said in every error about a duration, so the grammar is learnt once. */
export const DURATION_EXAMPLES = 'numbers with units y, mo, w, d, h, m, s, e.g. 30m, 12h, 7d, 2w, 1y6mo, or 0';
const PART_RE = /(\d+)(y|mo|w|d|h|m|s)/g;

export function isDurationText(text: string): boolean {
  return DURATION_RE.test(text);
}

/** Parses "1y6mo", "30d", "12h", "0"; returns undefined for anything else. */
export function parseDuration(text: string): PolicyDuration | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  const d: PolicyDuration = { years: 0, months: 0, ms: 0, text };
  for (const [, n, unit] of text.matchAll(PART_RE)) {
    const v = Number(n);
    if (unit === 'y') d.years += v;
    else if (unit === 'mo') d.months += v;
    else d.ms += v * UNIT_MS[unit!]!;
  }
  return d;
}

export function parseRetention(text: string): Retention | undefined {
  return text === 'indefinite' ? 'indefinite' : parseDuration(text);
}

export function addDuration(date: Date, d: PolicyDuration): Date {
  const out = new Date(date.getTime());
  if (d.years || d.months) {
    const day = out.getUTCDate();
    out.setUTCDate(1);
    out.setUTCMonth(out.getUTCMonth() + d.years * 12 + d.months);
    // Clamp to the month's last day (Jan 31 + 1mo = Feb 28/29), never overflow into the next month.
    const last = new Date(Date.UTC(out.getUTCFullYear(), out.getUTCMonth() + 1, 0)).getUTCDate();
    out.setUTCDate(Math.min(day, last));
  }
  return new Date(out.getTime() + d.ms);
}

/** The date `d` before `date` (calendar years and months back, then the fixed part): "7d ago", "1mo ago". */
export function subtractDuration(date: Date, d: PolicyDuration): Date {
  return addDuration(date, { years: -d.years, months: -d.months, ms: -d.ms, text: `-${d.text}` });
}

/** A duration given on a flag (`--for`, `--since`): the policy grammar; ConfigError naming the flag otherwise. */
export function durationFlag(flag: string, text: string): PolicyDuration {
  const d = parseDuration(text.trim());
  if (!d) throw new ConfigError(`--${flag} "${text}" is not a duration (${DURATION_EXAMPLES})`, { key: flag });
  return d;
}

/** A duration flag of fixed length in ms (`gc --grace`, `--settle`): years and months have none, so they are refused. */
export function fixedDurationFlagMs(flag: string, text: string): number {
  const d = durationFlag(flag, text);
  if (d.years || d.months)
    throw new ConfigError(`--${flag} "${text}": years and months have no fixed length; use weeks or days`, {
      key: flag,
    });
  return d.ms;
}

/** The date a retention ends when counted from `from`; undefined means never. */
export function retentionEnd(from: Date, r: Retention): Date | undefined {
  return r === 'indefinite' ? undefined : addDuration(from, r);
}

export const ZERO_DURATION: PolicyDuration = { years: 0, months: 0, ms: 0, text: '0s' };
