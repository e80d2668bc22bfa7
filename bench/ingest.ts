/**
 * bench/ingest — terminals → gateway → database, all on this machine. Prints one JSON line:
 *
 * - postgres: the simulator (`terminals` virtual 2013 terminals in `simulators` processes,
 *   no signal loss, report interval `intervalS` simulated seconds at `timeScale`, capped at
 *   `offeredPerSec` in total once all of them are online — they connect under a 2,000/s cap)
 *   → a fleetgate in its own process (startFleetgate: embedded MQTT
 *   broker and the normal publishing behind the store, PostgreSQL at DATABASE_URL or
 *   postgres://postgres@127.0.0.1:5432, a fresh database) → PostgreSQL. Over a window after
 *   every terminal is online: positions acknowledged per second and the acknowledgement latency
 *   (write of the frame → its 0x8001, measured in the simulators). At the end every
 *   acknowledged position (terminal, device time, kind) is looked up in `positions`: `lost`
 *   counts those missing and must be 0; `duplicates` counts rows stored twice for one key.
 * - baseline: in the same run, the rows stored, exported as COPY text and loaded by psql with
 *   `COPY positions (…) FROM STDIN` into a fresh database with the same schema: rows per second.
 *   `ratio` = ackedPerSec / copyRowsPerSec.
 * - postgresSustained: the same terminals offered `sustainedOfferedPerSec`, a load this machine
 *   carries within the latency goal, so the CPU each process spends per position can be read
 *   off a run that is not in overload.
 * - pglite: the same end to end with the embedded PGlite (single-threaded WASM, in the gateway's
 *   own thread) behind the gateway, with fewer terminals: what it sustains.
 * - tcpFloor: a bare TCP server answering every 60-byte frame with a 20-byte reply, driven at the
 *   goal's shape (10,000 sockets, 30,000 frames/s): the CPU one position costs in the kernel and
 *   Node's socket layer before any decoding, storing or publishing — once with each reply written
 *   at once, once with replies held 50 ms (store.batchMaxMs) as a gateway that acknowledges only
 *   committed batches must. Machine-wide CPU included (softirq, every process).
 * - notes: CPU per position per process and what limits the rate, computed from the figures.
 *
 * Every process shares the machine's cores: `cpuPercentOfOneCore` says which one used them
 * during the window (postgres = all its processes; machineBusy… is of all cores).
 * Run: npm run bench:ingest [-- terminals windowS offeredPerSec sustainedOfferedPerSec pgliteTerminals pgliteOfferedPerSec]
 * Env: INGEST_PROFILE_DIR=dir writes V8 CPU profiles of the gateway and a simulator there;
 *      INGEST_ONLY=goal,sustained,pglite,floor runs only those parts; INGEST_STORE='{"maxInFlightBatches":4}'
 *      overrides store.*; INGEST_CONFIG='{"rules":{"enabled":false}}' adds config sections;
 *      INGEST_SIM_NICE=10 runs the simulators at that niceness (terminals are other machines: keep
 *      them from taking the gateway's CPU; the default 0 shares the cores evenly); INGEST_KEEP_DB=1
 *      keeps the databases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureTcpFloor, type TcpFloor } from './support/ingest-echo.js';
import { progress } from './support/ingest-proc.js';
import { runIngest, type RunResult } from './support/ingest-run.js';
import { copyBaseline, createDatabase, dropDatabase, type CopyBaseline } from './support/ingest-verify.js';

const arg = (i: number, dflt: number): number => (process.argv[i] === undefined ? dflt : Number(process.argv[i]));
const terminals = arg(2, 10_000);
const windowS = arg(3, 15);
const offeredPerSec = arg(4, 30_000);
const sustainedOfferedPerSec = arg(5, 6_000);
const pgliteTerminals = arg(6, 2_000);
const pgliteOfferedPerSec = arg(7, 8_000);
const parts = new Set((process.env.INGEST_ONLY ?? 'goal,sustained,pglite,floor').split(','));
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const store = process.env.INGEST_STORE ? (JSON.parse(process.env.INGEST_STORE) as Record<string, number>) : undefined;
const profileDir = process.env.INGEST_PROFILE_DIR;

// Simulated seconds between reports while driving, and simulated seconds per real second: each
// driving terminal could report timeScale/intervalS = 10 times a second (about 4 on average over a
// fleet whose vehicles park and stop at lights); the rate cap sets the offered load. Device times
// are whole seconds, so intervalS ≥ 1 keeps every report's key distinct. Heartbeats every 600
// simulated seconds (6 s real): positions keep the sessions alive. The terminals connect and
// register under a cap of rampPerSec; the offered load is switched on once all are online, and
// the window opens 20 s later: switching on leaves a backlog of overdue reports and 10,000 rule
// states to write, which takes 10–15 s to drain here (runAckLatencyMs, over the whole run,
// includes it; ackLatencyMs is the steady state).
const simulatorNice = Number(process.env.INGEST_SIM_NICE ?? 0);
const load = { intervalS: 10, timeScale: 100, heartbeatS: 600, rampPerSec: 2_000, settleS: 20, windowS, store, profileDir, simulatorNice };

const started = performance.now();
const databases: string[] = [];
async function freshDatabase(name: string): Promise<string> {
  databases.push(name);
  return createDatabase(adminUrl, name);
}

let postgres: RunResult | undefined;
let sustained: RunResult | undefined;
let baseline: CopyBaseline | undefined;
let pglite: RunResult | undefined;
let tcpFloor: TcpFloor[] | undefined;
try {
  if (parts.has('goal')) {
    const url = await freshDatabase(`fg_ingest_${process.pid}`);
    postgres = await runIngest({ label: 'postgres', databaseUrl: url, terminals, simulators: 2, offeredPerSec, ...load });
    progress(`postgres: ${postgres.ackedPerSec}/s acked, p99 ${postgres.ackLatencyMs.p99} ms; COPY baseline of ${postgres.rowsStored} rows`);
    const freshUrl = await freshDatabase(`fg_ingest_base_${process.pid}`);
    const dir = mkdtempSync(join(tmpdir(), 'fg-ingest-copy-'));
    try {
      baseline = copyBaseline(url, freshUrl, join(dir, 'positions.copy'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    progress(`baseline: COPY ${baseline.rows} rows in ${baseline.seconds} s`);
  }
  if (parts.has('sustained')) {
    const url = await freshDatabase(`fg_ingest_sus_${process.pid}`);
    sustained = await runIngest({ label: 'sustained', databaseUrl: url, terminals, simulators: 2, offeredPerSec: sustainedOfferedPerSec, ...load });
  }
  if (parts.has('pglite')) {
    pglite = await runIngest({ label: 'pglite', terminals: pgliteTerminals, simulators: 1, offeredPerSec: pgliteOfferedPerSec, ...load });
  }
  if (parts.has('floor')) {
    progress('tcp floor: bare frame-and-reply, 10,000 loopback sockets at 30,000/s, replies at once and held 50 ms');
    tcpFloor = [];
    for (const replyAfterMs of [0, 50]) {
      try {
        tcpFloor.push(await measureTcpFloor(10_000, 30_000, 8, replyAfterMs));
      } catch (e) {
        progress(`tcp floor (replies after ${replyAfterMs} ms) failed: ${(e as Error).message}`);
      }
    }
  }
} finally {
  if (!process.env.INGEST_KEEP_DB) for (const d of databases) await dropDatabase(adminUrl, d).catch(() => undefined);
}

const brief = (r: RunResult | undefined): Record<string, unknown> | undefined => r && {
  terminals: r.terminals, offeredPerSec: r.offeredPerSec, sentPerSec: r.sentPerSec, ackedPerSec: r.ackedPerSec,
  ackLatencyMs: r.ackLatencyMs, acked: r.acked, rowsStored: r.rowsStored, lost: r.lost, duplicates: r.duplicates,
  duplicatesDroppedOnInsert: r.duplicatesDroppedOnInsert, unacked: r.unacked, resent: r.resent,
  windowS: r.windowS, rampS: r.rampS, onlineAtWindow: r.onlineAtWindow, perSecondAcked: r.perSecondAcked, runAckLatencyMs: r.runAckLatencyMs,
  cpuPercentOfOneCore: r.cpuPercentOfOneCore, cpuUsPerPosition: cpuPerPosition(r), simulatorLoopDelayMs: r.simulatorLoopDelayMs,
  gateway: { loopDelayMs: r.gateway.loopDelayMs, batches: r.gateway.batches, pendingRowsAtWindowEnd: r.gateway.pendingRows },
  verification: r.verification,
};

/** CPU microseconds each process group spent per acknowledged position in the window. */
function cpuPerPosition(r: RunResult): Record<string, number> {
  const out: Record<string, number> = {};
  const { machineBusyPercentOfAllCores: _machine, ...groups } = r.cpuPercentOfOneCore;
  for (const [k, pct] of Object.entries(groups)) out[k] = Math.round((pct / 100) * 1e6 / Math.max(1, r.ackedPerSec));
  // The three measured processes; `rest` (other programs, unattributed kernel work) stays apart.
  out.measured = (out.gateway ?? 0) + (out.simulators ?? 0) + (out.postgres ?? 0);
  return out;
}

function notes(): string[] {
  const n: string[] = [];
  const cores = cpus().length;
  if (postgres) {
    const met = postgres.ackedPerSec >= 30_000 && postgres.lost === 0 && postgres.ackLatencyMs.p99 < 250;
    const c = postgres.cpuPercentOfOneCore;
    n.push(`goal (30,000/s, nothing lost, p99 < 250 ms) ${met ? 'met' : 'not met'}: ${postgres.offeredPerSec}/s offered by ${postgres.terminals} terminals ` +
      `(${postgres.onlineAtWindow} online), ${postgres.sentPerSec}/s written, ${postgres.ackedPerSec}/s acknowledged, p50 ${postgres.ackLatencyMs.p50} ms, p99 ${postgres.ackLatencyMs.p99} ms, ` +
      `${postgres.lost} acknowledged positions missing, ${postgres.duplicates} stored twice. CPU (% of one core): simulators ${c.simulators}, gateway ${c.gateway}, PostgreSQL ${c.postgres}, other ${c.rest}; machine ${c.machineBusyPercentOfAllCores} % busy.`);
  }
  if (sustained) {
    const c = cpuPerPosition(sustained);
    n.push(`at ${sustained.offeredPerSec}/s offered (${sustained.ackedPerSec}/s acknowledged, p99 ${sustained.ackLatencyMs.p99} ms) one position costs ${c.measured} µs of CPU in the three processes: ` +
      `gateway ${c.gateway}, simulators ${c.simulators}, PostgreSQL ${c.postgres} (plus ${c.rest} µs elsewhere: unattributed kernel work and other programs on this shared machine).`);
    n.push(`${cores} cores = ${cores * 1e6} µs of CPU a second: at ${c.measured} µs a position, simulator, gateway and database together top out near ${Math.round((cores * 1e6) / c.measured)}/s here; ` +
      `30,000/s would take about ${((30_000 * c.measured) / 1e6).toFixed(1)} cores at that cost. The limit is CPU, not the writer's batching or the database's COPY rate.`);
    n.push(`the gateway is one Node.js thread: at ${c.gateway} µs a position it cannot pass about ${Math.round(1e6 / c.gateway)}/s even with a core to itself, so 30,000/s needs several gateway processes (architecture: N gateways behind an L4 balancer).`);
  }
  if (tcpFloor) {
    for (const f of tcpFloor) {
      n.push(`loopback TCP alone (60-byte frame up, 20-byte reply down ${f.replyAfterMs ? `held ${f.replyAfterMs} ms` : 'at once'}, bare server, ${f.sockets} sockets at ${f.ratePerSec}/s: ${f.ackedPerSec}/s answered) ` +
        `costs ${f.cpuUsPerPosition} µs a position in the two processes, ${f.machineUsPerPosition} µs machine-wide: ${f.machineBusyPercentOfAllCores} % of all ${cores} cores ` +
        `busy moving bytes before any decoding, storing, publishing or rules.`);
    }
  }
  if (baseline && postgres) n.push(`psql COPY of the same ${baseline.rows} rows into an empty copy of the table: ${baseline.copyRowsPerSec}/s, ${Math.round(baseline.copyRowsPerSec / Math.max(1, postgres.ackedPerSec))}× the end-to-end rate.`);
  if (pglite) {
    n.push(`PGlite runs in the gateway's own thread (WASM, synchronous): ${pglite.ackedPerSec}/s acknowledged with ${pglite.terminals} terminals offering ${pglite.offeredPerSec}/s, ` +
      `p99 ${pglite.ackLatencyMs.p99} ms, gateway at ${pglite.cpuPercentOfOneCore.gateway} % of a core (${cpuPerPosition(pglite).gateway} µs a position, database included).`);
  }
  const rest = [postgres, sustained, pglite].filter((r): r is RunResult => r !== undefined).map((r) => r.cpuPercentOfOneCore.rest);
  if (rest.length) n.push(`CPU used outside the measured processes during the windows: ${rest.join(', ')} % of one core (the machine is shared; high values mean other work competed).`);
  return n;
}

const ratio = postgres && baseline ? +(postgres.ackedPerSec / baseline.copyRowsPerSec).toFixed(3) : null;
console.log(JSON.stringify({
  bench: 'ingest',
  node: process.version,
  cores: cpus().length,
  load: { intervalS: load.intervalS, timeScale: load.timeScale, heartbeatS: load.heartbeatS, edition: 2013, signalLoss: false, rampPerSec: load.rampPerSec, settleS: load.settleS, windowS, store: store ?? 'defaults' },
  postgres: brief(postgres),
  baseline,
  ratio,
  postgresSustained: brief(sustained),
  pglite: brief(pglite),
  tcpFloor,
  notes: notes(),
  totalS: Math.round((performance.now() - started) / 1000),
}));
