/**
 * The terminal's own alarms (JT/T 808 §4.3 alarm word) as events: each named bit opens an event
 * `alarm.<name>` on the fix where it sets and closes it on the fix where it clears, keyed by the
 * bit number. This is how a platform sees tampering (domain.md "terminal offline / tampered":
 * power cut bit 8, antenna cut bit 5, illegal ignition/displacement bits 27/28) and the driving
 * alarms a terminal raises itself (the only ones to rely on at 30-s reporting).
 *
 * Names are the 2013 edition's (a Fix carries no edition; 2011 and 2019 differ only in bits 3,
 * 12–17 and 29–31). Severity:
 *
 * | severity | bits |
 * | --- | --- |
 * | CRITICAL | 0 emergency, 5 gnssAntennaCut, 8 powerCut, 26 stolen, 27 illegalIgnition, 28 illegalDisplacement, 29 collisionWarning, 30 rolloverWarning |
 * | WARNING | 1 overspeed, 2 fatigue, 4 gnssFault, 6 gnssAntennaShort, 7 powerUnderVoltage, 18 dailyDrivingOvertime, 19 parkingOvertime, 20 areaInOut, 21 routeInOut, 23 routeDeviation, 25 fuelAbnormal |
 * | INFO | every other named bit (3 dangerWarning, 9–11 device faults, 12 icCardFault, 13–14 pre-warnings, 22, 24, 31) |
 *
 * Reserved bits (15–17 in 2013) raise nothing. Every fix counts, located or not (an antenna cut
 * leaves the fix unlocated). An emission's `late` is that of the fix that caused it.
 */
import { ALARM_BIT_NAMES } from '../../protocols/jt808/bits.js';
import { closeEvent, openEvent } from './event.js';
import { Severity, type Fix, type Rule } from './types.js';

const NAMES = ALARM_BIT_NAMES[2013];
const CRITICAL_BITS = [0, 5, 8, 26, 27, 28, 29, 30];
const WARNING_BITS = [1, 2, 4, 6, 7, 18, 19, 20, 21, 23, 25];

/** Event kind per bit ('' for a reserved bit) and its severity. */
const KINDS: readonly string[] = Array.from({ length: 32 }, (_, bit) => (NAMES[bit] ? `alarm.${NAMES[bit]}` : ''));
const SEVERITY: readonly Severity[] = Array.from({ length: 32 }, (_, bit) =>
  CRITICAL_BITS.includes(bit) ? Severity.CRITICAL : WARNING_BITS.includes(bit) ? Severity.WARNING : Severity.INFO);
/** The alarm bits that raise events. */
const NAMED_MASK = KINDS.reduce((m, k, bit) => (k ? (m | (1 << bit)) >>> 0 : m), 0);

/** The alarm severity of a bit (exported for the docs and the tests). */
export const alarmSeverity = (bit: number): Severity => SEVERITY[bit]!;

/** Where an open alarm started: device time, lat, lon, and whether from late data. */
interface OpenAlarm {
  t: number;
  la: number;
  lo: number;
  late: boolean;
}

export interface AlarmState {
  /** The previous fix's alarm word, named bits only (0 before the first fix). */
  word: number;
  /** Open alarms by bit number. */
  open: Record<string, OpenAlarm>;
}

const start = (terminal: string, bit: number, o: OpenAlarm) =>
  openEvent(terminal, 'alarm', KINDS[bit]!, SEVERITY[bit]!, { timeMs: o.t, lat: o.la, lon: o.lo }, o.late, { bit }, String(bit));

export const terminalAlarmRule: Rule<AlarmState> = {
  name: 'alarm',
  init: () => ({ word: 0, open: {} }),
  onFix(state: AlarmState, fix: Fix, _t, out): void {
    const word = (fix.alarm & NAMED_MASK) >>> 0;
    if (word === state.word) return; // nothing set or cleared: the common case allocates nothing
    const changed = (word ^ state.word) >>> 0;
    for (let bit = 0; bit < 32; bit++) {
      if (((changed >>> bit) & 1) === 0) continue;
      if (((word >>> bit) & 1) !== 0) {
        const o: OpenAlarm = { t: fix.timeMs, la: fix.lat, lo: fix.lon, late: fix.late };
        state.open[bit] = o;
        out.emit(start(fix.terminal, bit, o));
      } else {
        const o = state.open[bit];
        if (o) {
          const e = closeEvent(start(fix.terminal, bit, o), { timeMs: fix.timeMs, lat: fix.lat, lon: fix.lon }, { durationS: (fix.timeMs - o.t) / 1000 });
          e.late = fix.late;
          out.emit(e);
        }
        delete state.open[bit];
      }
    }
    state.word = word;
  },
};
