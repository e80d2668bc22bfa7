import { defaultBehaviour, type TerminalBehaviour, type TerminalEnv } from './behaviour.js';
import { identityFor, type SimEdition } from './identity.js';
import { Random } from './random.js';
import { RoutePath, loadRoutes, type RouteFixture } from './route.js';
import { ConnectGate, RateLimiter, Scheduler } from './scheduler.js';
import { SimulationStats, reportOf, type SimulationReport } from './stats.js';
import { VirtualTerminal } from './terminal.js';

export interface SimulationOptions {
  host: string;
  port: number;
  terminals: number;
  /** Report interval while driving, simulated seconds (parameter 0x0029). */
  intervalS: number;
  /** Cap on positions per second over all terminals (token bucket); none by default. */
  rateLimit?: number;
  /** Run this long (real seconds); without it, until `signal` aborts. */
  durationS?: number;
  /** Edition of every terminal, or 'mix': even numbers 2013, odd 2019. */
  editions?: SimEdition | 'mix';
  seed?: number;
  /** Terminals connecting/authenticating at once (default 200). */
  connectConcurrency?: number;
  /** Number of the first terminal, so several simulators can share one gateway (default 1). */
  firstId?: number;
  /** Virtual time of every terminal's first report (default: now, to the second). */
  startTime?: Date | number;
  routes?: RouteFixture[];
  /** Anything else about the terminals' behaviour (time scale, heartbeats, outages, re-sends …). */
  behaviour?: Partial<TerminalBehaviour>;
  signal?: AbortSignal;
  /** After the run, how long to wait for outstanding acks before closing (real ms, default 2000). */
  drainMs?: number;
  /** Called every `progressIntervalMs` (default 5000) while running. */
  onProgress?: (p: SimulationProgress) => void;
  progressIntervalMs?: number;
  /** Tap on every frame written. */
  onFrame?: TerminalEnv['onFrame'];
  /** Called once the terminals exist, before they connect (tests reach single terminals through it). */
  onStart?: (terminals: readonly VirtualTerminal[]) => void;
}

export interface SimulationProgress {
  elapsedS: number;
  online: number;
  everOnline: number;
  locationsSent: number;
  acked: number;
  unacked: number;
  resent: number;
  reconnects: number;
}

function check(o: SimulationOptions): void {
  const bad = (what: string): never => {
    throw new Error(`simulation: ${what}`);
  };
  if (!Number.isInteger(o.terminals) || o.terminals < 1) bad(`terminals must be a positive integer, not ${o.terminals}`);
  if (!(o.intervalS > 0)) bad(`intervalS must be positive, not ${o.intervalS}`);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) bad(`port must be 1–65535, not ${o.port}`);
  if (o.rateLimit !== undefined && !(o.rateLimit > 0)) bad(`rateLimit must be positive, not ${o.rateLimit}`);
  if (o.durationS !== undefined && !(o.durationS >= 0)) bad(`durationS must be ≥ 0, not ${o.durationS}`);
  if (o.connectConcurrency !== undefined && !(o.connectConcurrency >= 1)) bad(`connectConcurrency must be ≥ 1`);
  if (o.durationS === undefined && o.signal === undefined) bad('give durationS or an abort signal, or it never ends');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves after durationS, or when the signal aborts, whichever is first. */
function runFor(durationS: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = durationS === undefined ? undefined : setTimeout(done, durationS * 1000);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Drives N virtual terminals against a JT/T 808 platform and reports what happened: terminals
 * online, frames by id, positions, acks and re-sends, ack latency, commands answered,
 * reconnects. Connections are staggered through a gate; one scheduler times everything, so
 * 10,000 terminals cost one timer. With the same seed and start time, each terminal sends the
 * same frames.
 */
export async function runSimulation(o: SimulationOptions): Promise<SimulationReport> {
  check(o);
  const seed = o.seed ?? 1;
  const scheduler = new Scheduler();
  const stats = new SimulationStats();
  const start = scheduler.now();
  const paths = (o.routes ?? loadRoutes()).map((r) => new RoutePath(r));
  const epochMs = o.startTime === undefined ? Math.floor(Date.now() / 1000) * 1000 : new Date(o.startTime).getTime();
  const env: TerminalEnv = {
    host: o.host,
    port: o.port,
    scheduler,
    stats,
    behaviour: defaultBehaviour({ intervalS: o.intervalS, ...o.behaviour }),
    epochMs,
    seed,
    gate: new ConnectGate(o.connectConcurrency ?? 200),
    limiter: o.rateLimit === undefined ? undefined : new RateLimiter(o.rateLimit, start),
    onFrame: o.onFrame,
  };
  const first = o.firstId ?? 1;
  const terminals: VirtualTerminal[] = [];
  for (let i = 0; i < o.terminals; i++) {
    const edition: SimEdition = o.editions === 'mix' || o.editions === undefined ? (i % 2 === 0 ? 2013 : 2019) : o.editions;
    const rng = Random.derive(seed, first + i);
    const path = paths[rng.int(0, paths.length - 1)]!;
    terminals.push(new VirtualTerminal(identityFor(first + i, edition), path, env, rng));
  }
  o.onStart?.(terminals);
  const elapsedS = (): number => (scheduler.now() - start) / 1000;
  const progress = o.onProgress === undefined ? undefined : setInterval(() => o.onProgress?.({
    elapsedS: elapsedS(), online: stats.online, everOnline: stats.everOnline, locationsSent: stats.locationsSent,
    acked: stats.acked, unacked: stats.unacked, resent: stats.resent, reconnects: stats.reconnects,
  }), o.progressIntervalMs ?? 5000);
  try {
    for (const t of terminals) t.start();
    await runFor(o.durationS, o.signal);
    const duration = elapsedS();
    // Let the platform answer what is already on the wire, so the report does not count the
    // last second's frames as unacked.
    for (const t of terminals) t.quiesce();
    const drainUntil = scheduler.now() + (o.drainMs ?? 2000);
    while (scheduler.now() < drainUntil && terminals.some((t) => t.inFlight > 0)) await sleep(20);
    const online = stats.online;
    for (const t of terminals) t.stop();
    return { ...reportOf(stats, o.terminals, duration), online };
  } finally {
    if (progress) clearInterval(progress);
    for (const t of terminals) t.stop();
    scheduler.stop();
  }
}
