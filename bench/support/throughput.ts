/**
 * bench/gateway (a): 0x0200 frames per second through a gateway whose pipeline is a null sink,
 * and the same clients and bytes against a bare TCP echo server (the floor: sockets only).
 */
import type { Counts } from './clients.js';
import { CpuMeter, countAll, openFleet, startServer, stopAll } from './fleet.js';
import { progress, sleep, type Child } from './ipc.js';

const SPAN_MS = 2_000;

export interface ThroughputOptions {
  sessions: number;
  clientCount: number;
  /** Connections opened at once per client process. */
  concurrency: number;
  /** Unacknowledged frames each client process keeps outstanding (spread over its sessions). */
  window: number;
  warmupMs: number;
  measureMs: number;
}

export interface ThroughputResult {
  sessions: number;
  establishMs: number;
  /** Frames answered per second over the measured span: 0x8001 (gateway) or echoed (baseline). */
  framesPerSec: number;
  /** The best SPAN_MS span within the measured one. */
  bestSpanFramesPerSec: number;
  answeredInSpan: number;
  sentInSpan: number;
  /** Connections the server closed during the run (rate limits, backpressure…): should be 0. */
  dropped: number;
  decodeErrors: number;
  cpuPercent: { server: number; clients: number; machine: number; cores: number };
}

export async function measureThroughput(kind: 'gateway' | 'echo', o: ThroughputOptions): Promise<ThroughputResult> {
  const server = startServer(kind === 'gateway' ? 'gateway' : 'bare');
  const clients: Child[] = [];
  try {
    const startArgs = kind === 'gateway'
      // One terminal sends far more than a real one: lift the per-connection rate limit.
      ? { gateway: { idleTimeoutMs: 600_000, maxFramesPerSecond: 1_000_000 }, nullPipeline: true }
      : { mode: 'echo' };
    const { port } = await server.ask<{ port: number }>('start', startArgs);
    const fleet = await openFleet(clients, {
      host: '127.0.0.1', port, sessions: o.sessions, clientCount: o.clientCount, concurrency: o.concurrency,
      protocol: kind === 'gateway' ? 'jt808' : 'raw',
    });
    progress(`${kind}: ${fleet.opened} sessions up in ${Math.round(fleet.ms)} ms; pumping (window ${o.window} per client process)`);
    await Promise.all(clients.map((c) => c.ask('pump', { window: o.window })));
    await sleep(o.warmupMs);
    const cpu = new CpuMeter(server, clients);
    const c0 = await countAll(clients);
    await cpu.start();
    const t0 = performance.now();
    // Sampled every SPAN_MS too: on a shared machine the best span shows what the code can do
    // when nothing else takes the cores.
    let bestSpan = 0;
    let prev = { acks: c0.acks, at: t0 };
    let c1 = c0;
    while (performance.now() - t0 < o.measureMs - 1) {
      await sleep(Math.min(SPAN_MS, o.measureMs - (performance.now() - t0)));
      c1 = await countAll(clients);
      const at = performance.now();
      bestSpan = Math.max(bestSpan, (c1.acks - prev.acks) / ((at - prev.at) / 1000));
      prev = { acks: c1.acks, at };
    }
    const seconds = (prev.at - t0) / 1000;
    await cpu.stop();
    await Promise.all(clients.map((c) => c.ask('stopPump')));
    const d = (k: keyof Counts): number => c1[k] - c0[k];
    const result: ThroughputResult = {
      sessions: fleet.opened,
      establishMs: Math.round(fleet.ms),
      framesPerSec: Math.round(d('acks') / seconds),
      bestSpanFramesPerSec: Math.round(bestSpan),
      answeredInSpan: d('acks'),
      sentInSpan: d('sent'),
      dropped: c1.dropped,
      decodeErrors: c1.decodeErrors,
      cpuPercent: cpu.percent(),
    };
    progress(`${kind}: ${result.framesPerSec} frames/s answered; cpu ${JSON.stringify(result.cpuPercent)}`);
    return result;
  } finally {
    await stopAll(clients, server);
  }
}
