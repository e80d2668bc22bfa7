import { describe, expect, it } from 'vitest';
import { fatigueRule } from '../src/rules/fatigue.js';
import type { RuleInput } from '../src/rules/fix.js';
import { FenceIndex } from '../src/rules/geo/index.js';
import { harshRule } from '../src/rules/harsh.js';
import { idlingRule } from '../src/rules/idling.js';
import { nightDrivingRule } from '../src/rules/night.js';
import { overspeedRule } from '../src/rules/overspeed.js';
import type { Rule, RuleEvent } from '../src/rules/types.js';
import { T0, TERMINAL, drive, runRule, type Leg, type RunOptions } from './support/rules.js';

// Scenarios per rule, with the exact events each must raise (thresholds: DEFAULT_THRESHOLDS,
// domain.md "Driving-behaviour defaults", unless a test overrides them). T0 is 09:00 China time.

/** Epoch ms T0 + `s` seconds. */
const at = (s: number): number => T0 + s * 1000;
/** Epoch ms of a China-time (UTC+8) wall clock. */
const chinaTime = (iso: string): number => Date.parse(`${iso}+08:00`);

/** What identifies an emission: kind, phase, start and end times. */
const shape = (e: RuleEvent) => ({ kind: e.kind, phase: e.phase, start: e.start.timeMs, end: e.end?.timeMs ?? null });

/** Runs the inputs in two halves, the second from the first's checkpointed state (a restart). */
function runSplit<S>(rule: Rule<S>, inputs: RuleInput[], splitAt: number, o: RunOptions = {}) {
  const first = runRule(rule, inputs.slice(0, splitAt), o);
  const second = runRule(rule, inputs.slice(splitAt), { ...o, state: first.state });
  return { first: first.events, second: second.events, all: [...first.events, ...second.events] };
}

const kmh = (v: number): number => v / 3.6;

// ---------------------------------------------------------------------------------------------

describe('overspeed', () => {
  // Fixes at 1 Hz: 100 km/h at 0…30 s, 130 at 31…50 s, 100 at 51…80 s.
  const over20s: Leg[] = [{ seconds: 30, speedKmh: 100 }, { seconds: 20, speedKmh: 130 }, { seconds: 30, speedKmh: 100 }];

  it('over the limit for 20 s: start back-dated to the first fix over, emitted at 10 s; end at the first fix ≤ limit − hysteresis', () => {
    const { events } = runRule(overspeedRule, drive(over20s));
    expect(events.map(shape)).toEqual([
      { kind: 'overspeed', phase: 'start', start: at(31), end: null },
      { kind: 'overspeed', phase: 'end', start: at(31), end: at(51) },
    ]);
    const [start, end] = events as [RuleEvent, RuleEvent];
    expect(start).toMatchObject({ id: `${TERMINAL}/overspeed/${at(31)}`, rule: 'overspeed', severity: 1, late: false, terminal: TERMINAL });
    expect(start.data).toMatchObject({ limitKmh: 120, maxSpeedKmh: 130, durationS: 10 });
    expect(start.data.distanceM).toBeCloseTo(10 * kmh(130), 1);
    expect(end.id).toBe(start.id);
    expect(end.data).toMatchObject({ limitKmh: 120, maxSpeedKmh: 130, durationS: 20 });
    // 19 steps at 130 after the first fix, and the step to the end fix at 100.
    expect(end.data.distanceM).toBeCloseTo(19 * kmh(130) + kmh(100), 1);
    expect(end.data).not.toHaveProperty('fenceId');
    expect(end.severity).toBe(1);
  });

  it('shorter than minDurationS: nothing', () => {
    const legs: Leg[] = [{ seconds: 30, speedKmh: 100 }, { seconds: 8, speedKmh: 130 }, { seconds: 30, speedKmh: 100 }];
    expect(runRule(overspeedRule, drive(legs)).events).toEqual([]);
  });

  it('a pending run that falls back to the limit (even within the hysteresis band) is dropped', () => {
    // 130 for 5 s, 118 for 3 s, 130 for 8 s: two runs of 4 s and 7 s, never one of 15 s.
    const legs: Leg[] = [
      { seconds: 30, speedKmh: 100 }, { seconds: 5, speedKmh: 130 }, { seconds: 3, speedKmh: 118 }, { seconds: 8, speedKmh: 130 }, { seconds: 10, speedKmh: 100 },
    ];
    expect(runRule(overspeedRule, drive(legs)).events).toEqual([]);
  });

  it('hovering between limit − hysteresis and the limit stays one event', () => {
    const legs: Leg[] = [
      { seconds: 30, speedKmh: 100 }, { seconds: 15, speedKmh: 130 }, { seconds: 20, speedKmh: 118 }, { seconds: 5, speedKmh: 130 }, { seconds: 10, speedKmh: 110 },
    ];
    const { events } = runRule(overspeedRule, drive(legs));
    expect(events.map(shape)).toEqual([
      { kind: 'overspeed', phase: 'start', start: at(31), end: null },
      { kind: 'overspeed', phase: 'end', start: at(31), end: at(71) },
    ]);
    expect(events[1]!.data).toMatchObject({ durationS: 40, maxSpeedKmh: 130, limitKmh: 120 });
  });

  it('≥ 1.5 × the limit makes it critical; the end carries the final severity', () => {
    const legs: Leg[] = [{ seconds: 5, speedKmh: 100 }, { seconds: 12, speedKmh: 130 }, { seconds: 3, speedKmh: 180 }, { seconds: 5, speedKmh: 100 }];
    const { events } = runRule(overspeedRule, drive(legs));
    expect(events.map((e) => [e.phase, e.severity, e.data.maxSpeedKmh])).toEqual([['start', 1, 130], ['end', 2, 180]]);
    // Just under 1.5 × stays a warning.
    const under = runRule(overspeedRule, drive([{ seconds: 5, speedKmh: 100 }, { seconds: 15, speedKmh: 179 }, { seconds: 5, speedKmh: 100 }]));
    expect(under.events.map((e) => e.severity)).toEqual([1, 1]);
  });

  it('a fence with a lower limit (40 km/h) sets it, and names the fence', () => {
    const fences = new FenceIndex([{ id: 'school', name: 'school zone', kind: 'area', shape: 'rectangle', sw: [117.002, 36.649], ne: [117.006, 36.651], speedLimitKmh: 40 }]);
    const inputs = drive([{ seconds: 60, speedKmh: 60 }]); // east along 36.65° through the rectangle
    const firstIn = inputs.findIndex((p) => p.longitude >= 117.002);
    const firstOut = inputs.findIndex((p) => p.longitude > 117.006);
    expect([firstIn, firstOut]).toEqual([11, 33]); // the fixture crosses it as intended

    const { events } = runRule(overspeedRule, inputs, { fences });
    expect(events.map(shape)).toEqual([
      { kind: 'overspeed', phase: 'start', start: at(11), end: null },
      { kind: 'overspeed', phase: 'end', start: at(11), end: at(33) },
    ]);
    expect(events[1]!.data).toMatchObject({ limitKmh: 40, fenceId: 'school', maxSpeedKmh: 60, durationS: 22 });
    expect(events[1]!.data.distanceM).toBeCloseTo(22 * kmh(60), 1);
    // 60 km/h is no overspeed without the fence.
    expect(runRule(overspeedRule, inputs).events).toEqual([]);
  });

  it('a threshold override (limitKmh 60) changes the outcome', () => {
    const inputs = drive([{ seconds: 20, speedKmh: 80 }, { seconds: 5, speedKmh: 50 }]);
    expect(runRule(overspeedRule, inputs).events).toEqual([]);
    const { events } = runRule(overspeedRule, inputs, { thresholds: { overspeed: { limitKmh: 60 } } });
    expect(events.map(shape)).toEqual([
      { kind: 'overspeed', phase: 'start', start: at(0), end: null },
      { kind: 'overspeed', phase: 'end', start: at(0), end: at(21) },
    ]);
    expect(events[1]!.data).toMatchObject({ limitKmh: 60, maxSpeedKmh: 80, durationS: 21 });
  });

  it('blind-area data raises late events', () => {
    const { events } = runRule(overspeedRule, drive(over20s.map((l) => ({ ...l, blindArea: true }))));
    expect(events.map((e) => [e.phase, e.late])).toEqual([['start', true], ['end', true]]);
  });

  it('a restart in the middle of the open event: one start, one end, one id', () => {
    const { first, second, all } = runSplit(overspeedRule, drive(over20s), 45);
    expect(first.map((e) => e.phase)).toEqual(['start']);
    expect(second.map((e) => e.phase)).toEqual(['end']);
    expect(all.map(shape)).toEqual([
      { kind: 'overspeed', phase: 'start', start: at(31), end: null },
      { kind: 'overspeed', phase: 'end', start: at(31), end: at(51) },
    ]);
    expect(second[0]!.id).toBe(first[0]!.id);
    expect(second[0]!.data).toMatchObject({ durationS: 20, maxSpeedKmh: 130 });
  });

  it('a restart while the run is still pending keeps counting from its first fix', () => {
    const { all } = runSplit(overspeedRule, drive(over20s), 36); // 5 s over before the restart
    expect(all.map(shape)).toEqual([
      { kind: 'overspeed', phase: 'start', start: at(31), end: null },
      { kind: 'overspeed', phase: 'end', start: at(31), end: at(51) },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('fatigue', () => {
  const H = 3600;
  const driving = (seconds: number): Leg => ({ seconds, speedKmh: 60, everyS: 30 });
  const parked = (seconds: number, everyS = 60): Leg => ({ seconds, speedKmh: 0, acc: false, everyS });

  it('4.5 h continuous: starts at drive start + 4 h, ends at the last driving fix once a 25-min rest is confirmed', () => {
    const inputs = drive([driving(4.5 * H), parked(25 * 60)]);
    const { events } = runRule(fatigueRule, inputs);
    expect(events.map(shape)).toEqual([
      { kind: 'fatigue.continuous', phase: 'start', start: at(4 * H), end: null },
      { kind: 'fatigue.continuous', phase: 'end', start: at(4 * H), end: at(4.5 * H) },
    ]);
    const [start, end] = events as [RuleEvent, RuleEvent];
    expect(start).toMatchObject({ rule: 'fatigue', severity: 2, late: false, id: `${TERMINAL}/fatigue.continuous/${at(4 * H)}` });
    // Detected at the driving fix 30 s past 4 h; the start point is where the vehicle was at 4 h.
    expect(start.data).toEqual({ drivingS: 4 * H + 30, since: at(0) });
    const fixAt4h = inputs.find((p) => p.time === at(4 * H))!;
    expect(start.start.lon).toBeCloseTo(fixAt4h.longitude, 9);
    expect(end.data).toEqual({ drivingS: 4.5 * H, since: at(0) });
    expect(end.end!.lon).toBeCloseTo(inputs.find((p) => p.time === at(4.5 * H))!.longitude, 9);

    // The end is emitted only once the rest reaches 20 min (the parked fix at 20 min after the last driving fix).
    const before = inputs.filter((p) => p.time < at(4.5 * H + 20 * 60));
    expect(runRule(fatigueRule, before).events.map((e) => e.phase)).toEqual(['start']);
  });

  it('exactly 4 h of driving is not more than 4 h', () => {
    expect(runRule(fatigueRule, drive([driving(4 * H), parked(25 * 60)])).events).toEqual([]);
  });

  it('a 20-min rest resets continuous driving', () => {
    expect(runRule(fatigueRule, drive([driving(3 * H), parked(20 * 60), driving(3 * H)])).events).toEqual([]);
  });

  it('a 15-min stop does not: the drive goes on, stop included', () => {
    // Driving 0…3 h, parked 3:01…3:15, driving 3:15:30…4:45.
    const inputs = drive([driving(3 * H), parked(15 * 60), driving(1.5 * H), parked(25 * 60)]);
    const { events } = runRule(fatigueRule, inputs);
    expect(events.map(shape)).toEqual([
      { kind: 'fatigue.continuous', phase: 'start', start: at(4 * H), end: null },
      { kind: 'fatigue.continuous', phase: 'end', start: at(4 * H), end: at(4.75 * H) },
    ]);
    expect(events[1]!.data).toEqual({ drivingS: 4.75 * H, since: at(0) });
  });

  it('night: more than 2 h of continuous driving inside 22:00–06:00', () => {
    // 21:30 → 00:30: the night stretch starts at 22:00, exceeds 2 h at 00:00.
    const start = chinaTime('2026-11-30T21:30:00');
    const inputs = drive([driving(3 * H), parked(25 * 60)], undefined, start);
    const { events } = runRule(fatigueRule, inputs);
    expect(events.map(shape)).toEqual([
      { kind: 'fatigue.night', phase: 'start', start: chinaTime('2026-12-01T00:00:00'), end: null },
      { kind: 'fatigue.night', phase: 'end', start: chinaTime('2026-12-01T00:00:00'), end: chinaTime('2026-12-01T00:30:00') },
    ]);
    expect(events[0]).toMatchObject({ severity: 1, rule: 'fatigue' });
    expect(events[1]!.data).toEqual({ drivingS: 2.5 * H, since: chinaTime('2026-11-30T22:00:00') });
    // The same drive by day raises nothing.
    expect(runRule(fatigueRule, drive([driving(3 * H), parked(25 * 60)])).events).toEqual([]);
  });

  it('night: the stretch ends with the window, at the last driving fix before 06:00', () => {
    const inputs = drive([driving(3.5 * H)], undefined, chinaTime('2026-12-01T03:30:00'));
    const { events } = runRule(fatigueRule, inputs);
    expect(events.map(shape)).toEqual([
      { kind: 'fatigue.night', phase: 'start', start: chinaTime('2026-12-01T05:30:00'), end: null },
      { kind: 'fatigue.night', phase: 'end', start: chinaTime('2026-12-01T05:30:00'), end: chinaTime('2026-12-01T05:59:30') },
    ]);
    expect(events[1]!.data).toEqual({ drivingS: 2.5 * H - 30, since: chinaTime('2026-12-01T03:30:00') });
  });

  it('daily: more than 8 h in 24 h over several drives, each drive over the budget one event, rolling off after 24 h', () => {
    // 09:00–12:00, 13:00–16:00, 17:00–20:00; then 09:00–10:00 and 21:00–22:00 the next day.
    // Steps from a parked fix to a driving one are not counted: drives 2…5 count 3 h − 30 s (1 h − 30 s).
    const inputs = drive([
      driving(3 * H), parked(H), driving(3 * H), parked(H), driving(3 * H), parked(13 * H, 600),
      driving(H), parked(11 * H, 600), driving(H),
    ]);
    const { events } = runRule(fatigueRule, inputs);
    expect(events.map(shape)).toEqual([
      // 10800 + 10770 counted by 16:00; 28800 crossed 7230 s into drive 3 (started at 28830 s).
      { kind: 'fatigue.daily', phase: 'start', start: at(36060), end: null },
      { kind: 'fatigue.daily', phase: 'end', start: at(36060), end: at(39600) },
      // The next morning the last 24 h still hold more than 8 h: over from its first fix.
      { kind: 'fatigue.daily', phase: 'start', start: at(86430), end: null },
      { kind: 'fatigue.daily', phase: 'end', start: at(86430), end: at(90000) },
      // At 21:00 the first three drives have left the window: nothing.
    ]);
    expect(events[0]).toMatchObject({ rule: 'fatigue', severity: 1 });
    expect(events[0]!.data).toEqual({ drivingS: 28830, since: at(0) });
    expect(events[1]!.data).toEqual({ drivingS: 10800 + 2 * 10770, since: at(0) });
    // 24 h before 09:00:30 is 09:00:30: 30 s of drive 1 have left the window.
    expect(events[2]!.data).toEqual({ drivingS: 10800 + 2 * 10770 - 30, since: at(30) });
    expect(events[3]!.data.drivingS).toBe(10800 + 2 * 10770 - 30);
  });

  it('daily counts the time driven, not a short stop inside a drive', () => {
    // Driving 0…3 h and 3:15:30…4:45 (the step from the last parked fix is not counted): 10800 + 5370 s.
    const inputs = drive([driving(3 * H), parked(15 * 60), driving(1.5 * H), parked(25 * 60)]);
    const daily = (dailyS: number) =>
      runRule(fatigueRule, inputs, { thresholds: { fatigue: { dailyS } } }).events.filter((e) => e.kind === 'fatigue.daily');
    expect(daily(16170)).toEqual([]);
    const events = daily(16140);
    expect(events.map(shape)).toEqual([
      { kind: 'fatigue.daily', phase: 'start', start: at(17070), end: null },
      { kind: 'fatigue.daily', phase: 'end', start: at(17070), end: at(17100) },
    ]);
    expect(events[1]!.data).toEqual({ drivingS: 16170, since: at(0) });
  });

  it('a restart in the middle of the open event: one start, one end, one id', () => {
    const inputs = drive([driving(4.5 * H), parked(25 * 60)]);
    const split = inputs.findIndex((p) => p.time === at(4.25 * H));
    const { first, second, all } = runSplit(fatigueRule, inputs, split);
    expect(first.map((e) => e.phase)).toEqual(['start']);
    expect(second.map((e) => e.phase)).toEqual(['end']);
    expect(second[0]!.id).toBe(first[0]!.id);
    expect(all.map(shape)).toEqual([
      { kind: 'fatigue.continuous', phase: 'start', start: at(4 * H), end: null },
      { kind: 'fatigue.continuous', phase: 'end', start: at(4 * H), end: at(4.5 * H) },
    ]);
  });

  it('the tick ends the event once the vehicle has been silent for the rest time', () => {
    const inputs = drive([driving(4.5 * H)]);
    const lastReceived = inputs[inputs.length - 1]!.receivedAt;
    expect(runRule(fatigueRule, inputs, { ticks: [lastReceived + 20 * 60_000 - 1] }).events.map((e) => e.phase)).toEqual(['start']);
    const { events } = runRule(fatigueRule, inputs, { ticks: [lastReceived + 20 * 60_000] });
    expect(events.map(shape)).toEqual([
      { kind: 'fatigue.continuous', phase: 'start', start: at(4 * H), end: null },
      { kind: 'fatigue.continuous', phase: 'end', start: at(4 * H), end: at(4.5 * H) },
    ]);
  });

  it('blind-area data raises late events; a lower continuousS raises earlier', () => {
    const inputs = drive([{ ...driving(2 * H), blindArea: true }, { ...parked(25 * 60), blindArea: true }]);
    expect(runRule(fatigueRule, inputs).events).toEqual([]);
    const { events } = runRule(fatigueRule, inputs, { thresholds: { fatigue: { continuousS: H } } });
    expect(events.map((e) => [e.kind, e.phase, e.start.timeMs, e.late])).toEqual([
      ['fatigue.continuous', 'start', at(H), true], ['fatigue.continuous', 'end', at(H), true],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('harsh driving', () => {
  /** 1-s legs at the given speeds (and headings), between 10 s steady before and after. */
  const manoeuvre = (speeds: number[], headings?: number[], everyS = 1): Leg[] => [
    { seconds: 10 * everyS, speedKmh: speeds[0]!, headingDeg: headings?.[0], everyS },
    ...speeds.slice(1).map((speedKmh, i) => ({ seconds: everyS, speedKmh, headingDeg: headings?.[i + 1], everyS })),
    { seconds: 10 * everyS, speedKmh: speeds[speeds.length - 1]!, headingDeg: headings?.[headings.length - 1], everyS },
  ];

  it('braking at −4 m/s² at 1 Hz: one instant spanning the manoeuvre', () => {
    // 72 km/h at 0…10 s, then −14.4 km/h each second to 14.4 km/h at 14 s.
    const { events } = runRule(harshRule, drive(manoeuvre([72, 57.6, 43.2, 28.8, 14.4])));
    expect(events.map(shape)).toEqual([{ kind: 'harsh.braking', phase: 'instant', start: at(10), end: at(14) }]);
    expect(events[0]).toMatchObject({ rule: 'harsh', severity: 1, late: false, id: `${TERMINAL}/harsh.braking/${at(10)}` });
    expect(events[0]!.data).toMatchObject({ durationS: 4, fromSpeedKmh: 72, toSpeedKmh: 14.4 });
    expect(events[0]!.data.peakMs2).toBeCloseTo(4, 9);
  });

  it('braking at −2 m/s² is not harsh', () => {
    expect(runRule(harshRule, drive(manoeuvre([72, 64.8, 57.6, 50.4, 43.2]))).events).toEqual([]);
  });

  it('acceleration at 3 m/s², peak reported', () => {
    const { events } = runRule(harshRule, drive(manoeuvre([18, 28.8, 39.6])));
    expect(events.map(shape)).toEqual([{ kind: 'harsh.acceleration', phase: 'instant', start: at(10), end: at(12) }]);
    expect(events[0]!.data.peakMs2).toBeCloseTo(3, 9);
  });

  it('cornering: 30°/s at 36 km/h (5.2 m/s²) across north; 10°/s (1.7 m/s²) is not', () => {
    const { events } = runRule(harshRule, drive(manoeuvre([36, 36, 36, 36], [350, 20, 50, 80])));
    expect(events.map(shape)).toEqual([{ kind: 'harsh.cornering', phase: 'instant', start: at(10), end: at(13) }]);
    expect(events[0]!.data.peakMs2).toBeCloseTo(10 * (30 * Math.PI) / 180, 6);
    expect(runRule(harshRule, drive(manoeuvre([36, 36, 36, 36], [350, 0, 10, 20]))).events).toEqual([]);
  });

  it('at 30 s intervals nothing is measured, even past a lowered threshold', () => {
    const thresholds = { harsh: { brakeMs2: 0.5 } };
    // 72 → 0 km/h in one 30-s step is −0.67 m/s²: over 0.5, but the data is not ≥ 1 Hz.
    expect(runRule(harshRule, drive(manoeuvre([72, 0], undefined, 30)), { thresholds }).events).toEqual([]);
    // The same drop over 30 steps of 1 s is measured.
    const slow = Array.from({ length: 31 }, (_, i) => 72 - (72 * i) / 30);
    expect(runRule(harshRule, drive(manoeuvre(slow)), { thresholds }).events.map(shape)).toEqual([
      { kind: 'harsh.braking', phase: 'instant', start: at(10), end: at(40) },
    ]);
  });

  it('a manoeuvre cut by the end of the data is reported by the tick', () => {
    const inputs = drive([{ seconds: 10, speedKmh: 72 }, { seconds: 1, speedKmh: 57.6 }, { seconds: 1, speedKmh: 43.2 }]);
    expect(runRule(harshRule, inputs).events).toEqual([]);
    const last = inputs[inputs.length - 1]!.receivedAt;
    const { events } = runRule(harshRule, inputs, { ticks: [last + 60_000] });
    expect(events.map(shape)).toEqual([{ kind: 'harsh.braking', phase: 'instant', start: at(10), end: at(12) }]);
  });

  it('blind-area data raises late events', () => {
    const legs = manoeuvre([72, 57.6, 43.2]).map((l) => ({ ...l, blindArea: true }));
    expect(runRule(harshRule, drive(legs)).events.map((e) => [e.kind, e.late])).toEqual([['harsh.braking', true]]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('idling', () => {
  /** Driving 0…60 s, ACC on at 0 km/h from 70 s every 10 s for `idleS`, then driving again. */
  const stop = (idleS: number, acc = true): Leg[] => [
    { seconds: 60, speedKmh: 40 }, { seconds: idleS, speedKmh: 0, everyS: 10, acc }, { seconds: 60, speedKmh: 40 },
  ];

  it('11 min: one event from the first idle fix to the first moving fix', () => {
    const { events } = runRule(idlingRule, drive(stop(660)));
    expect(events.map(shape)).toEqual([
      { kind: 'idling', phase: 'start', start: at(70), end: null },
      { kind: 'idling', phase: 'end', start: at(70), end: at(721) },
    ]);
    expect(events[0]).toMatchObject({ rule: 'idling', severity: 0, late: false, data: { durationS: 600 } });
    expect(events[1]!.data).toEqual({ durationS: 651 });
  });

  it('9 min: nothing; exactly 10 min between the first and last idle fix counts', () => {
    expect(runRule(idlingRule, drive(stop(540))).events).toEqual([]);
    expect(runRule(idlingRule, drive(stop(600))).events).toEqual([]); // idle fixes 70…660 s: 590 s
    expect(runRule(idlingRule, drive(stop(610))).events.map((e) => e.phase)).toEqual(['start', 'end']);
  });

  it('a vehicle that goes silent while idling: the sweep ends the event at its last idle fix', () => {
    const inputs = drive(stop(660)).filter((p) => p.time <= at(700)); // idle from 70 s, silent after 700 s
    const last = inputs[inputs.length - 1]!.receivedAt;
    expect(runRule(idlingRule, inputs, { ticks: [last + 60_000] }).events.map((e) => e.phase)).toEqual(['start']); // not silent long enough
    const { events, state } = runRule(idlingRule, inputs, { ticks: [last + 60_000, last + 91_000, last + 200_000] });
    expect(events.map(shape)).toEqual([
      { kind: 'idling', phase: 'start', start: at(70), end: null },
      { kind: 'idling', phase: 'end', start: at(70), end: at(700) },
    ]);
    expect(events[1]!.data).toEqual({ durationS: 630 });
    expect(state.run).toBeNull();
  });

  it('ACC off is parked, not idling', () => {
    expect(runRule(idlingRule, drive(stop(1200, false))).events).toEqual([]);
  });

  it('a shorter minS override raises it', () => {
    const { events } = runRule(idlingRule, drive(stop(540)), { thresholds: { idling: { minS: 300 } } });
    expect(events.map(shape)).toEqual([
      { kind: 'idling', phase: 'start', start: at(70), end: null },
      { kind: 'idling', phase: 'end', start: at(70), end: at(601) },
    ]);
  });

  it('a restart in the middle of the open event: one start, one end, one id', () => {
    const inputs = drive(stop(660));
    const { first, second } = runSplit(idlingRule, inputs, inputs.findIndex((p) => p.time === at(700)));
    expect(first.map(shape)).toEqual([{ kind: 'idling', phase: 'start', start: at(70), end: null }]);
    expect(second.map(shape)).toEqual([{ kind: 'idling', phase: 'end', start: at(70), end: at(721) }]);
    expect(second[0]!.id).toBe(first[0]!.id);
  });

  it('blind-area data raises late events', () => {
    const legs = stop(660).map((l) => ({ ...l, blindArea: true }));
    expect(runRule(idlingRule, drive(legs)).events.map((e) => e.late)).toEqual([true, true]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('night driving', () => {
  const night = chinaTime('2026-11-30T22:00:00');

  it('30 min from 22:00, then parked: one event to the last driving fix, closed after 10 min without driving', () => {
    const inputs = drive([{ seconds: 1800, speedKmh: 60, everyS: 10 }, { seconds: 900, speedKmh: 0, acc: false, everyS: 60 }], undefined, night);
    const { events } = runRule(nightDrivingRule, inputs);
    expect(events.map(shape)).toEqual([
      { kind: 'night_driving', phase: 'start', start: night, end: null },
      { kind: 'night_driving', phase: 'end', start: night, end: night + 1800_000 },
    ]);
    expect(events[0]).toMatchObject({ rule: 'night', severity: 0, late: false, id: `${TERMINAL}/night_driving/${night}` });
    expect(events[0]!.data.durationS).toBe(60); // emitted once minS (60 s) was reached
    expect(events[0]!.data.distanceM as number).toBeCloseTo(1000, 0);
    expect(events[1]!.data.durationS).toBe(1800);
    expect(events[1]!.data.distanceM as number).toBeCloseTo(30_000, 0);
    // Closed by the parked fix 11 min after the last driving one, not before.
    const upTo10min = inputs.filter((p) => p.time <= night + 1800_000 + 600_000);
    expect(runRule(nightDrivingRule, upTo10min).events.map((e) => e.phase)).toEqual(['start']);
  });

  it('a drive at 14:00 raises nothing', () => {
    const inputs = drive([{ seconds: 1800, speedKmh: 60, everyS: 10 }, { seconds: 900, speedKmh: 0, acc: false, everyS: 60 }], undefined, chinaTime('2026-11-30T14:00:00'));
    expect(runRule(nightDrivingRule, inputs).events).toEqual([]);
  });

  it('a drive across 06:00 ends at the last driving fix inside the window', () => {
    const from = chinaTime('2026-12-01T05:50:00');
    const { events } = runRule(nightDrivingRule, drive([{ seconds: 1200, speedKmh: 60, everyS: 10 }], undefined, from));
    expect(events.map(shape)).toEqual([
      { kind: 'night_driving', phase: 'start', start: from, end: null },
      { kind: 'night_driving', phase: 'end', start: from, end: chinaTime('2026-12-01T05:59:50') },
    ]);
    expect(events[1]!.data.durationS).toBe(590);
  });

  it('shorter than minS inside the window: nothing; with minS 20 s it counts', () => {
    // 21:59:30 → 22:00:30: 30 s inside the window.
    const inputs = drive([{ seconds: 60, speedKmh: 60, everyS: 10 }, { seconds: 900, speedKmh: 0, acc: false, everyS: 60 }], undefined, night - 30_000);
    expect(runRule(nightDrivingRule, inputs).events).toEqual([]);
    const { events } = runRule(nightDrivingRule, inputs, { thresholds: { night: { minS: 20 } } });
    expect(events.map(shape)).toEqual([
      { kind: 'night_driving', phase: 'start', start: night, end: null },
      { kind: 'night_driving', phase: 'end', start: night, end: night + 30_000 },
    ]);
  });

  it('a stop of 8 min keeps one night drive; a stop of 12 min splits it', () => {
    const legs = (stopS: number): Leg[] => [
      { seconds: 600, speedKmh: 60, everyS: 10 }, { seconds: stopS, speedKmh: 0, everyS: 60 }, { seconds: 600, speedKmh: 60, everyS: 10 },
      { seconds: 900, speedKmh: 0, acc: false, everyS: 60 },
    ];
    const one = runRule(nightDrivingRule, drive(legs(480), undefined, night)).events;
    expect(one.map(shape)).toEqual([
      { kind: 'night_driving', phase: 'start', start: night, end: null },
      { kind: 'night_driving', phase: 'end', start: night, end: night + (600 + 480 + 600) * 1000 },
    ]);
    const two = runRule(nightDrivingRule, drive(legs(720), undefined, night)).events;
    expect(two.map(shape)).toEqual([
      { kind: 'night_driving', phase: 'start', start: night, end: null },
      { kind: 'night_driving', phase: 'end', start: night, end: night + 600_000 },
      { kind: 'night_driving', phase: 'start', start: night + (600 + 720 + 10) * 1000, end: null },
      { kind: 'night_driving', phase: 'end', start: night + (600 + 720 + 10) * 1000, end: night + (600 + 720 + 600) * 1000 },
    ]);
  });

  it('the tick closes a night drive whose vehicle went silent', () => {
    const inputs = drive([{ seconds: 600, speedKmh: 60, everyS: 10 }], undefined, night);
    const last = inputs[inputs.length - 1]!.receivedAt;
    expect(runRule(nightDrivingRule, inputs, { ticks: [last + 600_000] }).events.map((e) => e.phase)).toEqual(['start']);
    expect(runRule(nightDrivingRule, inputs, { ticks: [last + 600_001] }).events.map(shape)).toEqual([
      { kind: 'night_driving', phase: 'start', start: night, end: null },
      { kind: 'night_driving', phase: 'end', start: night, end: night + 600_000 },
    ]);
  });

  it('a restart in the middle of the open event: one start, one end, one id; blind-area data is late', () => {
    const inputs = drive([{ seconds: 1800, speedKmh: 60, everyS: 10, blindArea: true }, { seconds: 900, speedKmh: 0, acc: false, everyS: 60, blindArea: true }], undefined, night);
    const { first, second } = runSplit(nightDrivingRule, inputs, 90);
    expect(first.map(shape)).toEqual([{ kind: 'night_driving', phase: 'start', start: night, end: null }]);
    expect(second.map(shape)).toEqual([{ kind: 'night_driving', phase: 'end', start: night, end: night + 1800_000 }]);
    expect(second[0]!.id).toBe(first[0]!.id);
    expect([...first, ...second].map((e) => e.late)).toEqual([true, true]);
    expect(second[0]!.data.durationS).toBe(1800);
  });
});
