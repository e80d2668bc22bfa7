/**
 * bench/gateway (b), the two runs: the real gateway (normal PublishPipeline, broker at `url`)
 * fed paced 0x0200 frames, and a plain mqtt.js publisher sending the same JSON at the same rate.
 */
import type { BusStats } from '../../src/bus/types.js';
import type { Counts } from './clients.js';
import type { GatewayStarted } from './gateway-server.js';
import { CpuMeter, countAll, openFleet, startServer, stopAll } from './fleet.js';
import { Child, progress } from './ipc.js';
import { LatencyProbe, clearRetainedStatus, startSpan, type LatencyFigures } from './latency.js';
import type { PublishResult } from './publisher.js';

export interface LatencyOptions {
  url: string;
  sessions: number;
  clientCount: number;
  concurrency: number;
  ratePerSec: number;
  warmupMs: number;
  measureMs: number;
}

export interface GatewayLatency extends LatencyFigures {
  /** 0x8001 the terminals got for their locations. */
  acked: number;
  dropped: number;
  /** Publishes the gateway's bus dropped (full buffer) or saw fail: losses on the gateway's side. */
  busDropped: number;
  busFailures: number;
  cpuPercent: { server: number; clients: number; machine: number; cores: number };
}

export async function gatewayLatency(o: LatencyOptions): Promise<GatewayLatency> {
  const server = startServer('gateway');
  const clients: Child[] = [];
  let started: GatewayStarted | undefined;
  const probe = new LatencyProbe(o.url, 0, o.sessions);
  try {
    started = await server.ask<GatewayStarted>('start', { gateway: { idleTimeoutMs: 600_000 }, mqttUrl: o.url });
    const fleet = await openFleet(clients, {
      host: '127.0.0.1', port: started.port, sessions: o.sessions, clientCount: o.clientCount, concurrency: o.concurrency, protocol: 'jt808',
    });
    progress(`latency/gateway: ${fleet.opened} sessions up; sending ${o.ratePerSec}/s for ${(o.warmupMs + o.measureMs) / 1000} s`);
    await probe.start();
    const cpu = new CpuMeter(server, clients);
    await cpu.start();
    startSpan(probe, o.warmupMs, o.measureMs);
    const per = o.ratePerSec / clients.length;
    const counts = await Promise.all(clients.map((c) => c.ask<Counts>('pace', { ratePerSec: per, durationMs: o.warmupMs + o.measureMs })));
    await cpu.stop();
    const sent = counts.reduce((s, c) => s + c.sent, 0);
    await probe.drain(sent, 5000);
    const after = await countAll(clients); // the last 0x8001 have arrived by now too
    const bus = await server.ask<BusStats>('bus');
    const figures = {
      ...probe.figures(sent), acked: after.acks, dropped: after.dropped,
      busDropped: bus.dropped, busFailures: bus.failures, cpuPercent: cpu.percent(),
    };
    progress(`latency/gateway: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await probe.close();
    await stopAll(clients, server);
    if (started) await clearRetainedStatus(o.url, 0, o.sessions, started.clientId);
  }
}

export async function publisherLatency(o: LatencyOptions): Promise<LatencyFigures & { acked: number }> {
  const publisher = Child.start('publisher', 'publisher');
  const probe = new LatencyProbe(o.url, 0, o.sessions);
  try {
    await probe.start();
    startSpan(probe, o.warmupMs, o.measureMs);
    const r = await publisher.ask<PublishResult>('run', {
      url: o.url, first: 0, count: o.sessions, ratePerSec: o.ratePerSec, durationMs: o.warmupMs + o.measureMs,
    });
    await probe.drain(r.sent, 5000);
    const figures = { ...probe.figures(r.sent), acked: r.acked };
    progress(`latency/baseline: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await probe.close();
    await publisher.stop();
  }
}
