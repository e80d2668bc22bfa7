/**
 * Fatigue driving (domain.md, "Driving-behaviour defaults", after the Road Transport
 * regulation): more than 4 h of continuous driving without a rest of ≥ 20 min; more than 2 h of
 * continuous driving inside the night window (22:00–06:00); more than 8 h of driving in 24 h.
 *
 * Driving is ACC on and moving. A *rest* is a stretch of ≥ `restS` between one driving fix and
 * the next, whatever the vehicle did in between (stopped, ACC off, or silent: a data gap that
 * long counts as a rest too, since nothing says it was driving). A *drive* runs from the first
 * driving fix after a rest to the last one before the next; shorter stops stay inside it.
 *
 * - `fatigue.continuous` (CRITICAL): the drive has lasted (wall time since its first fix,
 *   short stops included) more than `continuousS`. Start = first fix + continuousS, the point
 *   interpolated between the driving fixes around that time.
 * - `fatigue.night` (WARNING): the drive has been inside the night window (`t.night`, China
 *   time) for more than `nightContinuousS`, counted from its first driving fix in the window.
 *   It also ends when a driving fix falls outside the window (morning).
 * - `fatigue.daily` (WARNING): driving time in the last 24 h exceeds `dailyS`. Start/end
 *   rather than instant: it opens when the budget is crossed (or at the first fix of a later
 *   drive still over it) and ends with that drive, so each drive made over the budget is one
 *   event. Driving time counts only steps between two driving fixes (never a stretch that may
 *   have been a stop), kept per drive as `[startMs, endMs, drivenMs]` for the last 24 h.
 *
 * Every event ends at the last driving fix before the rest, and the end is emitted once the
 * rest is confirmed (a fix, or the engine's tick, ≥ `restS` after that fix): ending at the first
 * stopped fix would end and reopen an event at every traffic light. data: `drivingS` (to the
 * latest driving fix) and `since` (ms: the drive's start, the night stretch's start, or the
 * start of the driving counted in the 24 h window). `late` is the detecting fix's.
 */
import { chinaMinuteOfDay, closeEvent, inDailyWindow, openEvent } from './event.js';
import type { Thresholds } from './thresholds.js';
import { Severity, type EventOut, type EventPoint, type Fix, type Rule, type RuleEvent } from './types.js';

type FatigueData = { drivingS: number; since: number };
type OpenFatigue = RuleEvent & { data: FatigueData };

export interface FatigueState {
  /** First driving fix of the current drive; null between drives. */
  driveStartMs: number | null;
  /** The last driving fix (its position is the last located one). */
  lastDriveMs: number;
  lastDriveLat: number;
  lastDriveLon: number;
  /** First driving fix of the current drive inside the night window; null outside it. */
  nightStartMs: number | null;
  /** Drives of the last 24 h, oldest first, flat: startMs, endMs, drivenMs; the last may be the current one. */
  drives: number[];
  /** Sum of the drives' drivenMs. */
  drivenMs: number;
  continuous: OpenFatigue | null;
  night: OpenFatigue | null;
  daily: OpenFatigue | null;
}

const DAY_MS = 86_400_000;
/** Bounds `drives` when `restS` is overridden to almost nothing (merging keeps a lower bound). */
const MAX_DRIVES = 200;

export const fatigueRule: Rule<FatigueState> = {
  name: 'fatigue',

  init: () => ({
    driveStartMs: null, lastDriveMs: 0, lastDriveLat: 0, lastDriveLon: 0, nightStartMs: null, drives: [], drivenMs: 0,
    continuous: null, night: null, daily: null,
  }),

  onFix(s: FatigueState, f: Fix, t: Thresholds, out: EventOut): void {
    if (s.driveStartMs !== null && f.timeMs - s.lastDriveMs >= t.fatigue.restS * 1000) endDrive(s, out);
    if (!(f.acc && f.moving)) return;

    const d = s.drives;
    const newDrive = s.driveStartMs === null;
    let driveStart: number;
    if (newDrive) {
      driveStart = s.driveStartMs = f.timeMs;
      if (d.length >= MAX_DRIVES * 3) mergeOldest(d);
      d.push(f.timeMs, f.timeMs, 0);
    } else {
      driveStart = s.driveStartMs!;
      const n = d.length;
      // Both ends driving: the step from a stopped fix may have been spent standing.
      if (f.prevTimeMs === s.lastDriveMs) {
        const dt = f.timeMs - s.lastDriveMs;
        d[n - 1]! += dt;
        s.drivenMs += dt;
      }
      d[n - 2] = f.timeMs;
    }

    // Continuous driving since the last rest.
    const elapsed = f.timeMs - driveStart;
    if (s.continuous !== null) s.continuous.data.drivingS = elapsed / 1000;
    else if (elapsed > t.fatigue.continuousS * 1000) {
      s.continuous = open(s, f, newDrive, 'fatigue.continuous', Severity.CRITICAL, driveStart + t.fatigue.continuousS * 1000, elapsed, driveStart, out);
    }

    // Continuous driving inside the night window.
    if (inDailyWindow(chinaMinuteOfDay(f.timeMs), t.night.startMin, t.night.endMin)) {
      const nightStart = s.nightStartMs ??= f.timeMs;
      const ne = f.timeMs - nightStart;
      if (s.night !== null) s.night.data.drivingS = ne / 1000;
      else if (ne > t.fatigue.nightContinuousS * 1000) {
        s.night = open(s, f, newDrive, 'fatigue.night', Severity.WARNING, nightStart + t.fatigue.nightContinuousS * 1000, ne, nightStart, out);
      }
    } else if (s.nightStartMs !== null) {
      // Driving on past the window's end: the night stretch ended at the previous driving fix.
      if (s.night !== null) out.emit(closeEvent(s.night, lastDrivePoint(s)));
      s.night = null;
      s.nightStartMs = null;
    }

    // Driving in the last 24 h. Only the oldest drive can straddle the window's start; the
    // driving of it inside the window is at least drivenMs − (windowStart − startMs).
    const ws = f.timeMs - DAY_MS;
    while (d.length > 3 && d[1]! <= ws) {
      s.drivenMs -= d[2]!;
      d.splice(0, 3);
    }
    const total = s.drivenMs - (d[0]! < ws ? Math.min(d[2]!, ws - d[0]!) : 0);
    if (s.daily !== null) s.daily.data.drivingS = total / 1000;
    else if (total > t.fatigue.dailyS * 1000) {
      s.daily = open(s, f, newDrive, 'fatigue.daily', Severity.WARNING, f.timeMs - (total - t.fatigue.dailyS * 1000), total, Math.max(ws, d[0]!), out);
    }

    s.lastDriveMs = f.timeMs;
    if (f.located) {
      s.lastDriveLat = f.lat;
      s.lastDriveLon = f.lon;
    }
  },

  onTick(s: FatigueState, nowMs: number, last: Fix | null, t: Thresholds, out: EventOut): void {
    if (s.driveStartMs === null || last === null) return;
    // Device time since the last driving fix, carried on by the wall clock since the last fix
    // arrived (a device clock may be off; the gap between its time and receipt is not).
    if (last.timeMs - s.lastDriveMs + (nowMs - last.receivedMs) >= t.fatigue.restS * 1000) endDrive(s, out);
  },
};

/** The rest is confirmed: whatever is open ends at the last driving fix. */
function endDrive(s: FatigueState, out: EventOut): void {
  if (s.continuous !== null || s.night !== null || s.daily !== null) {
    const at = lastDrivePoint(s);
    if (s.continuous !== null) out.emit(closeEvent(s.continuous, at));
    if (s.night !== null) out.emit(closeEvent(s.night, at));
    if (s.daily !== null) out.emit(closeEvent(s.daily, at));
    s.continuous = s.night = s.daily = null;
  }
  s.driveStartMs = null;
  s.nightStartMs = null;
}

function lastDrivePoint(s: FatigueState): EventPoint {
  return { timeMs: s.lastDriveMs, lat: s.lastDriveLat, lon: s.lastDriveLon };
}

function open(
  s: FatigueState, f: Fix, newDrive: boolean, kind: string, severity: Severity, atMs: number, drivingMs: number, since: number,
  out: EventOut,
): OpenFatigue {
  const e = openEvent(f.terminal, 'fatigue', kind, severity, pointAt(s, f, newDrive, atMs), f.late, { drivingS: drivingMs / 1000, since }) as OpenFatigue;
  out.emit({ ...e, data: { ...e.data } }); // a copy: the open one's data goes on changing
  return e;
}

/** Where the vehicle was at `atMs`, between the previous driving fix and `f` (clamped to them). */
function pointAt(s: FatigueState, f: Fix, newDrive: boolean, atMs: number): EventPoint {
  const from = newDrive ? f.timeMs : s.lastDriveMs;
  const timeMs = Math.min(Math.max(atMs, from), f.timeMs);
  const span = f.timeMs - from;
  if (span <= 0 || !f.located) return { timeMs, lat: f.located ? f.lat : s.lastDriveLat, lon: f.located ? f.lon : s.lastDriveLon };
  const k = (timeMs - from) / span;
  return { timeMs, lat: s.lastDriveLat + k * (f.lat - s.lastDriveLat), lon: s.lastDriveLon + k * (f.lon - s.lastDriveLon) };
}

/** Joins the two oldest drives into one (its driving inside any window stays a lower bound). */
function mergeOldest(d: number[]): void {
  d[1] = d[4]!;
  d[2]! += d[5]!;
  d.splice(3, 3);
}
