/**
 * What a server process holds, sampled after two full GCs (needs `node --expose-gc`), so the
 * figures are live memory, not garbage waiting for the next collection.
 */
import { readdirSync } from 'node:fs';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** Memory of C++ objects bound to JS (socket handles, Buffers). */
  external: number;
  arrayBuffers: number;
  /**
   * V8's young generation as committed: it grows (up to 2 × 16 MB) under allocation bursts
   * and stays resident, a one-off that an RSS difference would charge to the sessions.
   */
  newSpace: number;
  /** Open file descriptors (sockets count against `ulimit -n`). */
  fds: number;
  /** CPU time of the process so far, µs (user + system). */
  cpuUs: number;
}

export async function sampleMemory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the server child must run with --expose-gc');
  gc();
  // A turn of the event loop lets weak callbacks and finalisers run before the second pass.
  await new Promise((r) => setImmediate(r));
  gc();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
    newSpace: getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')?.space_size ?? 0,
    fds: readdirSync('/proc/self/fd').length, cpuUs: cpu.user + cpu.system,
  };
}

export function cpuUs(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

/** A gc() for a process started without --expose-gc (benchmarks run as plain `node`). */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** JS heap plus array buffers after full GCs until they stop shrinking (freed backing stores go lazily). */
export async function settledMemory(gc: () => void): Promise<number> {
  const used = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const now = used();
    if (now >= last - 1024) return now;
    last = now;
  }
  return last;
}
