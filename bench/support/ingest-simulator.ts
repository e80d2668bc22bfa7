/**
 * One simulator process of bench/ingest: `runSimulation` (the code behind `fleetgate simulate`)
 * with its progress pushed to the parent, plus two taps the report does not have:
 *
 * - a measurement window opened and closed by the parent, with the positions sent and
 *   acknowledged and the acknowledgement latency inside it (the report's figures cover the
 *   whole run, connection ramp included);
 * - the key (terminal, device time, kind) of every acknowledged position, written to a file at
 *   the end, so the parent can check each one against the table.
 *
 * - a rate cap the parent can change mid-run (`go`): terminals connect and register under a low
 *   cap, and the measured load is switched on once every one of them is online.
 *
 * These come from wrapping VirtualTerminal's `onLocationAnswered` hook (protected) and reaching
 * into the run's RateLimiter through its prototype, which is why this is bench code and not an
 * option of the simulator.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Location } from '../../protocols/jt808/index.js';
import { decodeFrame } from '../../src/protocol/jt808/index.js';
import { RateLimiter, VirtualTerminal, runSimulation, type SimulationReport } from '../../src/simulator/index.js';
import type { InFlight } from '../../src/simulator/inflight.js';
import { PositionKind } from '../../src/store/rows.js';
import { emitEvent, serveIngestRequests } from './ingest-proc.js';

export interface IngestSimArgs {
  port: number;
  terminals: number;
  firstId: number;
  /** Report interval while driving, simulated seconds (≥ 1: device times are whole seconds). */
  intervalS: number;
  timeScale: number;
  heartbeatS: number;
  /** Cap on positions per second of this process while the terminals connect (until `go`). */
  rampRate: number;
  seed: number;
  concurrency: number;
  keysFile: string;
}

export interface WindowFigures {
  seconds: number;
  sentPositions: number;
  ackedPositions: number;
  ackedFrames: number;
  /** Acknowledgement latency histogram (LatencyBuckets counts), merged by the parent. */
  latency: number[];
  loopDelayMs: { p50: number; p99: number; max: number };
}

/** Acknowledged position keys, in growable typed arrays (two million cost ~20 MB). */
class KeyLog {
  terminals = new Uint32Array(1 << 16);
  times = new Uint32Array(1 << 16);
  kinds = new Uint8Array(1 << 16);
  n = 0;

  add(terminal: number, timeSec: number, kind: number): void {
    if (this.n === this.terminals.length) {
      const grow = <T extends Uint32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.terminals = grow(this.terminals);
      this.times = grow(this.times);
      this.kinds = grow(this.kinds);
    }
    this.terminals[this.n] = terminal;
    this.times[this.n] = timeSec;
    this.kinds[this.n] = kind;
    this.n++;
  }

  /** [u32 count][u32 terminals…][u32 times…][u8 kinds…] */
  write(file: string): void {
    const head = Buffer.alloc(4);
    head.writeUInt32LE(this.n);
    const t = Buffer.from(this.terminals.buffer, 0, this.n * 4);
    const s = Buffer.from(this.times.buffer, 0, this.n * 4);
    const k = Buffer.from(this.kinds.buffer, 0, this.n);
    writeFileSync(file, Buffer.concat([head, t, s, k]));
  }
}

/** Log-scale latency buckets, 2 % wide from 10 µs (as the simulator's), mergeable across processes. */
export class LatencyBuckets {
  static readonly MIN_MS = 0.01;
  static readonly RATIO = 1.02;
  readonly counts: number[] = new Array<number>(900).fill(0);

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const i = v <= LatencyBuckets.MIN_MS ? 0 : Math.ceil(Math.log(v / LatencyBuckets.MIN_MS) / Math.log(LatencyBuckets.RATIO));
    this.counts[Math.min(i, this.counts.length - 1)]!++;
  }

  /** Upper edge of the bucket holding quantile q of the merged counts. */
  static quantile(counts: readonly number[], q: number): number {
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) return 0;
    const rank = Math.ceil(q * total);
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return +(LatencyBuckets.MIN_MS * LatencyBuckets.RATIO ** i).toFixed(2);
    }
    return Infinity;
  }
}

const bcd = (b: number): number => (b >> 4) * 10 + (b & 0x0f);

/**
 * Device time (epoch s, UTC) of a 2013 0x0200 frame as written (flags and escapes included),
 * read without a full decode: header 12 bytes, time at body offset 22 (§4.1, BCD[6] GMT+8).
 */
export function locationTimeSec(frame: Buffer): number {
  const out = new Array<number>(6);
  let j = 0;
  for (let i = 1; i < frame.length - 1 && j < 40; i++) {
    let b = frame[i]!;
    if (b === 0x7d) b = frame[++i] === 0x02 ? 0x7e : 0x7d;
    if (j >= 34) out[j - 34] = bcd(b);
    j++;
  }
  return Date.UTC(2000 + out[0]!, out[1]! - 1, out[2]!, out[3]!, out[4]!, out[5]!) / 1000 - 8 * 3600;
}

/** The run's rate cap, as the simulator's RateLimiter holds it (private fields, set here by `go`). */
interface LimiterState {
  costMs: number;
  tat: number;
}

export function runIngestSimulator(): void {
  const keys = new KeyLog();
  // runSimulation builds one RateLimiter; the first reserve() call tells us which.
  let limiter: LimiterState | undefined;
  type Reserve = (this: RateLimiter, n: number, now: number) => number;
  const limiterProto = RateLimiter.prototype as unknown as { reserve: Reserve };
  const reserve = limiterProto.reserve;
  limiterProto.reserve = function (n, now) {
    limiter ??= this as unknown as LimiterState;
    return reserve.call(this, n, now);
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let windowOpen = false;
  let windowStart = 0;
  let hist = new LatencyBuckets();
  let sentInWindow = 0;
  let ackedInWindow = 0;
  let framesInWindow = 0;
  let checked = 0;

  type Hook = (this: VirtualTerminal, f: InFlight, result: number, now: number) => void;
  const proto = VirtualTerminal.prototype as unknown as { onLocationAnswered: Hook };
  const original = proto.onLocationAnswered;
  proto.onLocationAnswered = function (f, result, now) {
    original.call(this, f, result, now);
    if (result !== 0 && result !== 4) return; // acknowledged as failed: not a stored position
    const n = this.identity.number;
    if (f.msgId === 0x0200) {
      const t = locationTimeSec(f.frame);
      if (checked < 50) { // the quick parse must agree with the codec
        checked++;
        const d = decodeFrame(f.frame.subarray(1, f.frame.length - 1));
        if (!d.ok || (d.message.body as unknown as Location).timeSec !== t) throw new Error(`time parse disagrees with the codec for ${f.frame.toString('hex')}`);
      }
      keys.add(n, t, PositionKind.LIVE);
    } else {
      const d = decodeFrame(f.frame.subarray(1, f.frame.length - 1));
      if (d.ok && d.message.msgId === 0x0704) {
        const b = d.message.body as { batchType: number; locations: Location[] };
        for (const l of b.locations) keys.add(n, l.timeSec, b.batchType === 1 ? PositionKind.BLIND_AREA : PositionKind.BATCH);
      }
    }
    if (windowOpen) {
      hist.record(now - f.sentAt);
      ackedInWindow += f.positions;
      framesInWindow++;
    }
  };

  let abort: AbortController | undefined;
  let running: Promise<SimulationReport> | undefined;
  let args: IngestSimArgs | undefined;

  serveIngestRequests({
    run: (raw) => {
      args = raw as IngestSimArgs;
      abort = new AbortController();
      running = runSimulation({
        host: '127.0.0.1', port: args.port, terminals: args.terminals, firstId: args.firstId, intervalS: args.intervalS,
        rateLimit: args.rampRate, editions: 2013, seed: args.seed, connectConcurrency: args.concurrency,
        behaviour: { timeScale: args.timeScale, heartbeatS: args.heartbeatS, signalLoss: null },
        signal: abort.signal, drainMs: 10_000, progressIntervalMs: 1000,
        onProgress: (p) => emitEvent('progress', p),
        onFrame: (_phone, msgId, _serial, frame, resend) => {
          if (!windowOpen || resend) return;
          if (msgId === 0x0200) sentInWindow++;
          else if (msgId === 0x0704) {
            const d = decodeFrame(frame.subarray(1, frame.length - 1));
            if (d.ok) sentInWindow += (d.message.body as { locations: unknown[] }).locations.length;
          }
        },
      });
      running.catch(() => undefined);
      return null;
    },
    /** Switches the rate cap to the measured load (slots already booked keep their time). */
    go: (raw) => {
      const { ratePerSec } = raw as { ratePerSec: number };
      if (!limiter) throw new Error('no rate limiter seen yet: no terminal has reported');
      limiter.costMs = 1000 / ratePerSec;
      limiter.tat = Math.min(limiter.tat, performance.now());
      return null;
    },
    windowOpen: () => {
      hist = new LatencyBuckets();
      sentInWindow = ackedInWindow = framesInWindow = 0;
      loop.reset();
      loop.enable();
      windowStart = performance.now();
      windowOpen = true;
      return null;
    },
    windowClose: (): WindowFigures => {
      windowOpen = false;
      loop.disable();
      return {
        seconds: (performance.now() - windowStart) / 1000,
        sentPositions: sentInWindow,
        ackedPositions: ackedInWindow,
        ackedFrames: framesInWindow,
        latency: hist.counts,
        loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      };
    },
    /** Ends the run (waiting up to drainMs for outstanding acks); writes the keys; returns the report. */
    stop: async () => {
      abort?.abort();
      const report = await running!;
      keys.write(args!.keysFile);
      return { report, ackedKeys: keys.n };
    },
    exit: () => null,
  });
}
