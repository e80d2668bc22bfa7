/**
 * Geofence events: entering, staying in and leaving fences, and fences passed through between
 * two fixes. The raw input is `fix.fences` (the fences holding the position at its time, time
 * windows applied); the rule adds hysteresis against GNSS jitter and remembers, per vehicle, only
 * the fences it is in or about to enter.
 *
 * Events (rule 'geofence', key = fence id; data: fenceId, fenceKind, fenceName), for the fences of
 * the presence kinds (DEFAULT_PRESENCE_KINDS: all but route corridors) and, for crossings, of the
 * index's crossing kinds (forbidden places and areas by default):
 * - `geofence.inside` — start when the vehicle enters a fence, end when it leaves (data.dwellS
 *   at the end: seconds from entry to exit). WARNING for a forbidden place, INFO otherwise.
 * - `geofence.dwell` — forbidden places (WARNING) and depots (INFO): opens once the vehicle has
 *   been inside continuously for `geofence.dwellS`, start back-dated to the entry, so its id is
 *   stable; ends with the exit (data.dwellS as above). domain.md: "forbidden place … dwell ≥ 5 min".
 * - `geofence.crossed` — instant (start = the fix before, end = the fix after; data.gapS): a fence
 *   that holds neither of two consecutive located fixes (0 < gap ≤ `geofence.maxCrossGapS`, at least
 *   `geofence.minCrossStepM` apart) while
 *   the straight segment between them passes through it (FenceIndex.crossedBy; time windows at the
 *   midpoint of the two times). INFO; WARNING for a forbidden place. It is not an entry: no
 *   inside/dwell events follow from it. This check runs on every located fix that moved and is
 *   the rule's main cost (one grid query, ≈ 1–2 µs with the 10,000 fences of bench/rules-geo);
 *   `maxCrossGapS: 0` turns it off.
 *
 * Hysteresis: entering or leaving counts after `geofence.confirmFixes` consecutive fixes on the
 * new side, and is dated at the FIRST of them (the event is emitted at the last). A vehicle
 * jittering across a boundary, one fix in and one out, raises nothing; neither does a single fix
 * inside a fence (nor a crossing: that fix is in the fence). A fence removed from the index while
 * the vehicle is in it has its events closed at the next fix (data.removed: true). Unlocated
 * fixes are skipped. An emission's `late` is that of the fix that caused it.
 */
import type { Fence, FenceHit, FenceIndex, FenceKind } from './geo/index.js';
import { eventId, instantEvent } from './event.js';
import type { Thresholds } from './thresholds.js';
import { Severity, type EventOut, type EventPoint, type Fix, type Rule, type RuleEvent } from './types.js';

/** A fence the vehicle is in, or has just entered and not yet for `confirmFixes` fixes. */
export interface FenceTrack {
  id: string;
  /** Confirmed inside: a `geofence.inside` event is open. */
  in: boolean;
  /** Consecutive fixes on the other side of the boundary so far (0: none). */
  n: number;
  /** The first of those fixes: device time, lat, lon. */
  pt: number; pla: number; plo: number;
  /** The entry (start of the open events): device time, lat, lon, late flag of its emission. */
  st: number; sla: number; slo: number; sl: boolean;
  /** A `geofence.dwell` event is open. */
  dw: boolean;
  kind: FenceKind;
  name: string;
  /** `seq` of the last fix that was in the fence. */
  seen: number;
}

export interface GeofenceState {
  /** The fences the vehicle is in or entering (a handful: an array beats a keyed object here). */
  fences: FenceTrack[];
  /** Located fixes seen (marks which tracks the current fix holds). */
  seq: number;
  /** The last located fix: device time (−1: none), lat, lon. */
  lt: number; la: number; lo: number;
}

const RULE = 'geofence';
const INSIDE = 'geofence.inside', DWELL = 'geofence.dwell';
const insideSeverity = (k: FenceKind): Severity => (k === 'forbidden' ? Severity.WARNING : Severity.INFO);
const dwellSeverity = (k: FenceKind): Severity => (k === 'forbidden' ? Severity.WARNING : Severity.INFO);
const dwells = (k: FenceKind): boolean => k === 'forbidden' || k === 'depot';
/** Named to crossedBy: none (the fences holding an end are told apart afterwards, see checkCrossing). */
const NONE: readonly string[] = [];

/**
 * The kinds whose presence is an event. Route corridors are left out by default: they carry road
 * speed limits (the overspeed rule reads them from every fix) and, with a dispatch order, the
 * route a vehicle must keep to; an inside event per corridor a vehicle touches would be one per
 * road it drives on.
 */
export const DEFAULT_PRESENCE_KINDS: readonly FenceKind[] = ['jurisdiction', 'depot', 'forbidden', 'area'];

export function geofenceRule(index: FenceIndex, opts: { presenceKinds?: readonly FenceKind[] } = {}): Rule<GeofenceState> {
  const presence = new Set(opts.presenceKinds ?? DEFAULT_PRESENCE_KINDS);
  // Asked for every hit of every fix (≈ 11 with the bench fences, most of them road corridors):
  // comparisons with the kind literals, not a hash lookup.
  const pJurisdiction = presence.has('jurisdiction'), pDepot = presence.has('depot'), pForbidden = presence.has('forbidden');
  const pArea = presence.has('area'), pRoute = presence.has('route');
  const present = (k: FenceKind): boolean =>
    k === 'route' ? pRoute : k === 'jurisdiction' ? pJurisdiction : k === 'depot' ? pDepot : k === 'forbidden' ? pForbidden : k === 'area' ? pArea : presence.has(k);
  const crossed: FenceHit[] = [];

  /** The start emission of a track's inside or dwell event. */
  const opening = (terminal: string, kind: string, id: string, tr: FenceTrack, late: boolean): RuleEvent => ({
    id: eventId(terminal, kind, id, tr.st), terminal, rule: RULE, kind, severity: kind === INSIDE ? insideSeverity(tr.kind) : dwellSeverity(tr.kind),
    phase: 'start', start: { timeMs: tr.st, lat: tr.sla, lon: tr.slo }, end: null, late, data: { fenceId: id, fenceKind: tr.kind, fenceName: tr.name },
  });
  /** The end emission of a track's open inside or dwell event (what closeEvent makes of the start emission, built in one go). */
  const closing = (terminal: string, kind: string, id: string, tr: FenceTrack, end: EventPoint, late: boolean, removed: boolean): RuleEvent => ({
    id: eventId(terminal, kind, id, tr.st), terminal, rule: RULE, kind, severity: kind === INSIDE ? insideSeverity(tr.kind) : dwellSeverity(tr.kind),
    phase: 'end', start: { timeMs: tr.st, lat: tr.sla, lon: tr.slo }, end, late,
    data: removed
      ? { fenceId: id, fenceKind: tr.kind, fenceName: tr.name, dwellS: (end.timeMs - tr.st) / 1000, removed: true }
      : { fenceId: id, fenceKind: tr.kind, fenceName: tr.name, dwellS: (end.timeMs - tr.st) / 1000 },
  });

  function enter(tr: FenceTrack, id: string, fix: Fix, t: Thresholds, out: EventOut): void {
    tr.in = true;
    tr.n = 0;
    tr.st = tr.pt; tr.sla = tr.pla; tr.slo = tr.plo; tr.sl = fix.late;
    out.emit(opening(fix.terminal, INSIDE, id, tr, tr.sl));
    checkDwell(tr, id, fix, t, out);
  }

  function checkDwell(tr: FenceTrack, id: string, fix: Fix, t: Thresholds, out: EventOut): void {
    if (tr.dw || !dwells(tr.kind) || fix.timeMs - tr.st < t.geofence.dwellS * 1000) return;
    tr.dw = true;
    out.emit(opening(fix.terminal, DWELL, id, tr, fix.late));
  }

  /** Closes the open events of `tr` at the given point. */
  function leave(tr: FenceTrack, id: string, fix: Fix, timeMs: number, lat: number, lon: number, removed: boolean, out: EventOut): void {
    const end = { timeMs, lat, lon };
    out.emit(closing(fix.terminal, INSIDE, id, tr, end, fix.late, removed));
    if (tr.dw) out.emit(closing(fix.terminal, DWELL, id, tr, end, fix.late, removed));
  }

  function checkCrossing(state: GeofenceState, fix: Fix, t: Thresholds, out: EventOut): void {
    const gapS = (fix.timeMs - state.lt) / 1000;
    if (state.lt < 0 || !(gapS > 0 && gapS <= t.geofence.maxCrossGapS)) return;
    if (fix.stepM < t.geofence.minCrossStepM) return;
    // A vehicle that has not moved passed through nothing (a zero-length segment only meets the
    // fences holding its end, which are not crossings).
    if (fix.lon === state.lo && fix.lat === state.la) return;
    // The fences holding either fix are not named to the query: naming them costs an id lookup
    // for every fence the vehicle is in, on every fix, while a held fence the segment does meet
    // (an entry or an exit) is rare and is told apart below like any other.
    const n = index.crossedBy(state.lo, state.la, fix.lon, fix.lat, state.lt + (fix.timeMs - state.lt) / 2, crossed, NONE);
    if (n === 0) return;
    const tracks = state.fences;
    for (let i = 0; i < n; i++) {
      const f = crossed[i]!.fence;
      // a fence holding this fix or the one before (it has a track) is entered or left, not crossed
      if (holds(fix.fences, f) || trackOf(tracks, f.id) !== undefined) continue;
      out.emit(instantEvent(
        fix.terminal, RULE, 'geofence.crossed', f.kind === 'forbidden' ? Severity.WARNING : Severity.INFO,
        { timeMs: fix.timeMs, lat: fix.lat, lon: fix.lon }, fix.late, { fenceId: f.id, fenceKind: f.kind, fenceName: f.name, gapS },
        f.id, { timeMs: state.lt, lat: state.la, lon: state.lo },
      ));
    }
  }

  return {
    name: RULE,
    init: () => ({ fences: [], seq: 0, lt: -1, la: 0, lo: 0 }),
    onFix(state, fix, t, out): void {
      if (!fix.located) return;
      if (index.size > 0) checkCrossing(state, fix, t, out);
      state.lt = fix.timeMs; state.la = fix.lat; state.lo = fix.lon;
      const hits = fix.fences, tracks = state.fences;
      if (hits.length === 0 && tracks.length === 0) return;
      const seq = ++state.seq, confirm = t.geofence.confirmFixes;
      let held = 0, next = 0;
      for (let i = 0; i < hits.length; i++) {
        const fence = hits[i]!.fence, id = fence.id;
        if (!present(fence.kind)) continue;
        // The tracks tend to be in the order of the hits (made from them): try the one after the
        // last match before searching.
        let tr: FenceTrack | undefined;
        if (next < tracks.length && tracks[next]!.id === id) tr = tracks[next++];
        else {
          const k = trackIndex(tracks, id);
          if (k >= 0) { tr = tracks[k]; next = k + 1; }
        }
        if (tr === undefined) {
          tr = {
            id, in: false, n: 1, pt: fix.timeMs, pla: fix.lat, plo: fix.lon, st: 0, sla: 0, slo: 0, sl: false, dw: false,
            kind: fence.kind, name: fence.name, seen: seq,
          };
          tracks.push(tr);
          held++;
          if (confirm <= 1) enter(tr, id, fix, t, out);
          continue;
        }
        if (tr.seen === seq) continue; // listed twice
        tr.seen = seq;
        held++;
        if (tr.in) {
          tr.n = 0; // back inside before the exit was confirmed: jitter
          checkDwell(tr, id, fix, t, out);
        } else if (++tr.n >= confirm) {
          enter(tr, id, fix, t, out);
        }
      }
      if (held === tracks.length) return;
      for (let i = tracks.length - 1; i >= 0; i--) {
        const tr = tracks[i]!, id = tr.id;
        if (tr.seen === seq) continue;
        let done = true;
        if (!tr.in) { // the entry was not confirmed
        } else if (!index.has(id)) {
          leave(tr, id, fix, fix.timeMs, fix.lat, fix.lon, true, out);
        } else {
          if (tr.n === 0) { tr.pt = fix.timeMs; tr.pla = fix.lat; tr.plo = fix.lon; }
          done = ++tr.n >= confirm;
          if (done) leave(tr, id, fix, tr.pt, tr.pla, tr.plo, false, out);
        }
        if (done) { tracks[i] = tracks[tracks.length - 1]!; tracks.length--; }
      }
    },
  };
}

function trackOf(tracks: readonly FenceTrack[], id: string): FenceTrack | undefined {
  for (let i = 0; i < tracks.length; i++) if (tracks[i]!.id === id) return tracks[i];
  return undefined;
}

function trackIndex(tracks: readonly FenceTrack[], id: string): number {
  for (let i = 0; i < tracks.length; i++) if (tracks[i]!.id === id) return i;
  return -1;
}

/** Whether a hit is of fence `f` (the fix's hits and crossedBy's come from the same index: one object per fence). */
function holds(hits: readonly FenceHit[], f: Fence): boolean {
  for (let i = 0; i < hits.length; i++) if (hits[i]!.fence === f) return true;
  return false;
}
