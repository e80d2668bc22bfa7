import { CodecError, ErrorCode } from './errors.js';

const CHINA_OFFSET_MS = 8 * 3600_000;

/** One packed-BCD byte to its value, or -1 when a nibble is not a decimal digit. */
function bcdByte(b: number): number {
  const hi = b >> 4;
  const lo = b & 15;
  return hi > 9 || lo > 9 ? -1 : hi * 10 + lo;
}

/** Two hex digits per byte value: BCD digits are the hex of their bytes (§0.3 BCD[n]). */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * BCD digits as a string (a non-decimal nibble shows as its hex letter). Concatenating table
 * entries beats Buffer#toString('hex') for the 6–10 bytes of a phone number: no native call.
 */
export function readBcdDigits(buf: Buffer, start: number, n: number): string {
  let s = '';
  for (let i = start; i < start + n; i++) s += HEX_PAIRS[buf[i]!]!;
  return s;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Writes a digit string right-aligned into n BCD bytes, left-padded with zeros. */
export function bcdDigitsToBytes(digits: string, n: number): Buffer {
  if (!/^[0-9]*$/.test(digits) || digits.length > n * 2) {
    throw new CodecError(ErrorCode.ENCODE, `"${digits}" is not up to ${n * 2} decimal digits`);
  }
  return Buffer.from(digits.padStart(n * 2, '0'), 'hex');
}

/**
 * BCD[6] YYMMDDhhmmss to epoch milliseconds. `offsetMs` is the zone the terminal wrote it in:
 * GMT+8 everywhere in JT/T 808 except 0x8004 (UTC). Returns NaN for a value that is not a date
 * (non-decimal nibbles, month 0 …); all-zero, which devices send before their first fix, too.
 */
export function readBcdTime(buf: Buffer, p: number, offsetMs = CHINA_OFFSET_MS): number {
  const yy = bcdByte(buf[p]!);
  const mo = bcdByte(buf[p + 1]!);
  const dd = bcdByte(buf[p + 2]!);
  const hh = bcdByte(buf[p + 3]!);
  const mi = bcdByte(buf[p + 4]!);
  const ss = bcdByte(buf[p + 5]!);
  if ((yy | mo | dd | hh | mi | ss) < 0 || mo < 1 || mo > 12 || dd < 1 || dd > DAYS_IN_MONTH[mo - 1]! || hh > 23 || mi > 59 || ss > 59) {
    return NaN;
  }
  if (mo === 2 && dd === 29 && yy % 4 !== 0) return NaN;
  return (daysFromCivil(2000 + yy, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss) * 1000 - offsetMs;
}

/** Epoch milliseconds to BCD[6] in the given zone; NaN writes six zero bytes. */
export function writeBcdTime(ms: number, out: Buffer, p: number, offsetMs = CHINA_OFFSET_MS): void {
  if (Number.isNaN(ms)) {
    out.fill(0, p, p + 6);
    return;
  }
  const d = new Date(ms + offsetMs);
  const parts = [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  for (let i = 0; i < 6; i++) out[p + i] = ((((parts[i]! / 10) | 0) << 4) | parts[i]! % 10) & 0xff;
}

export const TIME_ZONE_GMT8_MS = CHINA_OFFSET_MS;
