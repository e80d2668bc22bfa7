/**
 * Idling (domain.md, "Driving-behaviour defaults": ACC on, speed 0, for ≥ 10 min).
 *
 * A fix is idle when ACC is on and the vehicle is not moving (speed under `movingMinKmh`, since
 * a parked GNSS reads a few km/h of drift, not 0). An idle run starts at its first idle fix;
 * once it has lasted `idling.minS` an `idling` event (INFO) is emitted, back-dated to that fix,
 * and it ends at the first fix that is not idle (ACC off or moving), which is the end point.
 * A shorter run leaves no trace. data: `durationS` (to the latest idle fix while open; start to
 * end at the end). `late` is the first idle fix's.
 *
 * A vehicle that goes silent while idling (no data for the offline rule's `intervals` ×
 * `reportIntervalS`) has its event ended by the sweep at its last idle fix: the silence is not
 * counted as idling (the offline rule reports it).
 */
import { closeEvent, openEvent, pointOf } from './event.js';
import type { Thresholds } from './thresholds.js';
import { Severity, type EventOut, type Fix, type Rule, type RuleEvent } from './types.js';

type IdlingData = { durationS: number };
type OpenIdling = RuleEvent & { data: IdlingData };

export interface IdlingState {
  /** The current idle run, pending or emitted; null when not idle. */
  run: OpenIdling | null;
  /** The run's start has been emitted (it lasted `minS`). */
  confirmed: boolean;
}

export const idlingRule: Rule<IdlingState> = {
  name: 'idling',

  init: () => ({ run: null, confirmed: false }),

  onFix(s: IdlingState, f: Fix, t: Thresholds, out: EventOut): void {
    const run = s.run;
    if (!(f.acc && !f.moving)) {
      if (run === null) return;
      if (s.confirmed) out.emit(closeEvent(run, pointOf(f), { durationS: (f.timeMs - run.start.timeMs) / 1000 }));
      s.run = null;
      s.confirmed = false;
      return;
    }
    if (run === null) {
      s.run = openEvent(f.terminal, 'idling', 'idling', Severity.INFO, pointOf(f), f.late, { durationS: 0 }) as OpenIdling;
      s.confirmed = false;
      if (t.idling.minS <= 0) confirm(s, s.run, out);
      return;
    }
    run.data.durationS = (f.timeMs - run.start.timeMs) / 1000;
    if (!s.confirmed && run.data.durationS >= t.idling.minS) confirm(s, run, out);
  },

  onTick(s: IdlingState, nowMs: number, last: Fix | null, t: Thresholds, out: EventOut): void {
    const run = s.run;
    if (run === null || last === null || nowMs - last.receivedMs <= t.offline.intervals * t.offline.reportIntervalS * 1000) return;
    // The last fix was idle (a run is open): the event ends there.
    if (s.confirmed) out.emit(closeEvent(run, pointOf(last), { durationS: (last.timeMs - run.start.timeMs) / 1000 }));
    s.run = null;
    s.confirmed = false;
  },
};

function confirm(s: IdlingState, run: OpenIdling, out: EventOut): void {
  s.confirmed = true;
  out.emit({ ...run, data: { ...run.data } }); // a copy: the open one's data goes on changing
}
