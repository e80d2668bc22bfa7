/**
 * bench/ingest plumbing: its child processes (the request/reply children of ipc.ts, on
 * ingest-child.js), and CPU accounting per process from /proc, so the result can say which
 * process used the cores while the figures were measured.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Child } from './ipc.js';

export type IngestRole = 'gateway' | 'simulator' | 'echoServer' | 'echoClient';

const ENTRY = fileURLToPath(new URL('./ingest-child.js', import.meta.url));

/** The ingest benchmark's children: the generic request/reply child (ipc.ts) on ingest-child.js. */
export type IngestChild = Child;
export const IngestChild = {
  start: (name: string, role: IngestRole, execArgv: string[] = []): Child => Child.start(name, role, execArgv, ENTRY),
};

export { emitEvent, serveRequests as serveIngestRequests } from './ipc.js';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** Every PostgreSQL server process on the machine (postmaster, backends, WAL writer, …). */
export function postgresPids(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Machine-wide busy and total CPU seconds (all cores), from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = line[3]! + line[4]!; // idle + iowait
  return { busy: (total - idle) / TICKS_PER_S, total: total / TICKS_PER_S };
}

/** CPU used by named processes between two snapshots, as % of one core. */
export class CpuMeter {
  private t0 = 0;
  private start = new Map<string, number>();
  private pgStart = new Map<number, number>();
  private machine0 = { busy: 0, total: 0 };

  constructor(private readonly procs: Record<string, () => number[]>) {}

  private sample(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [name, pids] of Object.entries(this.procs)) m.set(name, pids().reduce((s, p) => s + cpuSecondsOf(p), 0));
    return m;
  }

  begin(): void {
    this.t0 = performance.now();
    this.start = this.sample();
    this.pgStart = new Map(postgresPids().map((p) => [p, cpuSecondsOf(p)]));
    this.machine0 = machineCpu();
  }

  /**
   * Percent of one core per process group; postgres = all its processes (those that started in
   * the window count whole, those that ended in it are missed); `rest` = everything else the
   * machine did (kernel time not charged to a process, other programs); machine = all cores.
   */
  end(): Record<string, number> {
    const s = (performance.now() - this.t0) / 1000;
    const now = this.sample();
    const out: Record<string, number> = {};
    let known = 0;
    for (const [name, v] of now) {
      const d = v - (this.start.get(name) ?? 0);
      known += d;
      out[name] = Math.round((d / s) * 100);
    }
    let pg = 0;
    for (const p of postgresPids()) pg += cpuSecondsOf(p) - (this.pgStart.get(p) ?? 0);
    known += pg;
    out.postgres = Math.round((pg / s) * 100);
    const m = machineCpu();
    const busy = m.busy - this.machine0.busy;
    const cores = (m.total - this.machine0.total) / s;
    out.rest = Math.round(((busy - known) / s) * 100);
    out.machineBusyPercentOfAllCores = Math.round((busy / (s * cores)) * 100);
    return out;
  }
}

export { progress, sleep } from './ipc.js';
