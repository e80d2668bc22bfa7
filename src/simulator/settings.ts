import type { Param } from '../../protocols/jt808/index.js';

/** Behaviour every terminal of a run starts with; the platform may change it per terminal with 0x8103. */
export interface TerminalDefaults {
  /** Report interval while ACC is on (parameter 0x0029), simulated seconds. */
  intervalS: number;
  /** Report interval while parked, ACC off (0x0027), simulated seconds. */
  parkedIntervalS: number;
  /** Heartbeat interval (0x0001), simulated seconds. */
  heartbeatS: number;
  /** First wait for a platform reply (0x0002, but in real milliseconds: it is about the network). */
  ackTimeoutMs: number;
  /** Re-sends of an unanswered frame (0x0003). */
  maxResends: number;
  /** Overspeed threshold (0x0055), km/h. */
  maxSpeedKmh: number;
}

/**
 * One terminal's parameters (§4.6): the few that change its behaviour as typed fields, the
 * rest the platform set kept as given, so 0x8104 reports back what 0x8103 wrote.
 */
export class TerminalSettings {
  intervalS: number;
  parkedIntervalS: number;
  heartbeatS: number;
  ackTimeoutMs: number;
  maxResends: number;
  maxSpeedKmh: number;
  /** Parameters set by the platform that the simulator only stores (created on first use). */
  private others: Map<number, unknown> | undefined;

  constructor(d: TerminalDefaults) {
    this.intervalS = d.intervalS;
    this.parkedIntervalS = d.parkedIntervalS;
    this.heartbeatS = d.heartbeatS;
    this.ackTimeoutMs = d.ackTimeoutMs;
    this.maxResends = d.maxResends;
    this.maxSpeedKmh = d.maxSpeedKmh;
  }

  /** Applies a 0x8103 list; returns the ids that change timing, so the terminal can reschedule. */
  apply(params: readonly Param[]): number[] {
    const changed: number[] = [];
    for (const p of params) {
      const n = typeof p.value === 'number' && p.value > 0 ? p.value : undefined;
      switch (p.id) {
        case 0x0001: if (n !== undefined) { this.heartbeatS = n; changed.push(p.id); } break;
        case 0x0002: if (n !== undefined) this.ackTimeoutMs = n * 1000; break;
        case 0x0003: if (typeof p.value === 'number') this.maxResends = p.value; break;
        case 0x0027: if (n !== undefined) { this.parkedIntervalS = n; changed.push(p.id); } break;
        case 0x0029: if (n !== undefined) { this.intervalS = n; changed.push(p.id); } break;
        case 0x0055: if (n !== undefined) this.maxSpeedKmh = n; break;
        default: (this.others ??= new Map()).set(p.id, p.value);
      }
    }
    return changed;
  }

  /**
   * The parameters for 0x0104: every one this terminal knows, or only `ids` (0x8106; ids it
   * does not have are left out, as devices do). `fixed` are the identity-derived ones.
   */
  list(fixed: readonly Param[], ids?: readonly number[]): Param[] {
    const whole = (s: number): number => Math.max(1, Math.round(s)); // DWORD seconds on the wire
    const all: Param[] = [
      { id: 0x0001, value: whole(this.heartbeatS) },
      { id: 0x0002, value: Math.max(1, Math.round(this.ackTimeoutMs / 1000)) },
      { id: 0x0003, value: this.maxResends },
      { id: 0x0020, value: 0 }, // report strategy: timed
      { id: 0x0021, value: 0 }, // report scheme: by ACC state
      { id: 0x0027, value: whole(this.parkedIntervalS) },
      { id: 0x0029, value: whole(this.intervalS) },
      { id: 0x0055, value: Math.round(this.maxSpeedKmh) },
      { id: 0x0056, value: 10 }, // overspeed duration, s
      ...fixed,
    ];
    for (const [id, value] of this.others ?? []) {
      const at = all.findIndex((p) => p.id === id);
      if (at >= 0) all[at] = { id, value };
      else all.push({ id, value });
    }
    return ids === undefined ? all : all.filter((p) => ids.includes(p.id));
  }
}
