import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import type { Pipeline, Uplink } from '../src/pipeline/types.js';
import { encodeMessage } from '../src/protocol/jt808/index.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await fg?.close();
  fg = undefined;
});

/** A downstream that stalls: nothing becomes durable until `release()`. */
class StalledPipeline implements Pipeline {
  private waiting: (() => void)[] = [];
  private listeners: (() => void)[] = [];
  maxPending = 0;
  stalled = true;
  constructor(private readonly limit: number) {}
  get pending(): number {
    return this.waiting.length;
  }
  get saturated(): boolean {
    return this.waiting.length >= this.limit;
  }
  onDrain(l: () => void): void {
    this.listeners.push(l);
  }
  submit(_up: Uplink): Promise<void> {
    if (!this.stalled) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.maxPending = Math.max(this.maxPending, this.waiting.length);
    });
  }
  release(): void {
    this.stalled = false;
    for (const r of this.waiting.splice(0)) r();
    for (const l of this.listeners) l();
  }
  async close(): Promise<void> {}
}

describe('backpressure', () => {
  it('a stalled consumer stops the reading of sockets instead of growing memory; nothing is acknowledged until durable', async () => {
    const pipeline = new StalledPipeline(500);
    fg = await startTestGateway({ gateway: { maxFramesPerSecond: 1_000_000 } }, { pipeline: () => pipeline });
    const t = await TestTerminal.connect(fg.ports.gateway);
    terminals.push(t);
    await t.online();
    const frames: Buffer[] = [];
    for (let i = 0; i < 30_000; i++) {
      frames.push(encodeMessage({ msgId: 0x0200, terminal: t.terminal, serial: i & 0xffff, body: t.location({ speed: i % 100 }) }).frames[0]!);
    }
    const burst = Buffer.concat(frames); // ~1.8 MB
    t.writeRaw(burst);
    await new Promise((r) => setTimeout(r, 500));
    // Reading stopped one chunk past the limit; the rest waits in kernel buffers and in the sender.
    expect(pipeline.maxPending).toBeGreaterThanOrEqual(500);
    expect(pipeline.maxPending).toBeLessThan(500 + 70_000 / 59);
    expect(t.received.filter((m) => m.msgId === 0x8001 && m.body?.replyMsgId === 0x0200)).toHaveLength(0);
    const text = (await http(fg.ports.http, 'GET', '/metrics')).json as string;
    expect(text).toMatch(/fleetgate_backpressure_total\{kind="paused_reading"\} [1-9]/);
    pipeline.release();
    // Once downstream drains, reading resumes and every location is acknowledged.
    await waitFor(() => t.received.filter((m) => m.msgId === 0x8001 && m.body?.replyMsgId === 0x0200).length === 30_000, 20_000, 'all acks');
  }, 30_000);

  it('a terminal that does not read its socket is dropped once its write queue is full, counted', async () => {
    fg = await startTestGateway({ gateway: { maxFramesPerSecond: 1_000_000, maxWriteQueueBytes: 4096 } });
    const t = await TestTerminal.connect(fg.ports.gateway);
    terminals.push(t);
    await t.online();
    t.socket.pause(); // stop reading: acknowledgements pile up on the gateway side
    const hb = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => encodeMessage({ msgId: 0x0002, terminal: t.terminal, serial: i & 0xffff }).frames[0]!));
    for (let k = 0; k < 20 && !t.closed; k++) {
      t.writeRaw(hb);
      await new Promise((r) => setTimeout(r, 50));
      const text = (await http(fg.ports.http, 'GET', '/metrics')).json as string;
      if (/connections_closed_total\{reason="write_backpressure"\} 1/.test(text)) break;
    }
    const text = (await http(fg.ports.http, 'GET', '/metrics')).json as string;
    expect(text).toMatch(/fleetgate_connections_closed_total\{reason="write_backpressure"\} 1/);
    expect(text).toMatch(/fleetgate_backpressure_total\{kind="slow_consumer_dropped"\} [1-9]/);
    expect(fg.gateway.ctx.sessions.has(t.terminal)).toBe(false);
  }, 30_000);
});
