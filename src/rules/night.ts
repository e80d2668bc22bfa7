/**
 * Night driving (domain.md, "Driving-behaviour defaults": a configurable window, 22:00–06:00
 * China time by default; official vehicles on the road at night are a misuse signal).
 *
 * A night drive runs from the first driving fix (ACC on and moving) inside the window to the
 * last one. It ends at the first fix outside the window, or once the vehicle has not been
 * driving for more than 10 min (a fix, or the engine's tick, that long after the last driving
 * fix); its end point is the last driving fix. It is reported only when it lasts at least
 * `night.minS`: the `night_driving` start (INFO) is emitted as soon as it has, back-dated to
 * the first fix, so a short hop across the window's edge leaves no trace.
 *
 * data: `distanceM` (the steps ending at driving fixes after the first, so a parked GNSS's drift
 * during a stop is left out), `durationS` (first to last driving fix). `late` is the first fix's.
 */
import { chinaMinuteOfDay, closeEvent, inDailyWindow, openEvent, pointOf } from './event.js';
import type { Thresholds } from './thresholds.js';
import { Severity, type EventOut, type Fix, type Rule, type RuleEvent } from './types.js';

type NightData = { distanceM: number; durationS: number };
type OpenNight = RuleEvent & { data: NightData };

export interface NightState {
  /** The current night drive, pending (shorter than minS) or emitted; null outside one. */
  run: OpenNight | null;
  confirmed: boolean;
  /** The run's last driving fix. */
  lastDriveMs: number;
  lastDriveLat: number;
  lastDriveLon: number;
}

/** A stop longer than this ends a night drive: the vehicle was parked, not pausing. */
const BREAK_MS = 10 * 60_000;

export const nightDrivingRule: Rule<NightState> = {
  name: 'night',

  init: () => ({ run: null, confirmed: false, lastDriveMs: 0, lastDriveLat: 0, lastDriveLon: 0 }),

  onFix(s: NightState, f: Fix, t: Thresholds, out: EventOut): void {
    const driving = f.acc && f.moving;
    if (s.run === null && !driving) return;
    const inWindow = inDailyWindow(chinaMinuteOfDay(f.timeMs), t.night.startMin, t.night.endMin);
    if (s.run !== null && (!inWindow || f.timeMs - s.lastDriveMs > BREAK_MS)) end(s, out);
    if (!driving || !inWindow) return;

    const run = s.run;
    if (run === null) {
      s.run = openEvent(f.terminal, 'night', 'night_driving', Severity.INFO, pointOf(f), f.late, { distanceM: 0, durationS: 0 }) as OpenNight;
      s.confirmed = false;
    } else {
      run.data.distanceM += f.stepM;
      run.data.durationS = (f.timeMs - run.start.timeMs) / 1000;
    }
    s.lastDriveMs = f.timeMs;
    if (f.located) {
      s.lastDriveLat = f.lat;
      s.lastDriveLon = f.lon;
    }
    if (!s.confirmed && s.run!.data.durationS >= t.night.minS) {
      s.confirmed = true;
      out.emit({ ...s.run!, data: { ...s.run!.data } }); // a copy: the open one's data goes on changing
    }
  },

  onTick(s: NightState, nowMs: number, last: Fix | null, _t: Thresholds, out: EventOut): void {
    // Device time since the last driving fix, carried on by the wall clock since the last fix arrived.
    if (s.run !== null && last !== null && last.timeMs - s.lastDriveMs + (nowMs - last.receivedMs) > BREAK_MS) end(s, out);
  },
};

/** Ends the night drive at its last driving fix; one shorter than minS was never emitted and just goes. */
function end(s: NightState, out: EventOut): void {
  if (s.confirmed) out.emit(closeEvent(s.run!, { timeMs: s.lastDriveMs, lat: s.lastDriveLat, lon: s.lastDriveLon }));
  s.run = null;
  s.confirmed = false;
}
