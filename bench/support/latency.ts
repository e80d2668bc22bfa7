/**
 * bench/gateway (b): frame-in → MQTT-publish latency on a real broker. A subscriber in the
 * benchmark's process takes (arrival − receivedAt) of every location it gets; the gateway
 * stamps receivedAt when it reads the frame, the baseline publisher just before publishing.
 * Both stamps are whole milliseconds (ISO 8601), so every latency reads up to 1 ms high.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { gatewayStatusTopic } from '../../src/bus/mqtt-bus.js';
import { topics } from '../../src/bus/types.js';
import { BENCH_ID_BASE, terminalId } from './frames.js';
import { progress, sleep } from './ipc.js';

/** Sub-millisecond wall clock (epoch ms), comparable with Date.now() stamps of other processes. */
const wallNow = (): number => performance.timeOrigin + performance.now();

export interface LatencyFigures {
  sent: number;
  received: number;
  /** Messages stamped inside the measured span, per second: the publish rate achieved. */
  publishPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Subscribes to the location topics and measures the bench terminals' messages. */
export class LatencyProbe {
  private client: MqttClient | undefined;
  private latencies: number[] = [];
  private spanStart = Infinity;
  private spanEnd = Infinity;
  received = 0;

  constructor(private readonly url: string, private readonly first: number, private readonly count: number) {}

  async start(): Promise<void> {
    this.client = await connectAsync(this.url, { clientId: `fg-bench-sub-${process.pid}`, clean: true });
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    // QoS 0 on our side: with QoS 1, Mosquitto's defaults (20 in flight, 1,000 queued per
    // subscriber) drop or hold messages whenever this process is descheduled on the shared
    // cores, which would be measured as the gateway's latency. Publishers still use QoS 1.
    await this.client.subscribeAsync('fleetgate/v1/terminals/+/location', { qos: 0 });
  }

  /** Latencies count only for messages stamped in [start, end) (epoch ms): warm-up excluded. */
  span(start: number, end: number): void {
    this.spanStart = start;
    this.spanEnd = end;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const arrival = wallNow();
    // Other users of the shared broker may publish on the same tree: only our terminals count.
    const n = Number(topic.split('/')[3]) - BENCH_ID_BASE;
    if (!(n >= this.first && n < this.first + this.count)) return;
    this.received++;
    const stamp = Date.parse((JSON.parse(payload.toString('utf8')) as { receivedAt: string }).receivedAt);
    if (stamp >= this.spanStart && stamp < this.spanEnd) this.latencies.push(arrival - stamp);
  }

  /** Waits until `n` messages arrived, or `timeoutMs` passed. */
  async drain(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received < n && Date.now() < deadline) await sleep(20);
  }

  figures(sent: number): LatencyFigures {
    const a = Float64Array.from(this.latencies).sort();
    const q = (p: number): number => +(a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))]! : NaN).toFixed(2);
    return {
      sent, received: this.received,
      publishPerSec: Math.round(a.length / ((this.spanEnd - this.spanStart) / 1000)),
      p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: +(a.length ? a[a.length - 1]! : NaN).toFixed(2),
    };
  }

  async close(): Promise<void> {
    await this.client?.endAsync();
  }
}

/**
 * The gateway leaves a retained online/offline status per terminal (and one for itself) on the
 * broker, which persists them: the benchmark removes them (an empty retained publish).
 */
export async function clearRetainedStatus(url: string, first: number, count: number, gatewayClientId: string): Promise<void> {
  const client = await connectAsync(url, { clientId: `fg-bench-clean-${process.pid}`, clean: true });
  const names = [gatewayStatusTopic(gatewayClientId)];
  for (let i = 0; i < count; i++) names.push(topics.status(terminalId(first + i)));
  await Promise.all(names.map((t) => client.publishAsync(t, '', { qos: 1, retain: true })));
  await client.endAsync();
  progress(`cleared ${names.length} retained status topics`);
}

/** Sets the probe's span to [warm-up end, warm-up end + measure) from now; returns its length. */
export function startSpan(probe: LatencyProbe, warmupMs: number, measureMs: number): void {
  const start = wallNow() + warmupMs;
  probe.span(start, start + measureMs);
}
