// Finds RFC 3339 UTC timestamps in bytes and formats them back, without strings or Date, for the log-aware frame codec.

/** A timestamp found in text: where it is, its epoch second and fraction (`fracDigits` digits, 0 when absent). */
export interface FoundTimestamp {
  start: number;
  end: number;
  sec: number;
  frac: number;
  fracDigits: number;
}

const D0 = 0x30;
const isDigit = (b: number) => b >= D0 && b <= D0 + 9;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function leap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil: [year, month, day]. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function num(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = b[at + i]!;
    if (!isDigit(c)) return -1;
    v = v * 10 + c - D0;
  }
  return v;
}

/**
 * The timestamp `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` starting at `at`, if it is one and is a real UTC time (month
 * 1-12, day within the month, hour < 24, minute and second < 60), so that formatTimestamp gives back the same bytes.
 */
export function timestampAt(b: Uint8Array, at: number): FoundTimestamp | undefined {
  if (at + 20 > b.length) return undefined;
  if (b[at + 4] !== 0x2d || b[at + 7] !== 0x2d || b[at + 10] !== 0x54 || b[at + 13] !== 0x3a || b[at + 16] !== 0x3a)
    return undefined;
  const y = num(b, at, 4);
  const mo = num(b, at + 5, 2);
  const d = num(b, at + 8, 2);
  const h = num(b, at + 11, 2);
  const mi = num(b, at + 14, 2);
  const s = num(b, at + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  if (d > (mo === 2 && leap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!)) return undefined;
  let end = at + 19;
  let frac = 0;
  let fracDigits = 0;
  if (b[end] === 0x2e) {
    let i = end + 1;
    while (i < b.length && i - end <= 9 && isDigit(b[i]!)) frac = frac * 10 + b[i++]! - D0;
    fracDigits = i - end - 1;
    if (fracDigits === 0 || fracDigits > 9 || (i < b.length && isDigit(b[i]!))) return undefined;
    end = i;
  }
  if (b[end] !== 0x5a) return undefined;
  const sec = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  return { start: at, end: end + 1, sec, frac, fracDigits };
}

function put(out: Uint8Array, at: number, v: number, n: number): void {
  for (let i = n - 1; i >= 0; i--) {
    out[at + i] = D0 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/** Writes the 19 bytes `YYYY-MM-DDTHH:MM:SS` of an epoch second (year 0-9999) at `at`. */
export function formatSecond(out: Uint8Array, at: number, sec: number): void {
  const days = Math.floor(sec / 86400);
  let rest = sec - days * 86400;
  const [y, m, d] = civilFromDays(days);
  put(out, at, y, 4);
  out[at + 4] = 0x2d;
  put(out, at + 5, m, 2);
  out[at + 7] = 0x2d;
  put(out, at + 8, d, 2);
  out[at + 10] = 0x54;
  put(out, at + 11, Math.floor(rest / 3600), 2);
  rest %= 3600;
  out[at + 13] = 0x3a;
  put(out, at + 14, Math.floor(rest / 60), 2);
  out[at + 16] = 0x3a;
  put(out, at + 17, rest % 60, 2);
}

/** Writes the fraction (`.` and `digits` digits, if any) and the `Z`; returns the position after it. */
export function formatFraction(out: Uint8Array, at: number, frac: number, digits: number): number {
  if (digits > 0) {
    out[at++] = 0x2e;
    put(out, at, frac, digits);
    at += digits;
  }
  out[at++] = 0x5a;
  return at;
}

/** Lowest and highest epoch seconds formatSecond can write with a four-digit year. */
export const MIN_SECOND = daysFromCivil(0, 1, 1) * 86400;
export const MAX_SECOND = daysFromCivil(9999, 12, 31) * 86400 + 86399;

/**
 * Timestamp styles of frame encoding 3 (docs/format.md). 0-11 are ISO 8601 / RFC 3339 dates
 * `YYYY-MM-DD?HH:MM:SS[?f{1,9}][zone]`: style = zone × 4 + comma × 2 + space, where zone is 0 `Z`, 1 `±HH:MM`,
 * 2 none; comma when the fraction follows `,` (Python's logging) instead of `.`; space when date and time are
 * separated by a space instead of `T`.
 */
export const Style = { Klog: 12, GoLog: 13, EpochMillis: 14 } as const;
export const STYLES = 15;
const ZONE_Z = 0;
const ZONE_OFFSET = 1;
const ZONE_NONE = 2;
/** klog writes no year: its dates are counted in 2000, a leap year, so that 02-29 exists. */
const KLOG_YEAR = 2000;
const EPOCH_MS_MIN = 1e12;
const EPOCH_MS_MAX = 1e13;

/** A timestamp of any style; `offset` (zone ±HH:MM only) is minutes × 2, + 1 when written `-`. */
export interface FoundStamp extends FoundTimestamp {
  style: number;
  offset: number;
}

function twoDigits(b: Uint8Array, at: number): number {
  const x = b[at]! - D0;
  const y = b[at + 1]! - D0;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

function validDate(y: number, mo: number, d: number): boolean {
  return y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && leap(y) ? 29 : DAYS_IN_MONTH[mo - 1]!);
}

/**
 * The timestamp whose time of day `HH:MM:SS` has its first colon at `colon`, or the epoch milliseconds (13 digits)
 * right after it; undefined when there is none, or it starts before `from`. Taken only when formatStamp gives back
 * exactly the same bytes.
 */
export function stampAtColon(b: Uint8Array, colon: number, from: number): FoundStamp | undefined {
  const n = b.length;
  const h = colon - 2;
  if (h >= from && colon + 6 <= n && b[colon + 3] === 0x3a) {
    const hh = twoDigits(b, h);
    const mi = twoDigits(b, colon + 1);
    const s = twoDigits(b, colon + 4);
    if (hh >= 0 && hh < 24 && mi >= 0 && mi < 60 && s >= 0 && s < 60) {
      const t = dateBefore(b, h, from);
      if (t) return timeAfter(b, t, hh * 3600 + mi * 60 + s, colon + 6);
    }
  }
  return epochMillisAfter(b, colon);
}

interface DatePart {
  start: number;
  days: number;
  style: number;
  iso: boolean;
}

/** The date in front of a time of day starting at `h`: ISO `YYYY-MM-DD` + `T`/space, Go `YYYY/MM/DD `, klog `Lmmdd `. */
function dateBefore(b: Uint8Array, h: number, from: number): DatePart | undefined {
  const sep = b[h - 1];
  if (sep !== 0x54 && sep !== 0x20) return undefined;
  const start = h - 11;
  if (start >= from && (b[start + 4] === 0x2d || b[start + 4] === 0x2f) && b[start + 7] === b[start + 4]) {
    const y = num(b, start, 4);
    const mo = twoDigits(b, start + 5);
    const d = twoDigits(b, start + 8);
    if (y >= 0 && validDate(y, mo, d)) {
      if (b[start + 4] === 0x2d)
        return { start, days: daysFromCivil(y, mo, d), style: sep === 0x20 ? 1 : 0, iso: true };
      if (sep === 0x20) return { start, days: daysFromCivil(y, mo, d), style: Style.GoLog, iso: false };
    }
  }
  // klog: a severity letter at the start of the line, then mmdd.
  const k = h - 5;
  const letter = b[k - 1];
  if (
    sep === 0x20 &&
    k >= from &&
    (k === 1 || b[k - 2] === 0x0a) &&
    (letter === 0x49 || letter === 0x57 || letter === 0x45 || letter === 0x46)
  ) {
    const mo = twoDigits(b, k);
    const d = twoDigits(b, k + 2);
    if (validDate(KLOG_YEAR, mo, d))
      return { start: k, days: daysFromCivil(KLOG_YEAR, mo, d), style: Style.Klog, iso: false };
  }
  return undefined;
}

function timeAfter(b: Uint8Array, date: DatePart, secOfDay: number, at: number): FoundStamp | undefined {
  let style = date.style;
  let frac = 0;
  let fracDigits = 0;
  const dot = b[at];
  if (dot === 0x2e || (dot === 0x2c && date.iso)) {
    let i = at + 1;
    while (i < b.length && i - at <= 9 && isDigit(b[i]!)) frac = frac * 10 + b[i++]! - D0;
    fracDigits = i - at - 1;
    if (fracDigits === 0 || (i < b.length && isDigit(b[i]!))) return undefined;
    if (dot === 0x2c) style += 2;
    at = i;
  }
  let offset = 0;
  if (date.iso) {
    const z = b[at];
    if (z === 0x5a) {
      at++;
    } else if ((z === 0x2b || z === 0x2d) && b[at + 3] === 0x3a) {
      const oh = twoDigits(b, at + 1);
      const om = twoDigits(b, at + 4);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
      offset = (oh * 60 + om) * 2 + (z === 0x2d ? 1 : 0);
      style += ZONE_OFFSET * 4;
      at += 6;
    } else {
      style += ZONE_NONE * 4;
    }
  }
  return { start: date.start, end: at, sec: date.days * 86400 + secOfDay, frac, fracDigits, style, offset };
}

/** 13 digits right after `colon`, not part of a longer number: epoch milliseconds (years 2001-2286). */
function epochMillisAfter(b: Uint8Array, colon: number): FoundStamp | undefined {
  const at = colon + 1;
  if (at + 13 > b.length || (at + 13 < b.length && isDigit(b[at + 13]!))) return undefined;
  const v = num(b, at, 13);
  if (v < EPOCH_MS_MIN || v >= EPOCH_MS_MAX) return undefined;
  return {
    start: at,
    end: at + 13,
    sec: Math.floor(v / 1000),
    frac: v % 1000,
    fracDigits: 3,
    style: Style.EpochMillis,
    offset: 0,
  };
}

/** Lowest and highest epoch second a style can write (klog: within its year 2000). */
export function secondRange(style: number): [number, number] {
  if (style === Style.Klog)
    return [daysFromCivil(KLOG_YEAR, 1, 1) * 86400, daysFromCivil(KLOG_YEAR + 1, 1, 1) * 86400 - 1];
  if (style === Style.EpochMillis) return [EPOCH_MS_MIN / 1000, EPOCH_MS_MAX / 1000 - 1];
  return [MIN_SECOND, MAX_SECOND];
}

/** Writes a timestamp of `style` (as found by stampAtColon) at `at`; returns the position after it. */
export function formatStamp(
  out: Uint8Array,
  at: number,
  style: number,
  sec: number,
  frac: number,
  fracDigits: number,
  offset: number,
): number {
  if (style === Style.EpochMillis) {
    put(out, at, sec * 1000 + frac, 13);
    return at + 13;
  }
  const days = Math.floor(sec / 86400);
  let rest = sec - days * 86400;
  const [y, m, d] = civilFromDays(days);
  let p = at;
  if (style === Style.Klog) {
    put(out, p, m, 2);
    put(out, p + 2, d, 2);
    out[p + 4] = 0x20;
    p += 5;
  } else {
    const dash = style === Style.GoLog ? 0x2f : 0x2d;
    put(out, p, y, 4);
    out[p + 4] = dash;
    put(out, p + 5, m, 2);
    out[p + 7] = dash;
    put(out, p + 8, d, 2);
    out[p + 10] = style === Style.GoLog || style % 2 === 1 ? 0x20 : 0x54;
    p += 11;
  }
  put(out, p, Math.floor(rest / 3600), 2);
  rest %= 3600;
  out[p + 2] = 0x3a;
  put(out, p + 3, Math.floor(rest / 60), 2);
  out[p + 5] = 0x3a;
  put(out, p + 6, rest % 60, 2);
  p += 8;
  if (fracDigits > 0) {
    out[p++] = style < Style.Klog && style & 2 ? 0x2c : 0x2e;
    put(out, p, frac, fracDigits);
    p += fracDigits;
  }
  if (style < Style.Klog) {
    const zone = style >> 2;
    if (zone === ZONE_Z) out[p++] = 0x5a;
    else if (zone === ZONE_OFFSET) {
      out[p] = offset & 1 ? 0x2d : 0x2b;
      const minutes = offset >> 1;
      put(out, p + 1, Math.floor(minutes / 60), 2);
      out[p + 3] = 0x3a;
      put(out, p + 4, minutes % 60, 2);
      p += 6;
    }
  }
  return p;
}
