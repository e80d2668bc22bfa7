import type { Random } from './random.js';

export type TimelineEvent = 'none' | 'report' | 'heartbeat' | 'signalLost' | 'signalBack';

export interface TimelineOptions {
  /** Simulated seconds per real second. */
  timeScale: number;
  heartbeatS: number;
  signalLoss: { meanEveryS: number; meanDurationS: number } | null;
}

/** Shortest outage, simulated seconds: anything shorter would not even lose a report. */
const MIN_OUTAGE_S = 30;

/**
 * A terminal's clock and calendar. Everything is planned in virtual time (epoch ms): the first
 * report at the epoch, each next one an interval after the last, heartbeats on their own
 * grid, outages drawn from the terminal's random stream. Real time only decides *when* these
 * are played, so the frames' timestamps, positions and serials do not depend on how promptly
 * the machine or the gateway answered — a seed fixes them.
 */
export class Timeline {
  started = false;
  private startMono = 0;
  lastReportVt: number;
  nextReportVt: number;
  private lastHeartbeatVt: number;
  private nextHeartbeatVt: number;
  private heartbeatS: number;
  signalLost = false;
  private lossStartVt = Infinity;
  private lossEndVt = Infinity;
  private trackingS = 0;
  private trackingUntilVt = 0;

  constructor(
    private readonly epochMs: number,
    private readonly options: TimelineOptions,
    private readonly rng: Random,
  ) {
    this.lastReportVt = this.nextReportVt = epochMs;
    this.heartbeatS = options.heartbeatS;
    this.lastHeartbeatVt = epochMs;
    this.nextHeartbeatVt = epochMs + options.heartbeatS * 1000;
  }

  /** Starts the clock the first time the terminal is online; later calls change nothing. */
  begin(nowMono: number): void {
    if (this.started) return;
    this.started = true;
    this.startMono = nowMono;
    const loss = this.options.signalLoss;
    if (loss) this.lossStartVt = this.epochMs + this.rng.exponential(loss.meanEveryS) * 1000;
  }

  virtual(mono: number): number {
    return this.epochMs + (mono - this.startMono) * this.options.timeScale;
  }

  private mono(vt: number): number {
    return this.startMono + (vt - this.epochMs) / this.options.timeScale;
  }

  private nextEventVt(): number {
    return Math.min(this.signalLost ? this.lossEndVt : this.lossStartVt, this.nextReportVt, this.nextHeartbeatVt);
  }

  /** Monotonic ms of the next planned event (Infinity before the start). */
  nextEventMono(): number {
    return this.started ? this.mono(this.nextEventVt()) : Infinity;
  }

  /**
   * The earliest event due by vNow, in a fixed order on ties (outage, report, heartbeat). An
   * outage or heartbeat is consumed here; a report stays due until `reported` or `postponeReport`.
   */
  nextEvent(vNow: number): TimelineEvent {
    const t = this.nextEventVt();
    // Half a virtual millisecond of slack: mono → virtual → mono does not round-trip exactly.
    if (!this.started || t > vNow + 0.5) return 'none';
    const loss = this.options.signalLoss;
    if (!this.signalLost && this.lossStartVt === t) {
      this.signalLost = true;
      this.lossEndVt = t + Math.max(MIN_OUTAGE_S, this.rng.exponential(loss?.meanDurationS ?? MIN_OUTAGE_S)) * 1000;
      return 'signalLost';
    }
    if (this.signalLost && this.lossEndVt === t) {
      this.signalLost = false;
      this.lossStartVt = loss ? t + this.rng.exponential(loss.meanEveryS) * 1000 : Infinity;
      return 'signalBack';
    }
    if (this.nextReportVt === t) return 'report';
    this.lastHeartbeatVt = t;
    this.nextHeartbeatVt = t + this.heartbeatS * 1000;
    return 'heartbeat';
  }

  /** An outage of durationS starting at vt (tests, demos); false before the start. */
  forceLoss(vt: number, durationS: number): boolean {
    if (!this.started) return false;
    this.signalLost = true;
    this.lossEndVt = vt + durationS * 1000;
    return true;
  }

  reported(vt: number, intervalS: number): void {
    this.lastReportVt = vt;
    this.nextReportVt = vt + intervalS * 1000;
  }

  /** The rate cap had no room: try again at vt. */
  postponeReport(vt: number): void {
    this.nextReportVt = Math.max(vt, this.nextReportVt);
  }

  /** A new report interval takes effect from the last report (no earlier than now). */
  retimeReport(vNow: number, intervalS: number): void {
    this.nextReportVt = Math.max(this.lastReportVt + intervalS * 1000, vNow);
  }

  retimeHeartbeat(vNow: number, heartbeatS: number): void {
    this.heartbeatS = heartbeatS;
    this.nextHeartbeatVt = Math.max(this.lastHeartbeatVt + heartbeatS * 1000, vNow);
  }

  /** 0x8202 temporary tracking: report every intervalS for validityS; interval 0 ends it. */
  track(vNow: number, intervalS: number, validityS: number): void {
    this.trackingS = intervalS;
    this.trackingUntilVt = intervalS > 0 ? vNow + validityS * 1000 : 0;
  }

  trackingInterval(vt: number): number | undefined {
    return this.trackingS > 0 && vt < this.trackingUntilVt ? this.trackingS : undefined;
  }
}
