import { describe, expect, it } from 'vitest';
import type { RuleInput } from '../src/rules/fix.js';
import { geofenceRule } from '../src/rules/geofence.js';
import { FenceIndex, type Fence, type LonLat } from '../src/rules/geo/index.js';
import type { RuleEvent } from '../src/rules/types.js';
import { drive, runRule, T0, TERMINAL, type Leg } from './support/rules.js';

const pt = (p: RuleInput) => ({ timeMs: p.time, lat: p.latitude, lon: p.longitude });
const lonLat = (p: RuleInput): LonLat => [p.longitude, p.latitude];
const mid = (a: RuleInput, b: RuleInput): number => (a.longitude + b.longitude) / 2;
const M_LAT = 111_195;

/**
 * East at 36 km/h, a fix every 10 s: fix k is 100·k m east of the start, at T0 + 10·k s (on
 * one parallel). Fences are drawn around these fixes, with boundaries between them.
 */
const LINE = drive([{ seconds: 300, speedKmh: 36, everyS: 10 }]);
const at = (k: number) => LINE[k]!;

function run(fences: Fence[], inputs: RuleInput[], thresholds = {}, state?: unknown) {
  const index = new FenceIndex(fences);
  return { index, ...runRule(geofenceRule(index), inputs, { fences: index, thresholds, state }) };
}

/** The expected emissions of an entry (first fix inside `k0`) and an exit (first fix outside `k1`). */
function visit(f: Fence, inputs: RuleInput[], k0: number, k1: number | null, severity: number, late = false): RuleEvent[] {
  const start: RuleEvent = {
    id: `${TERMINAL}/geofence.inside/${f.id}/${inputs[k0]!.time}`, terminal: TERMINAL, rule: 'geofence', kind: 'geofence.inside',
    severity: severity as RuleEvent['severity'], phase: 'start', start: pt(inputs[k0]!), end: null, late,
    data: { fenceId: f.id, fenceKind: f.kind, fenceName: f.name },
  };
  if (k1 === null) return [start];
  return [start, { ...start, phase: 'end', end: pt(inputs[k1]!), data: { ...start.data, dwellS: (inputs[k1]!.time - inputs[k0]!.time) / 1000 } }];
}

describe('geofence.inside: enter and exit, dated at the first fix on the new side', () => {
  it('a circle (fixes 8–12 inside, 250 m radius round fix 10)', () => {
    const f: Fence = { id: 'c', name: 'Circle', kind: 'area', shape: 'circle', center: lonLat(at(10)), radiusM: 250 };
    expect(run([f], LINE).events).toEqual(visit(f, LINE, 8, 13, 0));
  });

  it('a rectangle (fixes 8–12)', () => {
    const lat = at(0).latitude;
    const f: Fence = { id: 'r', name: 'Lot', kind: 'area', shape: 'rectangle', sw: [mid(at(7), at(8)), lat - 0.001], ne: [mid(at(12), at(13)), lat + 0.001] };
    expect(run([f], LINE).events).toEqual(visit(f, LINE, 8, 13, 0));
  });

  it('a polygon with a hole: driving through the hole is an exit, then an entry', () => {
    const lat = at(0).latitude, box = (w: number, e: number, h: number): LonLat[] => [[w, lat - h], [e, lat - h], [e, lat + h], [w, lat + h], [w, lat - h]];
    const f: Fence = {
      id: 'p', name: 'KTV', kind: 'forbidden', shape: 'polygon',
      geometry: { type: 'Polygon', coordinates: [box(mid(at(2), at(3)), mid(at(17), at(18)), 0.002), box(mid(at(8), at(9)), mid(at(11), at(12)), 0.001)] },
    };
    // inside at 3–8, in the hole at 9–11, inside at 12–17
    expect(run([f], LINE).events).toEqual([...visit(f, LINE, 3, 9, 1), ...visit(f, LINE, 12, 18, 1)]);
  });

  it('a corridor (300 m wide, across the road at fix 10: fixes 9–11)', () => {
    const [lon, lat] = lonLat(at(10));
    const f: Fence = { id: 'k', name: 'G104', kind: 'area', shape: 'corridor', line: [[lon!, lat! - 0.02], [lon!, lat! + 0.02]], widthM: 300 };
    expect(run([f], LINE).events).toEqual(visit(f, LINE, 9, 12, 0));
  });

  it('a route corridor is not a presence by default (it serves speed limits); it is when asked for', () => {
    const [lon, lat] = lonLat(at(10));
    const f: Fence = { id: 'k', name: 'G104', kind: 'route', shape: 'corridor', line: [[lon!, lat! - 0.02], [lon!, lat! + 0.02]], widthM: 300 };
    expect(run([f], LINE).events).toEqual([]);
    const index = new FenceIndex([f]);
    expect(runRule(geofenceRule(index, { presenceKinds: ['route'] }), LINE, { fences: index }).events).toEqual(visit(f, LINE, 9, 12, 0));
  });

  it('confirmFixes 1: every change counts at once; 3: the 5-fix visit still counts; a 1-fix visit never does', () => {
    const f: Fence = { id: 'c', name: 'c', kind: 'area', shape: 'circle', center: lonLat(at(10)), radiusM: 250 };
    expect(run([f], LINE, { geofence: { confirmFixes: 1 } }).events).toEqual(visit(f, LINE, 8, 13, 0));
    expect(run([f], LINE, { geofence: { confirmFixes: 3 } }).events).toEqual(visit(f, LINE, 8, 13, 0));
    const small: Fence = { ...f, radiusM: 60 }; // fix 10 only
    expect(run([small], LINE, { geofence: { confirmFixes: 2 } }).events).toEqual([]);
  });

  it('late fixes (blind-area batch) raise the same events, marked late', () => {
    const f: Fence = { id: 'c', name: 'c', kind: 'area', shape: 'circle', center: lonLat(at(10)), radiusM: 250 };
    const late = drive([{ seconds: 300, speedKmh: 36, everyS: 10, blindArea: true }]);
    expect(run([f], late).events).toEqual(visit(f, late, 8, 13, 0, true));
  });

  it('a restart in the middle of a visit: one start, one end, the same id', () => {
    const f: Fence = { id: 'c', name: 'c', kind: 'area', shape: 'circle', center: lonLat(at(10)), radiusM: 250 };
    const first = run([f], LINE.slice(0, 11));
    expect(first.state.fences.map((f) => [f.id, f.in])).toEqual([['c', true]]);
    const rest = run([f], LINE.slice(11), {}, first.state);
    expect([...first.events, ...rest.events]).toEqual(visit(f, LINE, 8, 13, 0));
  });

  it('a fence removed while the vehicle is in it: its events close at the next fix', () => {
    const f: Fence = { id: 'c', name: 'c', kind: 'depot', shape: 'circle', center: lonLat(at(10)), radiusM: 250 };
    const index = new FenceIndex([f]), rule = geofenceRule(index);
    const first = runRule(rule, LINE.slice(0, 11), { fences: index });
    index.remove('c');
    const rest = runRule(rule, LINE.slice(11), { fences: index, state: first.state });
    const [start] = visit(f, LINE, 8, null, 0);
    expect([...first.events, ...rest.events]).toEqual([
      start, { ...start, phase: 'end', end: pt(at(11)), data: { ...start!.data, dwellS: 30, removed: true } },
    ]);
    expect(rest.state.fences).toEqual([]);
  });
});

describe('hysteresis against GNSS jitter', () => {
  const centre = lonLat(at(10));
  const f: Fence = { id: 'lot', name: 'Depot', kind: 'area', shape: 'circle', center: centre, radiusM: 100 };
  const inside: LonLat = [centre[0]!, centre[1]! + 95 / M_LAT], outside: LonLat = [centre[0]!, centre[1]! + 105 / M_LAT];
  const fixAt = (p: LonLat, s: number): RuleInput => drive([{ seconds: 0, speedKmh: 0 }], p, T0 + s * 1000)[0]!;

  it('in and out on every fix: nothing; then three fixes inside: one entry at the first of them', () => {
    const jitter = Array.from({ length: 12 }, (_, i) => fixAt(i % 2 === 0 ? outside : inside, i * 30));
    expect(run([f], jitter).events).toEqual([]);
    const settled = [...jitter, fixAt(inside, 360), fixAt(inside, 390), fixAt(inside, 420)];
    // fix 11 (330 s) is inside, fix 12 (360 s) too: the entry is dated at fix 11
    expect(run([f], settled).events).toEqual(visit(f, settled, 11, null, 0));
  });

  it('inside, then jitter out and back: no exit', () => {
    const inputs = [0, 30, 60].map((s) => fixAt(inside, s)).concat([fixAt(outside, 90), fixAt(inside, 120), fixAt(outside, 150), fixAt(inside, 180)]);
    expect(run([f], inputs).events).toEqual(visit(f, inputs, 0, null, 0));
  });
});

describe('geofence.dwell (forbidden places and depots)', () => {
  const centre = lonLat(at(10));
  const f: Fence = { id: 'spa', name: 'Hot spring', kind: 'forbidden', shape: 'circle', center: centre, radiusM: 100 };
  const away: LonLat = [centre[0]! + 0.01, centre[1]!];
  /** Outside at 0 and 30 s, inside from 60 s for `minutes`, outside again after. */
  const stay = (minutes: number): RuleInput[] => {
    const legs: RuleInput[] = [];
    for (let s = 0; s <= 60 + minutes * 60 + 60; s += 30) {
      const inside = s >= 60 && s <= 60 + minutes * 60;
      legs.push(drive([{ seconds: 0, speedKmh: 0 }], inside ? centre : away, T0 + s * 1000)[0]!);
    }
    return legs;
  };

  it('4 minutes inside: no dwell', () => {
    const inputs = stay(4); // inside 60–300 s, out at 330 s
    expect(run([f], inputs).events).toEqual(visit(f, inputs, 2, 11, 1));
  });

  it('6 minutes inside: one dwell, back-dated to the entry, ending with the exit', () => {
    const inputs = stay(6); // inside 60–420 s, out at 450 s; 300 s reached at 360 s
    const [start, end] = visit(f, inputs, 2, 15, 1);
    const dwell = { ...start!, id: `${TERMINAL}/geofence.dwell/spa/${T0 + 60_000}`, kind: 'geofence.dwell' };
    const events = run([f], inputs).events;
    expect(events).toEqual([start, dwell, end, { ...dwell, phase: 'end', end: end!.end, data: end!.data }]);
    expect(end!.data.dwellS).toBe(390);
  });

  it('follows geofence.dwellS; areas never dwell', () => {
    const inputs = stay(4);
    expect(run([f], inputs, { geofence: { dwellS: 120 } }).events.map((e) => [e.kind, e.phase])).toEqual([
      ['geofence.inside', 'start'], ['geofence.dwell', 'start'], ['geofence.inside', 'end'], ['geofence.dwell', 'end'],
    ]);
    expect(run([{ ...f, kind: 'area' }], stay(6)).events.map((e) => e.kind)).toEqual(['geofence.inside', 'geofence.inside']);
  });
});

describe('geofence.crossed', () => {
  // 72 km/h, a fix every 30 s: 600 m between fixes; a 30 m circle half-way between fixes 2 and 3
  const legs: Leg[] = [{ seconds: 180, speedKmh: 72, everyS: 30 }];
  const inputs = drive(legs);
  const centre: LonLat = [mid(inputs[2]!, inputs[3]!), inputs[2]!.latitude];
  const f: Fence = { id: 'ktv', name: 'KTV', kind: 'forbidden', shape: 'circle', center: centre, radiusM: 30 };

  it('a small fence between two 30-s fixes: one instant event from the fix before to the fix after', () => {
    expect(run([f], inputs).events).toEqual([{
      id: `${TERMINAL}/geofence.crossed/ktv/${inputs[2]!.time}`, terminal: TERMINAL, rule: 'geofence', kind: 'geofence.crossed',
      severity: 1, phase: 'instant', start: pt(inputs[2]!), end: pt(inputs[3]!), late: false,
      data: { fenceId: 'ktv', fenceKind: 'forbidden', fenceName: 'KTV', gapS: 30 },
    }]);
    expect(run([{ ...f, kind: 'area' }], inputs).events.map((e) => [e.kind, e.severity])).toEqual([['geofence.crossed', 0]]);
  });

  it('not between fixes closer than minCrossStepM (50 m): a fence that fits there is within the fixes\' GNSS error', () => {
    // 36 km/h, a fix a second: 10 m apart; a 3 m circle between two of them, beside the road
    const close = drive([{ seconds: 20, speedKmh: 36, everyS: 1 }]);
    const tiny: Fence = { ...f, id: 'pole', center: [mid(close[5]!, close[6]!), close[5]!.latitude], radiusM: 3 };
    expect(run([tiny], close).events).toEqual([]);
    expect(run([tiny], close, { geofence: { minCrossStepM: 5 } }).events.map((e) => [e.kind, e.start.timeMs])).toEqual([['geofence.crossed', close[5]!.time]]);
  });

  it('only for the index\'s crossing kinds: a depot or a road corridor crossed between fixes is not news', () => {
    expect(run([{ ...f, kind: 'depot' }], inputs).events).toEqual([]);
    const index = new FenceIndex([{ ...f, kind: 'depot' }], { crossingKinds: ['depot'] });
    expect(runRule(geofenceRule(index), inputs, { fences: index }).events.map((e) => e.kind)).toEqual(['geofence.crossed']);
  });

  it('not when the gap exceeds maxCrossGapS, nor when the segment passes beside the fence', () => {
    expect(run([f], inputs, { geofence: { maxCrossGapS: 29 } }).events).toEqual([]);
    expect(run([{ ...f, center: [centre[0]!, centre[1]! + 40 / M_LAT] }], inputs).events).toEqual([]);
  });
});

describe('time windows', () => {
  it('a fence active 08:00–18:00 China time: a vehicle parked in it since 07:58 enters at 08:00', () => {
    const chinaTime = (iso: string): number => Date.parse(`${iso}+08:00`);
    const centre = lonLat(at(10));
    const f: Fence = {
      id: 'office', name: 'Office lot', kind: 'depot', shape: 'circle', center: centre, radiusM: 100,
      timeWindows: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' }],
    };
    const parked = drive([{ seconds: 300, speedKmh: 0, everyS: 30 }], centre, chinaTime('2026-11-30T07:58:00')); // a Monday
    const events = run([f], parked).events;
    expect(events).toEqual(visit(f, parked, 4, null, 0));
    expect(events[0]!.start.timeMs).toBe(chinaTime('2026-11-30T08:00:00'));
    const evening = drive([{ seconds: 300, speedKmh: 0, everyS: 30 }], centre, chinaTime('2026-11-30T17:58:00'));
    // inside from 17:58 (entry at the first fix); the window closes at 18:00: exit there
    expect(run([f], evening).events).toEqual(visit(f, evening, 0, 4, 0));
  });
});

describe('state', () => {
  it('stays empty while nothing is near, and holds only the fences the vehicle is in', () => {
    const far: Fence = { id: 'far', name: 'far', kind: 'area', shape: 'circle', center: [118, 37], radiusM: 100 };
    const { state, events } = run([far], LINE);
    expect(events).toEqual([]);
    expect(state).toEqual({ fences: [], seq: 0, lt: LINE[LINE.length - 1]!.time, la: LINE[LINE.length - 1]!.latitude, lo: LINE[LINE.length - 1]!.longitude });
  });
});
