/**
 * Overspeed (domain.md, "Driving-behaviour defaults": over the limit of the vehicle, the road or
 * a geofence for ≥ 10 s).
 *
 * The limit at a fix is the lowest of the vehicle's `overspeed.limitKmh` and the `speedLimitKmh`
 * of every fence (or corridor segment) holding it. A run starts at the first fix over its limit
 * and stays *pending* while every fix is over; a pending run that falls back to the limit is
 * dropped without a trace. Once it has lasted `minDurationS` it is emitted (`start`, back-dated
 * to the first fix). It then ends at the first fix at or below limit − `hysteresisKmh` (that
 * fix is the end point); fixes between limit − hysteresis and the limit keep it open, so a
 * speed hovering at the limit is one event, not a flapping series.
 *
 * data: `limitKmh` (the lowest limit in force while open) and `fenceId` (present when a fence
 * set that limit), `maxSpeedKmh`, `distanceM` (sum of the steps after the first fix, the pending
 * part included), `durationS`. Severity WARNING, CRITICAL once any fix ran at ≥ 1.5 × the limit
 * in force there (the end emission carries the final severity). `late` is the first fix's.
 *
 * Fixes without a valid position (status bit 1 clear) are skipped: their speed is not a
 * measurement, and a tunnel's dropout should neither end nor extend a run.
 */
import { closeEvent, openEvent, pointOf } from './event.js';
import type { Thresholds } from './thresholds.js';
import { Severity, type EventOut, type Fix, type Rule, type RuleEvent } from './types.js';

type OverspeedData = { limitKmh: number; maxSpeedKmh: number; distanceM: number; durationS: number; fenceId?: string };
type OpenOverspeed = RuleEvent & { data: OverspeedData };

export interface OverspeedState {
  /** The current run over the limit, pending or emitted; null when under the limit. */
  run: OpenOverspeed | null;
  /** The run's start has been emitted (it lasted `minDurationS`). */
  confirmed: boolean;
}

/** A speed this many times the limit makes the event critical. */
const CRITICAL_FACTOR = 1.5;

export const overspeedRule: Rule<OverspeedState> = {
  name: 'overspeed',

  init: () => ({ run: null, confirmed: false }),

  onFix(s: OverspeedState, f: Fix, t: Thresholds, out: EventOut): void {
    if (!f.located) return;
    // The lowest limit wins: a school zone's 40 km/h overrides the vehicle's 120 km/h.
    let limit = t.overspeed.limitKmh;
    let fenceId: string | null = null;
    const hits = f.fences;
    for (let i = 0; i < hits.length; i++) {
      const l = hits[i]!.speedLimitKmh;
      if (l !== undefined && l < limit) {
        limit = l;
        fenceId = hits[i]!.fence.id;
      }
    }
    const speed = f.speedKmh;
    const run = s.run;

    if (run === null) {
      if (speed <= limit) return;
      const data: OverspeedData = { limitKmh: limit, maxSpeedKmh: speed, distanceM: 0, durationS: 0 };
      if (fenceId !== null) data.fenceId = fenceId;
      const severity = speed >= CRITICAL_FACTOR * limit ? Severity.CRITICAL : Severity.WARNING;
      s.run = openEvent(f.terminal, 'overspeed', 'overspeed', severity, pointOf(f), f.late, data) as OpenOverspeed;
      s.confirmed = false;
      confirm(s, s.run, t, out); // minDurationS 0: emitted at once
      return;
    }

    if (!s.confirmed) {
      // "Over the limit continuously": a pending run that falls back to the limit never happened.
      if (speed <= limit) {
        s.run = null;
        return;
      }
    } else if (speed <= limit - t.overspeed.hysteresisKmh) {
      const d = run.data;
      d.distanceM += f.stepM;
      d.durationS = (f.timeMs - run.start.timeMs) / 1000;
      out.emit(closeEvent(run, pointOf(f)));
      s.run = null;
      s.confirmed = false;
      return;
    }

    const d = run.data;
    d.distanceM += f.stepM;
    d.durationS = (f.timeMs - run.start.timeMs) / 1000;
    if (speed > d.maxSpeedKmh) d.maxSpeedKmh = speed;
    if (limit < d.limitKmh) {
      d.limitKmh = limit;
      if (fenceId !== null) d.fenceId = fenceId;
      else delete d.fenceId; // the vehicle's own limit was lowered by an override
    }
    if (speed >= CRITICAL_FACTOR * limit) run.severity = Severity.CRITICAL;
    if (!s.confirmed) confirm(s, run, t, out);
  },
};

function confirm(s: OverspeedState, run: OpenOverspeed, t: Thresholds, out: EventOut): void {
  if (run.data.durationS < t.overspeed.minDurationS) return;
  s.confirmed = true;
  // A copy: the engine keeps what it is given, and the run's data goes on changing.
  out.emit({ ...run, data: { ...run.data } });
}
