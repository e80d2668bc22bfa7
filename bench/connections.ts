/**
 * bench/connections — how many authenticated idle sessions one gateway process holds here, what
 * each costs in memory, and how fast they are established. Prints one JSON line:
 *
 * - gateway: a fleetgate started with startFleetgate in its own process (embedded MQTT broker and
 *   HTTP API on free ports, idle timeout 10 min, silent log, --expose-gc); client processes
 *   (≤ 9,500 connections each) open raw TCP connections that register (0x0100) and authenticate
 *   (0x0102) as unique 12-digit terminals, then stay idle. sessionsOnline is the gateway's own
 *   session map; sessionsPerSec counts connect + register + authenticate completed per second,
 *   all clients together; rss/heapUsed are sampled in the gateway after two GCs before the first
 *   connection and once every session is online, and divided by the sessions online.
 * - baseline: in the same run, a bare net.createServer process holding as many idle connections
 *   from the same client processes (connect only), sampled the same way.
 * - ratios gateway/baseline, and the gateway's cost above the bare connection.
 *
 * The goal checked: under 5 KB (5,000 bytes) per idle session.
 * Run: npm run bench:connections [-- sessions clientProcesses concurrencyPerClient]
 */
import { execFileSync } from 'node:child_process';
import type { Child } from './support/ipc.js';
import { progress, sleep } from './support/ipc.js';
import type { MemorySample } from './support/memory.js';
import { CpuMeter, openSessions, prepareFleet, startServer, stopAll } from './support/fleet.js';

const sessions = Number(process.argv[2] ?? 19_000);
const clientCount = Number(process.argv[3] ?? 2);
// Two clients × 250 in flight stay under the listen backlog (511): no SYN dropped and retried 1 s later.
const concurrency = Number(process.argv[4] ?? 250);
const GOAL_BYTES_PER_SESSION = 5_000;

type Sample = MemorySample & { sessions?: number; live?: number; connections?: number };

interface Phase {
  /** Both halves: the establishment rate is over their sum (the sampling pause excluded). */
  ms: number;
  opened: number;
  failed: number;
  retries: Record<string, number>;
  slowConnects: number;
  clientProcesses: number;
  /** CPU use while sessions were being opened, % of one core. */
  cpu: { server: number; clients: number; machine: number; cores: number };
  before: Sample;
  /** After half the sessions: the slope from here on excludes one-off growth (young generation, JIT code). */
  mid: Sample;
  after: Sample;
  /** Sessions online (gateway) or connections held (baseline) when sampled. */
  heldMid: number;
  held: number;
}

async function phase(kind: 'gateway' | 'bare'): Promise<Phase> {
  const server = startServer(kind);
  const clients: Child[] = [];
  try {
    const startArgs = kind === 'gateway' ? { gateway: { idleTimeoutMs: 600_000 } } : { mode: 'hold' };
    const { port } = await server.ask<{ port: number }>('start', startArgs);
    const before = await server.ask<Sample>('measure');
    const shares = await prepareFleet(clients, {
      host: '127.0.0.1', port, sessions, clientCount, concurrency, protocol: kind === 'gateway' ? 'jt808' : 'raw',
    });
    progress(`${kind}: opening ${sessions} ${kind === 'gateway' ? 'sessions' : 'connections'} on :${port} from ${clients.length} processes`);
    const cpu = new CpuMeter(server, clients);
    await cpu.start();
    const first = await openSessions(clients, shares.map((n) => Math.floor(n / 2)));
    await cpu.stop();
    await sleep(500); // the last replies and status publishes settle before sampling
    const mid = await server.ask<Sample>('measure');
    await cpu.start();
    const second = await openSessions(clients);
    await cpu.stop();
    const opened = first.opened + second.opened;
    const ms = first.ms + second.ms;
    const retries = { ...first.retries };
    for (const [code, n] of Object.entries(second.retries)) retries[code] = (retries[code] ?? 0) + n;
    progress(`${kind}: ${opened} up in ${Math.round(ms)} ms (${first.failed + second.failed} failed, retries ${JSON.stringify(retries)}, ${first.slowConnects + second.slowConnects} slow connects)`);
    await sleep(500);
    const after = await server.ask<Sample>('measure');
    const heldOf = (s: Sample): number => (kind === 'gateway' ? s.sessions ?? 0 : s.connections ?? 0);
    progress(`${kind}: holding ${heldOf(after)}, rss ${mb(after.rss)} MB, heapUsed ${mb(after.heapUsed)} MB, fds ${after.fds}`);
    return {
      ms, opened, failed: first.failed + second.failed, retries, slowConnects: first.slowConnects + second.slowConnects, clientProcesses: clients.length, cpu: cpu.percent(),
      before, mid, after, heldMid: heldOf(mid), held: heldOf(after),
    };
  } finally {
    await stopAll(clients, server);
  }
}

const mb = (b: number): string => (b / 1048576).toFixed(1);

type Kind = 'rss' | 'heapUsed' | 'external';
const KINDS: Kind[] = ['rss', 'heapUsed', 'external'];

type PerSession = Record<Kind | 'rssLessNewSpaceGrowth', number>;

/**
 * Bytes per session: averaged over all (from before any), and the slope over the second half.
 * rssLessNewSpaceGrowth takes out V8's young-generation growth, a one-off that the gateway has
 * already done at start-up and the bare server does under the connection burst.
 */
function perSession(p: Phase): { average: PerSession; marginal: PerSession } {
  const over = (a: Sample, b: Sample, n: number): PerSession => {
    const r = {} as PerSession;
    for (const k of KINDS) r[k] = Math.round((b[k] - a[k]) / Math.max(1, n));
    r.rssLessNewSpaceGrowth = Math.round((b.rss - a.rss - (b.newSpace - a.newSpace)) / Math.max(1, n));
    return r;
  };
  return { average: over(p.before, p.after, p.held), marginal: over(p.mid, p.after, p.held - p.heldMid) };
}

function side(p: Phase): Record<string, unknown> {
  return {
    failed: p.failed,
    retries: p.retries,
    slowConnects: p.slowConnects,
    establishMs: Math.round(p.ms),
    cpuPercentWhileOpening: p.cpu,
    rssBefore: p.before.rss, rssAfter: p.after.rss,
    heapUsedBefore: p.before.heapUsed, heapUsedAfter: p.after.heapUsed,
    newSpaceBefore: p.before.newSpace, newSpaceAfter: p.after.newSpace,
    fdsAfter: p.after.fds,
  };
}

function fdLimit(): number {
  return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
}

const baseline = await phase('bare');
const gateway = await phase('gateway');
const g = perSession(gateway);
const b = perSession(baseline);
const ratio = (x: number, y: number): number | null => (y > 0 ? +(x / y).toFixed(2) : null);
console.log(JSON.stringify({
  bench: 'connections',
  node: process.version,
  fdLimitPerProcess: fdLimit(),
  sessionsTarget: sessions,
  clientProcesses: gateway.clientProcesses,
  concurrencyPerClient: concurrency,
  gateway: {
    sessionsOnline: gateway.after.sessions,
    liveConnections: gateway.after.live,
    sessionsPerSec: Math.round(gateway.opened / (gateway.ms / 1000)),
    bytesPerSession: g.average,
    marginalBytesPerSession: g.marginal,
    ...side(gateway),
  },
  baseline: {
    connections: baseline.held,
    connectsPerSec: Math.round(baseline.opened / (baseline.ms / 1000)),
    bytesPerConnection: b.average,
    marginalBytesPerConnection: b.marginal,
    ...side(baseline),
  },
  rssRatio: ratio(g.average.rss, b.average.rss),
  heapUsedRatio: ratio(g.average.heapUsed, b.average.heapUsed),
  aboveBaselinePerSession: {
    rss: g.average.rss - b.average.rss,
    rssLessNewSpaceGrowth: g.average.rssLessNewSpaceGrowth - b.average.rssLessNewSpaceGrowth,
    heapUsed: g.average.heapUsed - b.average.heapUsed,
  },
  goalBytesPerSession: GOAL_BYTES_PER_SESSION,
  rssUnderGoal: g.average.rss < GOAL_BYTES_PER_SESSION,
  heapUsedUnderGoal: g.average.heapUsed < GOAL_BYTES_PER_SESSION,
  marginalRssUnderGoal: g.marginal.rss < GOAL_BYTES_PER_SESSION,
}));
