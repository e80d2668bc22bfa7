/**
 * Harsh acceleration, braking and cornering (domain.md, "Driving-behaviour defaults": needs
 * ≥ 1 Hz data; defaults 2.5 / 2.7 / 3.4 m/s²; at 30 s reporting the terminal's own alarms are
 * the source instead, so this rule stays silent there).
 *
 * Only a step between consecutive fixes with 0 < dtS ≤ `harsh.maxGapS`, both valid positions,
 * is measured:
 * - longitudinal a = Δspeed / dt: ≥ `accelMs2` is `harsh.acceleration`, ≤ −`brakeMs2` is
 *   `harsh.braking`;
 * - lateral = v · ω, v the step's mean speed (m/s), ω the heading change (wrapped to ±180°) per
 *   second in rad/s: |lateral| ≥ `cornerMs2` is `harsh.cornering`.
 *
 * Consecutive over-threshold steps of one kind are one manoeuvre, emitted as a single `instant`
 * event spanning from the fix before its first step to the fix ending its last step, once a
 * step of that kind is under the threshold again (or the data stops being ≥ 1 Hz, or the
 * engine's tick finds the vehicle silent). One emission per manoeuvre, with no start left
 * without an end, for something that lasts a few seconds. data: `peakMs2` (magnitude, always
 * positive), `durationS`, `fromSpeedKmh`, `toSpeedKmh`. WARNING; `late` is the first step's.
 */
import { instantEvent } from './event.js';
import type { Thresholds } from './thresholds.js';
import { Severity, type EventOut, type Fix, type Rule } from './types.js';

/** One kind's manoeuvre in progress (a fixed object per kind, rewritten in place). */
export interface HarshRun {
  on: boolean;
  fromMs: number;
  fromLat: number;
  fromLon: number;
  fromSpeedKmh: number;
  toMs: number;
  toLat: number;
  toLon: number;
  toSpeedKmh: number;
  peakMs2: number;
  late: boolean;
}

export interface HarshState {
  acceleration: HarshRun;
  braking: HarshRun;
  cornering: HarshRun;
}

const DEG = Math.PI / 180;
/** Wall-clock slack past `maxGapS` before the tick ends a manoeuvre (network jitter). */
const TICK_GRACE_MS = 10_000;

const idle = (): HarshRun => ({
  on: false, fromMs: 0, fromLat: 0, fromLon: 0, fromSpeedKmh: 0, toMs: 0, toLat: 0, toLon: 0, toSpeedKmh: 0, peakMs2: 0, late: false,
});

export const harshRule: Rule<HarshState> = {
  name: 'harsh',

  init: () => ({ acceleration: idle(), braking: idle(), cornering: idle() }),

  onFix(s: HarshState, f: Fix, t: Thresholds, out: EventOut): void {
    const dt = f.dtS;
    if (!(dt > 0 && dt <= t.harsh.maxGapS) || !f.located) {
      // Not ≥ 1 Hz here: nothing to measure, and a manoeuvre in progress cannot go on.
      flushAll(s, f.terminal, out);
      return;
    }
    const a = (f.speedKmh - f.prevSpeedKmh) / 3.6 / dt;
    let turn = f.direction - f.prevDirection;
    turn = ((((turn + 180) % 360) + 360) % 360) - 180;
    const lateral = Math.abs((((f.speedKmh + f.prevSpeedKmh) / 7.2) * turn * DEG) / dt);
    step(s.acceleration, a >= t.harsh.accelMs2, a, f, 'harsh.acceleration', out);
    step(s.braking, a <= -t.harsh.brakeMs2, -a, f, 'harsh.braking', out);
    step(s.cornering, lateral >= t.harsh.cornerMs2, lateral, f, 'harsh.cornering', out);
  },

  onTick(s: HarshState, nowMs: number, last: Fix | null, t: Thresholds, out: EventOut): void {
    // The vehicle went silent mid-manoeuvre (a crash, a dead unit): report what was seen.
    if (last !== null && nowMs - last.receivedMs > t.harsh.maxGapS * 1000 + TICK_GRACE_MS) flushAll(s, last.terminal, out);
  },
};

function step(run: HarshRun, over: boolean, magnitude: number, f: Fix, kind: string, out: EventOut): void {
  if (over) {
    if (!run.on) {
      run.on = true;
      run.fromMs = f.prevTimeMs;
      run.fromLat = f.prevLat;
      run.fromLon = f.prevLon;
      run.fromSpeedKmh = f.prevSpeedKmh;
      run.peakMs2 = magnitude;
      run.late = f.late;
    } else if (magnitude > run.peakMs2) run.peakMs2 = magnitude;
    run.toMs = f.timeMs;
    run.toLat = f.lat;
    run.toLon = f.lon;
    run.toSpeedKmh = f.speedKmh;
  } else if (run.on) flush(run, f.terminal, kind, out);
}

function flushAll(s: HarshState, terminal: string, out: EventOut): void {
  if (s.acceleration.on) flush(s.acceleration, terminal, 'harsh.acceleration', out);
  if (s.braking.on) flush(s.braking, terminal, 'harsh.braking', out);
  if (s.cornering.on) flush(s.cornering, terminal, 'harsh.cornering', out);
}

function flush(run: HarshRun, terminal: string, kind: string, out: EventOut): void {
  run.on = false;
  out.emit(instantEvent(
    terminal, 'harsh', kind, Severity.WARNING, { timeMs: run.toMs, lat: run.toLat, lon: run.toLon }, run.late,
    { peakMs2: run.peakMs2, durationS: (run.toMs - run.fromMs) / 1000, fromSpeedKmh: run.fromSpeedKmh, toSpeedKmh: run.toSpeedKmh },
    '', { timeMs: run.fromMs, lat: run.fromLat, lon: run.fromLon },
  ));
}
