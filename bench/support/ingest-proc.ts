/**
 * bench/ingest plumbing: child processes driven over the fork IPC channel (request/reply plus
 * events pushed by the child), and CPU accounting per process from /proc, so the result can say
 * which process used the cores while the figures were measured.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type IngestRole = 'gateway' | 'simulator' | 'echoServer' | 'echoClient';

type ToChild = { id: number; cmd: string; args?: unknown };
type FromChild = { id: number; result?: unknown; error?: string } | { event: string; data: unknown };

const ENTRY = fileURLToPath(new URL('./ingest-child.js', import.meta.url));

/** A child process playing one role; `ask` sends a command and resolves with its answer. */
export class IngestChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;
  onEvent: (event: string, data: unknown) => void = () => undefined;

  private constructor(readonly name: string, readonly proc: ChildProcess) {
    proc.on('message', (raw) => {
      const m = raw as FromChild;
      if ('event' in m) return this.onEvent(m.event, m.data);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`${name}: ${m.error}`));
      else p.resolve(m.result);
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (code ${code}) with a request pending`));
      this.pending.clear();
      resolve(code);
    }));
  }

  /** Forks the child; its stdout goes to our stderr (our stdout carries only the result line). */
  static start(name: string, role: IngestRole, execArgv: string[] = []): IngestChild {
    return new IngestChild(name, fork(ENTRY, [role], { execArgv, stdio: ['ignore', 2, 'inherit', 'ipc'] }));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  ask<T>(cmd: string, args?: unknown, timeoutMs = 180_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: '${cmd}' got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ id, cmd, args } satisfies ToChild);
    });
  }

  /** Asks the child to close what it holds and exit; kills it if it does not in time. */
  async stop(timeoutMs = 60_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await this.ask('exit', undefined, timeoutMs).catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** In a child: answers commands with `handlers`; 'exit' runs its handler, replies, then exits. */
export function serveIngestRequests(handlers: Record<string, (args: unknown) => unknown>): void {
  process.on('message', (raw) => {
    const req = raw as ToChild;
    const reply = (m: FromChild): void => {
      process.send?.(m, undefined, {}, () => {
        if (req.cmd === 'exit') process.exit(0);
      });
    };
    const h = handlers[req.cmd];
    if (!h) return reply({ id: req.id, error: `unknown command '${req.cmd}'` });
    Promise.resolve().then(() => h(req.args)).then(
      (result) => reply({ id: req.id, result: result ?? null }),
      (e: unknown) => reply({ id: req.id, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(1)); // a crashed benchmark must not leave children behind
}

/** A child pushes an event to the parent (progress, not an answer). */
export function emitEvent(event: string, data: unknown): void {
  process.send?.({ event, data } satisfies FromChild);
}

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
