import { hexId } from '../protocol/jt808/index.js';

/**
 * Acknowledgement latencies in a fixed log-scale histogram (buckets 2 % wide from 10 µs), so
 * a run of any length and any number of terminals holds the same ~900 counters.
 */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.01;
  private static readonly RATIO = 1.02;
  private readonly counts = new Float64Array(900);
  count = 0;
  private sum = 0;
  max = 0;

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const i = v <= LatencyHistogram.MIN_MS ? 0 : Math.ceil(Math.log(v / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.RATIO));
    this.counts[Math.min(i, this.counts.length - 1)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The latency below which a fraction q of the samples fall (upper edge of its bucket, capped at max). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(LatencyHistogram.MIN_MS * LatencyHistogram.RATIO ** i, this.max);
    }
    return this.max;
  }

  summary(): { count: number; mean: number; p50: number; p90: number; p99: number; max: number } {
    const r = (x: number): number => Math.round(x * 100) / 100;
    return {
      count: this.count,
      mean: r(this.count ? this.sum / this.count : 0),
      p50: r(this.quantile(0.5)),
      p90: r(this.quantile(0.9)),
      p99: r(this.quantile(0.99)),
      max: r(this.max),
    };
  }
}

/**
 * Counters shared by every terminal of a run (one object, passed in): terminals add to them as
 * things happen, so the report costs nothing per terminal and is ready at any moment.
 */
export class SimulationStats {
  /** Frames written, by message id, re-sends included. */
  readonly framesSent = new Map<number, number>();
  /** Downlink commands answered, by the command's id. */
  readonly commandsAnswered = new Map<number, number>();
  /** Location frames (0x0200, 0x0704) sent for the first time; each ends acked or unacked. */
  locationFramesSent = 0;
  acked = 0;
  /** Acks whose result was not success (1 failure, 2 message error, 3 not supported). */
  ackedWithError = 0;
  /** Given up after the last re-send, or still waiting when the connection closed or the run ended. */
  unacked = 0;
  /** Re-sends (same frame, same serial) after an ack timeout. */
  resent = 0;
  /** Positions carried by first transmissions (one per 0x0200, n per 0x0704). */
  locationsSent = 0;
  /** Positions held back while offline or without signal, later sent as 0x0704 batches. */
  locationsQueued = 0;
  /** Positions dropped because the blind-area store was full. */
  locationsDropped = 0;
  online = 0;
  everOnline = 0;
  registrations = 0;
  registrationsRefused = 0;
  authentications = 0;
  authRefused = 0;
  reconnects = 0;
  connectFailures = 0;
  signalLosses = 0;
  decodeErrors = 0;
  readonly ackLatency = new LatencyHistogram();

  countFrame(msgId: number): void {
    this.framesSent.set(msgId, (this.framesSent.get(msgId) ?? 0) + 1);
  }

  countCommand(msgId: number): void {
    this.commandsAnswered.set(msgId, (this.commandsAnswered.get(msgId) ?? 0) + 1);
  }
}

/** The simulation's result, printed as JSON by `fleetgate simulate`. */
export interface SimulationReport {
  terminals: number;
  /** Online when the run ended, and at any time during it. */
  online: number;
  everOnline: number;
  durationS: number;
  /** Frames written by message id (`"0x0200"`), re-sends included. */
  framesSent: Record<string, number>;
  locations: { sent: number; queued: number; dropped: number; perSecond: number };
  /** Location frames: sent = acked + unacked once the run has ended. */
  acks: { sent: number; acked: number; ackedWithError: number; unacked: number; resent: number };
  /** Milliseconds from the (last) write of a frame to its matching 0x8001. */
  ackLatencyMs: { count: number; mean: number; p50: number; p90: number; p99: number; max: number };
  commandsAnswered: Record<string, number>;
  registrations: number;
  registrationsRefused: number;
  authentications: number;
  authRefused: number;
  reconnects: number;
  connectFailures: number;
  signalLosses: number;
  decodeErrors: number;
}

const byHexId = (m: ReadonlyMap<number, number>): Record<string, number> =>
  Object.fromEntries([...m].sort((a, b) => a[0] - b[0]).map(([id, n]) => [hexId(id), n]));

export function reportOf(s: SimulationStats, terminals: number, durationS: number): SimulationReport {
  return {
    terminals,
    online: s.online,
    everOnline: s.everOnline,
    durationS: Math.round(durationS * 1000) / 1000,
    framesSent: byHexId(s.framesSent),
    locations: {
      sent: s.locationsSent,
      queued: s.locationsQueued,
      dropped: s.locationsDropped,
      perSecond: durationS > 0 ? Math.round((s.locationsSent / durationS) * 10) / 10 : 0,
    },
    acks: { sent: s.locationFramesSent, acked: s.acked, ackedWithError: s.ackedWithError, unacked: s.unacked, resent: s.resent },
    ackLatencyMs: s.ackLatency.summary(),
    commandsAnswered: byHexId(s.commandsAnswered),
    registrations: s.registrations,
    registrationsRefused: s.registrationsRefused,
    authentications: s.authentications,
    authRefused: s.authRefused,
    reconnects: s.reconnects,
    connectFailures: s.connectFailures,
    signalLosses: s.signalLosses,
    decodeErrors: s.decodeErrors,
  };
}
