/**
 * Time windows of fences and corridor segments, in China time (GMT+8, no daylight saving), as
 * the platform's units write their rules: "Mon–Fri 07:00–09:00", "every day 22:00–06:00".
 */

/** ISO weekday in China time: 1 = Monday … 7 = Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/**
 * Active on each of `days` from `from` (inclusive) to `to` (exclusive), "HH:MM" China time;
 * `to` may be "24:00". When `to` is earlier than `from` the window runs past midnight and
 * belongs to the day it starts on: Mon 22:00–06:00 covers Monday 22:00 to Tuesday 06:00.
 */
export interface TimeWindow {
  days: Weekday[];
  from: string;
  to: string;
}

const CHINA_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minutes(s: string): number {
  if (s === '24:00') return 1440;
  const m = HHMM.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
}

/** Why a value is not a TimeWindow, or null. */
export function windowProblem(w: unknown): string | null {
  if (w === null || typeof w !== 'object') return 'a time window must be { days, from, to }';
  const { days, from, to } = w as Partial<TimeWindow>;
  if (!Array.isArray(days) || days.length === 0 || !days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7)) {
    return `days must be a non-empty list of ISO weekdays 1 (Monday) … 7 (Sunday), got ${JSON.stringify(days)}`;
  }
  if (typeof from !== 'string' || from === '24:00' || minutes(from) < 0) return `from must be "HH:MM" (00:00–23:59), got ${JSON.stringify(from)}`;
  if (typeof to !== 'string' || minutes(to) < 0) return `to must be "HH:MM" (00:00–24:00), got ${JSON.stringify(to)}`;
  if (minutes(from) === minutes(to) % 1440 && minutes(to) !== 1440) return `from and to are both ${from}: an empty window`;
  return null;
}

/** Windows as [dayMask, fromMinute, toMinute] triples (bit d − 1 of dayMask = weekday d). */
export type CompiledWindows = Int32Array;

export function compileWindows(ws: readonly TimeWindow[]): CompiledWindows {
  const out = new Int32Array(ws.length * 3);
  ws.forEach((w, i) => {
    out[i * 3] = w.days.reduce((m, d) => m | (1 << (d - 1)), 0);
    out[i * 3 + 1] = minutes(w.from);
    out[i * 3 + 2] = minutes(w.to);
  });
  return out;
}

/** China-time weekday (1–7) and minute of the day of an instant, packed as weekday · 2048 + minute. */
export function chinaClock(epochMs: number): number {
  const local = epochMs + CHINA_OFFSET_MS;
  const day = Math.floor(local / DAY_MS);
  const weekday = ((((day + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday (4)
  return weekday * 2048 + Math.floor((local - day * DAY_MS) / 60_000);
}

/** Whether compiled windows are active at a packed chinaClock value. */
export function windowsActive(ws: CompiledWindows, clock: number): boolean {
  const weekday = clock >> 11, minute = clock & 2047;
  const today = 1 << (weekday - 1), yesterday = 1 << ((weekday + 5) % 7);
  for (let i = 0; i < ws.length; i += 3) {
    const mask = ws[i]!, from = ws[i + 1]!, to = ws[i + 2]!;
    if (from < to) {
      if ((mask & today) !== 0 && minute >= from && minute < to) return true;
    } else if (((mask & today) !== 0 && minute >= from) || ((mask & yesterday) !== 0 && minute < to)) {
      return true;
    }
  }
  return false;
}

/** Whether any of the windows is active at an instant (epoch ms); no windows = always. */
export function isActiveAt(ws: readonly TimeWindow[] | undefined, epochMs: number): boolean {
  return !ws || ws.length === 0 || windowsActive(compileWindows(ws), chinaClock(epochMs));
}
