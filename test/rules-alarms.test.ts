import { describe, expect, it } from 'vitest';
import { alarmSeverity, terminalAlarmRule } from '../src/rules/alarms.js';
import { offlineRule } from '../src/rules/offline.js';
import type { RuleInput } from '../src/rules/fix.js';
import { drive, runRule, T0, TERMINAL } from './support/rules.js';

const pt = (p: RuleInput) => ({ timeMs: p.time, lat: p.latitude, lon: p.longitude });
const SOS = 1 << 0, ANTENNA_CUT = 1 << 5, POWER_CUT = 1 << 8;

describe('terminal alarms', () => {
  it('SOS set for 3 fixes then cleared: one start and one end, CRITICAL, keyed by the bit', () => {
    const inputs = drive([
      { seconds: 10, speedKmh: 40, everyS: 5 }, // fixes 0–2
      { seconds: 15, speedKmh: 40, everyS: 5, alarm: SOS }, // fixes 3–5
      { seconds: 10, speedKmh: 40, everyS: 5 }, // fixes 6–7
    ]);
    const { events, state } = runRule(terminalAlarmRule, inputs);
    const start = {
      id: `${TERMINAL}/alarm.emergency/0/${T0 + 15_000}`, terminal: TERMINAL, rule: 'alarm', kind: 'alarm.emergency', severity: 2,
      phase: 'start', start: pt(inputs[3]!), end: null, late: false, data: { bit: 0 },
    };
    expect(events).toEqual([
      start,
      { ...start, phase: 'end', end: pt(inputs[6]!), data: { bit: 0, durationS: 15 } },
    ]);
    expect(state).toEqual({ word: 0, open: {} });
  });

  it('two bits at once: two events, each closing on its own', () => {
    const inputs = drive([
      { seconds: 0, speedKmh: 0 },
      { seconds: 60, speedKmh: 0, everyS: 30, alarm: ANTENNA_CUT | POWER_CUT }, // fixes 1–2
      { seconds: 30, speedKmh: 0, everyS: 30, alarm: POWER_CUT }, // fix 3: antenna back
      { seconds: 30, speedKmh: 0, everyS: 30 }, // fix 4: power back
    ]);
    const { events } = runRule(terminalAlarmRule, inputs);
    expect(events.map((e) => [e.kind, e.phase, e.severity, e.start.timeMs - T0, e.end && e.end.timeMs - T0, e.id])).toEqual([
      ['alarm.gnssAntennaCut', 'start', 2, 30_000, null, `${TERMINAL}/alarm.gnssAntennaCut/5/${T0 + 30_000}`],
      ['alarm.powerCut', 'start', 2, 30_000, null, `${TERMINAL}/alarm.powerCut/8/${T0 + 30_000}`],
      ['alarm.gnssAntennaCut', 'end', 2, 30_000, 90_000, `${TERMINAL}/alarm.gnssAntennaCut/5/${T0 + 30_000}`],
      ['alarm.powerCut', 'end', 2, 30_000, 120_000, `${TERMINAL}/alarm.powerCut/8/${T0 + 30_000}`],
    ]);
  });

  it('names bits as the 2013 edition does, with the documented severities; reserved bits raise nothing', () => {
    const bits = [1, 3, 13, 15, 16, 17, 29, 30, 31];
    const inputs = drive([{ seconds: 0, speedKmh: 0, alarm: bits.reduce((w, b) => (w | (1 << b)) >>> 0, 0) }]);
    const { events } = runRule(terminalAlarmRule, inputs);
    expect(events.map((e) => [e.kind, e.severity, e.data.bit])).toEqual([
      ['alarm.overspeed', 1, 1], ['alarm.dangerWarning', 0, 3], ['alarm.overspeedWarning', 0, 13],
      ['alarm.collisionWarning', 2, 29], ['alarm.rolloverWarning', 2, 30], ['alarm.illegalDoorOpen', 0, 31],
    ]);
    expect([0, 5, 8, 26, 27, 28, 29, 30].map(alarmSeverity)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect([1, 2, 4, 6, 7, 18, 19, 20, 21, 23, 25].map(alarmSeverity)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect([3, 9, 10, 11, 12, 13, 14, 22, 24, 31].map(alarmSeverity)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('an alarm still set after a restart closes once, with the id it opened with; late data is marked', () => {
    const inputs = drive([{ seconds: 0, speedKmh: 0 }, { seconds: 60, speedKmh: 0, everyS: 30, alarm: SOS, blindArea: true }, { seconds: 30, speedKmh: 0, everyS: 30 }]);
    const first = runRule(terminalAlarmRule, inputs.slice(0, 2));
    const rest = runRule(terminalAlarmRule, inputs.slice(2), { state: first.state });
    expect([...first.events, ...rest.events].map((e) => [e.phase, e.id, e.late])).toEqual([
      ['start', `${TERMINAL}/alarm.emergency/0/${T0 + 30_000}`, true],
      ['end', `${TERMINAL}/alarm.emergency/0/${T0 + 30_000}`, false],
    ]);
  });
});

describe('offline', () => {
  // ACC on, a fix every 30 s for 2 minutes; received 0.5 s after its time. Threshold 3 × 30 s.
  const inputs = drive([{ seconds: 120, speedKmh: 30, everyS: 30 }]);
  const last = inputs[inputs.length - 1]!;

  it('silence after ACC on: nothing up to the threshold, then one open event back-dated to the last fix; the next fix ends it', () => {
    const { events, state } = runRule(offlineRule, inputs, { ticks: [last.receivedAt + 60_000, last.receivedAt + 90_000, last.receivedAt + 91_000, last.receivedAt + 200_000] });
    const start = {
      id: `${TERMINAL}/offline/${last.time}`, terminal: TERMINAL, rule: 'offline', kind: 'offline', severity: 1, phase: 'start',
      start: pt(last), end: null, late: false, data: { silentS: 91 },
    };
    expect(events).toEqual([start]);
    const next = drive([{ seconds: 0, speedKmh: 30 }], [117.01, 36.66], last.time + 600_000);
    const after = runRule(offlineRule, next, { state });
    expect(after.events).toEqual([{ ...start, phase: 'end', end: pt(next[0]!), data: { silentS: 91, gapS: 600 } }]);
    expect(after.state).toEqual({ open: null });
  });

  it('follows the thresholds: 2 × 60 s', () => {
    const ticks = [last.receivedAt + 91_000, last.receivedAt + 120_000, last.receivedAt + 120_001];
    const { events } = runRule(offlineRule, inputs, { ticks, thresholds: { offline: { reportIntervalS: 60, intervals: 2 } } });
    expect(events.map((e) => [e.phase, e.data.silentS])).toEqual([['start', 120.001]]);
  });

  it('silence after ACC off (parked): nothing', () => {
    const parked = drive([{ seconds: 120, speedKmh: 0, everyS: 30, acc: false }]);
    const { events, state } = runRule(offlineRule, parked, { ticks: [T0 + 3_600_000, T0 + 86_400_000] });
    expect(events).toEqual([]);
    expect(state).toEqual({ open: null });
  });

  it('no fix yet: nothing', () => {
    expect(runRule(offlineRule, [], { ticks: [T0 + 3_600_000] }).events).toEqual([]);
  });
});
