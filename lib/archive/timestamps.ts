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
