/**
 * Terminal offline (domain.md "terminal offline / tampered"): no data for
 * `offline.intervals` × `offline.reportIntervalS` while the vehicle was last seen with ACC on. A
 * parked terminal (ACC off) reports every few minutes or sleeps, so its silence is not raised.
 *
 * Event `offline` (WARNING), opened by the engine's sweep (onTick) and back-dated to the last
 * live fix (its point and device time; data.silentS = seconds from that fix's receipt to the
 * sweep that noticed), closed by the first fix that arrives afterwards, live or from a blind-area
 * batch (end point = that fix; data.gapS = device seconds from the last fix to it). The open
 * event is kept in the state, so a restart neither loses nor repeats it.
 */
import { closeEvent, openEvent } from './event.js';
import { Severity, type Rule } from './types.js';

export interface OfflineState {
  /** The open event's start (device time, lat, lon) and silentS; null while none is open. */
  open: { t: number; la: number; lo: number; silentS: number } | null;
}

const start = (terminal: string, o: NonNullable<OfflineState['open']>) =>
  openEvent(terminal, 'offline', 'offline', Severity.WARNING, { timeMs: o.t, lat: o.la, lon: o.lo }, false, { silentS: o.silentS });

export const offlineRule: Rule<OfflineState> = {
  name: 'offline',
  init: () => ({ open: null }),
  onFix(state, fix, _t, out): void {
    const o = state.open;
    if (o === null) return;
    out.emit(closeEvent(start(fix.terminal, o), { timeMs: fix.timeMs, lat: fix.lat, lon: fix.lon }, { gapS: (fix.timeMs - o.t) / 1000 }));
    state.open = null;
  },
  onTick(state, nowMs, last, t, out): void {
    if (state.open !== null || last === null || !last.acc) return;
    const silentMs = nowMs - last.receivedMs;
    if (silentMs <= t.offline.intervals * t.offline.reportIntervalS * 1000) return;
    state.open = { t: last.timeMs, la: last.lat, lo: last.lon, silentS: silentMs / 1000 };
    out.emit(start(last.terminal, state.open));
  },
};
