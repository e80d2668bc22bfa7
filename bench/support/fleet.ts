/**
 * Starting and stopping the processes of one benchmark phase: a server child and the client
 * children that open the sessions (each ≤ 9,500 connections, under the 20,000 open-file limit
 * of a process here, with room for the server's own files).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Counts, OpenArgs, OpenResult } from './clients.js';
import { Child, type Role } from './ipc.js';

export const MAX_CONNECTIONS_PER_CLIENT = 9_500;

/** Splits `total` as evenly as possible over `parts`. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor(total / parts) + (k < total % parts ? 1 : 0));
}

export interface OpenedFleet {
  /** Wall time from the first connect to the last session up, all clients together. */
  ms: number;
  opened: number;
  failed: number;
  retries: Record<string, number>;
  /** Connects that waited for a SYN retransmit (listen queue overflow). */
  slowConnects: number;
}

export type FleetOptions = Omit<OpenArgs, 'first' | 'count'> & { sessions: number; clientCount: number; firstTerminal?: number };

/**
 * Forks the client processes (enough that none holds more than 9,500 connections) and has
 * each encode its frames. The children are pushed onto `clients` as they start, so the
 * caller stops them even when a later step fails. Returns each client's share of sessions.
 */
export async function prepareFleet(clients: Child[], opts: FleetOptions): Promise<number[]> {
  const clientCount = Math.max(opts.clientCount, Math.ceil(opts.sessions / MAX_CONNECTIONS_PER_CLIENT));
  const shares = split(opts.sessions, clientCount);
  let first = opts.firstTerminal ?? 0;
  for (const [k, count] of shares.entries()) {
    const c = Child.start(`clients-${k}`, 'clients');
    clients.push(c);
    const args: OpenArgs = { host: opts.host, port: opts.port, first, count, concurrency: opts.concurrency, protocol: opts.protocol };
    await c.ask('prepare', args);
    first += count;
  }
  return shares;
}

/**
 * Has every client open its next `counts[k]` sessions (all remaining when omitted) at once,
 * timed from here: connect + register + authenticate, or connect only for 'raw'.
 */
export async function openSessions(clients: Child[], counts?: number[]): Promise<OpenedFleet> {
  const t0 = performance.now();
  const results = await Promise.all(clients.map((c, k) => c.ask<OpenResult>('open', counts ? { count: counts[k] } : undefined, 170_000)));
  const ms = performance.now() - t0;
  const retries: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.retries)) retries[code] = (retries[code] ?? 0) + n;
  return {
    ms, retries,
    opened: results.reduce((s, r) => s + r.opened, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
    slowConnects: results.reduce((s, r) => s + r.slowConnects, 0),
  };
}

/** prepareFleet, then open every session. */
export async function openFleet(clients: Child[], opts: FleetOptions): Promise<OpenedFleet> {
  await prepareFleet(clients, opts);
  return openSessions(clients);
}

/** Sums the clients' counters. */
export async function countAll(clients: Child[]): Promise<Counts> {
  const all = await Promise.all(clients.map((c) => c.ask<Counts>('count')));
  const sum: Counts = { sent: 0, acks: 0, dropped: 0, decodeErrors: 0, cpuUs: 0 };
  for (const c of all) for (const k of Object.keys(sum) as (keyof Counts)[]) sum[k] += c[k];
  return sum;
}

/** Stops the clients first (they close their sockets), then the server; waits for every exit. */
export async function stopAll(clients: Child[], server: Child | undefined): Promise<void> {
  await Promise.all(clients.map((c) => c.stop()));
  await server?.stop();
}

export function startServer(role: Extract<Role, 'gateway' | 'bare'>): Child {
  return Child.start(role, role, ['--expose-gc']);
}

/** Busy and total CPU time of the whole machine so far (jiffies, from /proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }; // minus idle and iowait
}

interface CpuMark {
  server: number;
  clients: number;
  machine: { busy: number; total: number };
  at: number;
}

/**
 * CPU used by the server, by the clients and by the whole machine over one or more timed spans,
 * as % of one core (two cores here: 200 % is every core busy). The machine figure shows when
 * something outside the benchmark competed for the cores.
 */
export class CpuMeter {
  private serverUs = 0;
  private clientsUs = 0;
  private machineBusy = 0;
  private machineTotal = 0;
  private wallMs = 0;
  private mark: CpuMark | undefined;

  constructor(private readonly server: Child, private readonly clients: Child[]) {}

  private async read(): Promise<CpuMark> {
    const [server, counts] = await Promise.all([this.server.ask<number>('cpu'), countAll(this.clients)]);
    return { server, clients: counts.cpuUs, machine: machineCpu(), at: performance.now() };
  }

  async start(): Promise<void> {
    this.mark = await this.read();
  }

  async stop(): Promise<void> {
    if (!this.mark) return;
    const now = await this.read();
    this.serverUs += now.server - this.mark.server;
    this.clientsUs += now.clients - this.mark.clients;
    this.machineBusy += now.machine.busy - this.mark.machine.busy;
    this.machineTotal += now.machine.total - this.mark.machine.total;
    this.wallMs += now.at - this.mark.at;
    this.mark = undefined;
  }

  percent(): { server: number; clients: number; machine: number; cores: number } {
    const pct = (us: number): number => Math.round(us / 10 / Math.max(1, this.wallMs));
    const cores = availableParallelism();
    return {
      server: pct(this.serverUs), clients: pct(this.clientsUs),
      machine: Math.round((100 * cores * this.machineBusy) / Math.max(1, this.machineTotal)), cores,
    };
  }
}
