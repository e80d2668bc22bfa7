/**
 * Baseline for the latency benchmark: a plain mqtt.js client publishing, straight to the
 * broker, the same JSON the gateway publishes for the same frames (QoS 1, same topics, same
 * rate), stamped `receivedAt` just before publishing — what is left is the broker's hop.
 */
import { connectAsync } from 'mqtt';
import { topics } from '../../src/bus/types.js';
import { decodeFrame, messageToJson } from '../../src/protocol/jt808/index.js';
import { locationFrame, terminalId } from './frames.js';
import { serveRequests } from './ipc.js';
import { cpuUs } from './memory.js';

export interface PublishArgs {
  url: string;
  first: number;
  count: number;
  ratePerSec: number;
  durationMs: number;
}

export interface PublishResult {
  sent: number;
  acked: number;
  cpuUs: number;
}

async function publishPaced(a: PublishArgs): Promise<PublishResult> {
  const items = Array.from({ length: a.count }, (_, i) => {
    const t = terminalId(a.first + i);
    const f = locationFrame(t, a.first + i);
    const r = decodeFrame(f.subarray(1, f.length - 1));
    if (!r.ok) throw new Error(`bench frame did not decode: ${r.error.code}`);
    return { topic: topics.location(t), json: messageToJson(r.message) };
  });
  const client = await connectAsync(a.url, { clientId: `fg-bench-pub-${process.pid}`, clean: true });
  let sent = 0;
  let acked = 0;
  const onAck = (err?: Error): void => {
    if (!err) acked++;
  };
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - start, a.durationMs);
      const due = Math.floor((a.ratePerSec * elapsed) / 1000);
      for (; sent < due; sent++) {
        const it = items[sent % items.length]!;
        client.publish(it.topic, JSON.stringify({ ...it.json, receivedAt: new Date().toISOString() }), { qos: 1 }, onAck);
      }
      if (elapsed >= a.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const deadline = Date.now() + 5000;
  while (acked < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await client.endAsync();
  return { sent, acked, cpuUs: cpuUs() };
}

export function runPublisher(): void {
  serveRequests({
    run: (a) => publishPaced(a as PublishArgs),
    exit: () => undefined,
  });
}
