/**
 * One end-to-end ingest run: a gateway process (PostgreSQL or PGlite behind it), simulator
 * processes sharing the terminals, a ramp until every terminal is online, a settle period, a
 * measured window, then the end: simulators stop (outstanding acks drained), the gateway
 * closes (its writer commits what it holds), and every acknowledged position is looked up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/config.js';
import type { SimulationProgress, SimulationReport } from '../../src/simulator/index.js';
import { PgliteSql, PostgresSql, type Sql } from '../../src/store/sql.js';
import type { IngestGatewayStats } from './ingest-gateway.js';
import { CpuMeter, IngestChild, progress, sleep } from './ingest-proc.js';
import { LatencyBuckets, type IngestSimArgs, type WindowFigures } from './ingest-simulator.js';
import { readKeys, verifyStored, type Verification } from './ingest-verify.js';

export interface RunOptions {
  label: string;
  /** PostgreSQL; unset = PGlite in a temp dir. */
  databaseUrl?: string;
  store?: ConfigInput['store'];
  terminals: number;
  simulators: number;
  intervalS: number;
  timeScale: number;
  heartbeatS: number;
  /** Offered positions per second over all simulators (each gets its share as its rate cap). */
  offeredPerSec: number;
  /** The cap while the terminals connect and register, before the offered load is switched on. */
  rampPerSec: number;
  settleS: number;
  windowS: number;
  /** Write V8 CPU profiles of the gateway and the first simulator here. */
  profileDir?: string;
  /**
   * Scheduling niceness of the simulator processes (0 = same as the rest): terminals are other
   * machines, so a run can keep them from taking the CPU the gateway and the database need.
   */
  simulatorNice?: number;
}

export interface RunResult {
  terminals: number;
  simulators: number;
  offeredPerSec: number;
  sentPerSec: number;
  ackedPerSec: number;
  ackLatencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The same latency over the whole run (ramp and drain included), from the simulator reports. */
  runAckLatencyMs: { p50: number; p99: number; max: number };
  windowS: number;
  rampS: number;
  /** Terminals online when the window opened (all of them unless the ramp limit was hit). */
  onlineAtWindow: number;
  perSecondAcked: number[];
  acked: number;
  unacked: number;
  resent: number;
  rowsStored: number;
  lost: number;
  duplicates: number;
  duplicatesDroppedOnInsert: number;
  verification: Verification;
  cpuPercentOfOneCore: Record<string, number>;
  gateway: IngestGatewayStats;
  simulatorLoopDelayMs: { p99: number; max: number }[];
}

/** Longest wait for every terminal to come online before measuring anyway. */
const RAMP_LIMIT_S = 60;

export async function runIngest(o: RunOptions): Promise<RunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), `fg-ingest-${o.label}-`));
  const prof = (name: string): string[] => (o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir, '--cpu-prof-name', `${o.label}-${name}.cpuprofile`] : []);
  const gateway = IngestChild.start('gateway', 'gateway', prof('gateway'));
  const sims: IngestChild[] = [];
  try {
    const { port } = await gateway.ask<{ port: number }>('start', { databaseUrl: o.databaseUrl, dataDir, store: o.store });
    progress(`${o.label}: gateway on :${port} (pid ${gateway.pid}); ${o.terminals} terminals in ${o.simulators} simulator(s) connecting at ${o.rampPerSec}/s`);
    const latest: SimulationProgress[] = [];
    const per = Math.ceil(o.terminals / o.simulators);
    for (let i = 0; i < o.simulators; i++) {
      const sim = IngestChild.start(`simulator ${i}`, 'simulator', i === 0 ? prof('simulator') : []);
      if (o.simulatorNice) setPriority(sim.pid, o.simulatorNice);
      sim.onEvent = (ev, data) => {
        if (ev === 'progress') latest[i] = data as SimulationProgress;
      };
      sims.push(sim);
      const terminals = Math.min(per, o.terminals - i * per);
      await sim.ask('run', {
        port, terminals, firstId: 1 + i * per, intervalS: o.intervalS, timeScale: o.timeScale, heartbeatS: o.heartbeatS,
        rampRate: o.rampPerSec * (terminals / o.terminals), seed: 1 + i, concurrency: 200, keysFile: join(dataDir, `keys-${i}.bin`),
      } satisfies IngestSimArgs);
    }
    const sum = (f: (p: SimulationProgress) => number): number => latest.reduce((s, p) => s + (p ? f(p) : 0), 0);

    // Ramp: until every terminal is online, or RAMP_LIMIT_S (then the window measures what got on).
    const t0 = performance.now();
    let shown = t0;
    let ackedThen = 0;
    while (sum((p) => p.online) < o.terminals && performance.now() - t0 < RAMP_LIMIT_S * 1000) {
      await sleep(250);
      if (performance.now() - shown >= 5000) {
        const acked = sum((p) => p.acked);
        const g = await gateway.ask<IngestGatewayStats>('stats');
        progress(`${o.label}: ramp ${((performance.now() - t0) / 1000).toFixed(0)} s: ${sum((p) => p.online)} online, ${Math.round((acked - ackedThen) / ((performance.now() - shown) / 1000))} acked/s, ${sum((p) => p.unacked)} unacked; gateway: ${g.pendingRows} rows pending, loop p99 ${g.loopDelayMs ? g.loopDelayMs.p99.toFixed(0) : '?'} ms, batches ${g.batches.count} (mean ${g.batches.meanMs.toFixed(0)} ms)${g.pool ? `, pool ${g.pool.total} open ${g.pool.idle} idle ${g.pool.waiting} waiting` : ''}`);
        ackedThen = acked;
        shown = performance.now();
      }
    }
    const rampS = (performance.now() - t0) / 1000;
    progress(`${o.label}: ${sum((p) => p.online)} of ${o.terminals} online after ${rampS.toFixed(1)} s; offering ${o.offeredPerSec}/s, settling ${o.settleS} s`);
    await Promise.all(sims.map((s, i) => s.ask('go', { ratePerSec: o.offeredPerSec * (Math.min(per, o.terminals - i * per) / o.terminals) })));
    await sleep(o.settleS * 1000);
    const onlineAtWindow = sum((p) => p.online);

    const cpu = new CpuMeter({ gateway: () => [gateway.pid], simulators: () => sims.map((s) => s.pid) });
    await gateway.ask('stats'); // resets its loop-delay histogram
    cpu.begin();
    await Promise.all(sims.map((s) => s.ask('windowOpen')));
    const perSecondAcked: number[] = [];
    let last = sum((p) => p.acked);
    for (let s = 0; s < o.windowS; s++) {
      await sleep(1000);
      const now = sum((p) => p.acked);
      perSecondAcked.push(now - last);
      last = now;
      if (s % 5 === 4) progress(`${o.label}: window ${s + 1} s: ${Math.round(perSecondAcked.slice(-5).reduce((a, b) => a + b, 0) / 5)} acked/s (last 5 s)`);
    }
    const windows = await Promise.all(sims.map((s) => s.ask<WindowFigures>('windowClose')));
    const cpuPercent = cpu.end();
    const gwStats = await gateway.ask<IngestGatewayStats>('stats');
    progress(`${o.label}: window done; stopping simulators (draining acks)`);

    const ends = await Promise.all(sims.map((s) => s.ask<{ report: SimulationReport; ackedKeys: number }>('stop')));
    await Promise.all(sims.map((s) => s.stop()));
    const gwEnd = await gateway.ask<IngestGatewayStats>('stats');
    await gateway.stop();

    const keys = readKeys(sims.map((_, i) => join(dataDir, `keys-${i}.bin`)));
    const sql: Sql = o.databaseUrl ? new PostgresSql(o.databaseUrl, { max: 1 }) : await PgliteSql.open(join(dataDir, 'pglite'));
    let verification: Verification;
    try {
      verification = await verifyStored(sql, keys);
    } finally {
      await sql.close();
    }

    const secs = windows.reduce((s, w) => Math.max(s, w.seconds), 0);
    const merged = windows[0]!.latency.map((_, i) => windows.reduce((s, w) => s + w.latency[i]!, 0));
    const q = (x: number): number => LatencyBuckets.quantile(merged, x);
    const reports = ends.map((e) => e.report);
    const worst = (f: (r: SimulationReport) => number): number => Math.max(...reports.map(f));
    return {
      terminals: o.terminals,
      simulators: o.simulators,
      offeredPerSec: o.offeredPerSec,
      sentPerSec: Math.round(windows.reduce((s, w) => s + w.sentPositions, 0) / secs),
      ackedPerSec: Math.round(windows.reduce((s, w) => s + w.ackedPositions, 0) / secs),
      ackLatencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) },
      runAckLatencyMs: { p50: worst((r) => r.ackLatencyMs.p50), p99: worst((r) => r.ackLatencyMs.p99), max: worst((r) => r.ackLatencyMs.max) },
      windowS: +secs.toFixed(2),
      rampS: +rampS.toFixed(1),
      onlineAtWindow,
      perSecondAcked,
      acked: reports.reduce((s, r) => s + r.acks.acked, 0),
      unacked: reports.reduce((s, r) => s + r.acks.unacked, 0),
      resent: reports.reduce((s, r) => s + r.acks.resent, 0),
      rowsStored: verification.rowsStored,
      lost: verification.lost,
      duplicates: verification.duplicateRows,
      duplicatesDroppedOnInsert: gwEnd.writer.duplicates,
      verification,
      cpuPercentOfOneCore: cpuPercent,
      gateway: gwStats,
      simulatorLoopDelayMs: windows.map((w) => ({ p99: +w.loopDelayMs.p99.toFixed(1), max: +w.loopDelayMs.max.toFixed(1) })),
    };
  } finally {
    for (const s of sims) await s.stop(5000).catch(() => undefined);
    await gateway.stop(5000).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
