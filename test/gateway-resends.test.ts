import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { ResendMemo } from '../src/gateway/resends.js';
import type { Pipeline, Uplink } from '../src/pipeline/types.js';
import { Jt808StreamDecoder, encodeMessage, type Jt808Message } from '../src/protocol/jt808/index.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await fg?.close();
  fg = undefined;
});

/** Records what reaches it; holds it until `release()` while `holding`, fails it while `failing`. */
class GatedPipeline implements Pipeline {
  readonly submitted: Uplink[] = [];
  holding = true;
  failing = false;
  private held: { resolve: () => void; reject: (e: Error) => void }[] = [];
  readonly pending = 0;
  readonly saturated = false;
  onDrain(): void {}
  submit(up: Uplink): Promise<void> {
    this.submitted.push(up);
    if (this.failing) return Promise.reject(new Error('spool full'));
    if (!this.holding) return Promise.resolve();
    return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
  }
  release(): void {
    this.holding = false;
    for (const h of this.held.splice(0)) h.resolve();
  }
  async close(): Promise<void> {}
}

const acksOf = (t: TestTerminal, serial: number, msgId = 0x0200): Jt808Message[] =>
  t.received.filter((m) => m.msgId === 0x8001 && m.body?.replySerial === serial && m.body?.replyMsgId === msgId);

async function metric(port: number, outcome: string): Promise<number> {
  const text = (await http(port, 'GET', '/metrics')).json as string;
  const m = new RegExp(`fleetgate_location_resends_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

/** A gateway over `pipeline` with one authenticated terminal; `submitted()` counts what reached the pipeline since. */
async function onlineOver(pipeline: GatedPipeline): Promise<{ t: TestTerminal; submitted: () => number }> {
  fg = await startTestGateway({}, { pipeline: () => pipeline });
  const t = await TestTerminal.connect(fg.ports.gateway);
  terminals.push(t);
  await t.online();
  const before = pipeline.submitted.length;
  return { t, submitted: () => pipeline.submitted.length - before };
}

describe('a terminal re-sending a location before it hears the ack', () => {
  it('a copy of a frame still being stored waits for the original: stored once, every copy answered with it', async () => {
    const pipeline = new GatedPipeline();
    const { t, submitted } = await onlineOver(pipeline);
    const s = t.send(0x0200, t.location());
    t.send(0x0200, t.location(), s); // §2.4 re-send: same serial, same bytes
    t.send(0x0200, t.location(), s);
    await waitFor(() => submitted() > 0, 2000, 'the original submitted');
    await waitFor(async () => (await metric(fg!.ports.http, 'waited')) === 2, 2000, 'both copies seen');
    expect(submitted()).toBe(1);
    expect(acksOf(t, s)).toHaveLength(0); // nothing is acknowledged before it is durable
    pipeline.release();
    await t.expect((m) => m.msgId === 0x8001 && m.body?.replySerial === s, 2000, 'the ack');
    await waitFor(() => acksOf(t, s).length === 3, 2000, 'an ack for the original and each copy');
    await new Promise((r) => setTimeout(r, 100));
    expect(acksOf(t, s)).toHaveLength(3);
    expect(submitted()).toBe(1);
  });

  it('a copy of a frame already stored is acknowledged at once and not stored again; a new position with a reused serial is stored', async () => {
    const pipeline = new GatedPipeline();
    pipeline.holding = false;
    const { t, submitted } = await onlineOver(pipeline);
    const s = t.send(0x0200, t.location());
    await t.expect((m) => m.msgId === 0x8001 && m.body?.replySerial === s, 2000, 'the first ack');
    t.send(0x0200, t.location(), s);
    await waitFor(() => acksOf(t, s).length === 2, 2000, 'the copy acknowledged');
    expect(submitted()).toBe(1);
    expect(await metric(fg!.ports.http, 'acked')).toBe(1);
    // Same serial, different content (a terminal that reuses serials, or wrapped at 65,536): new.
    t.send(0x0200, t.location({ time: new Date('2026-11-29T04:00:10Z') }), s);
    t.send(0x0200, t.location({ latitude: 36.7 }), s);
    await waitFor(() => acksOf(t, s).length === 4, 2000, 'both new positions acknowledged');
    expect(submitted()).toBe(3);
    // A batch upload whose first item equals the live report is a different frame.
    t.send(0x0704, { batchType: 0, locations: [t.location()] }, s);
    await waitFor(() => acksOf(t, s, 0x0704).length === 1, 2000, 'the batch acknowledged');
    expect(submitted()).toBe(4);
  });

  it('a frame that could not be made durable is not remembered: its re-send goes through again', async () => {
    const pipeline = new GatedPipeline();
    pipeline.holding = false;
    pipeline.failing = true;
    const { t, submitted } = await onlineOver(pipeline);
    const s = t.send(0x0200, t.location());
    await waitFor(() => submitted() === 1, 2000, 'submitted');
    await new Promise((r) => setTimeout(r, 50));
    expect(acksOf(t, s)).toHaveLength(0);
    pipeline.failing = false;
    t.send(0x0200, t.location(), s);
    await t.expect((m) => m.msgId === 0x8001 && m.body?.replySerial === s, 2000, 'the re-send acknowledged');
    expect(submitted()).toBe(2);
  });
});

describe('ResendMemo', () => {
  const frame = (serial: number, lat: number, msgId = 0x0200): Jt808Message => {
    const loc = { alarm: 0, status: 3, latitude: lat, longitude: 117.1, altitude: 0, speed: 0, direction: 0, time: new Date('2026-11-29T04:00:00Z') };
    const body = msgId === 0x0704 ? { batchType: 0, locations: [loc] } : loc;
    let out: Jt808Message | undefined;
    new Jt808StreamDecoder().push(encodeMessage({ msgId, terminal: '013912344321', serial, body }).frames[0]!, (r) => {
      if (r.ok) out = r.message;
    });
    if (!out) throw new Error('frame did not decode');
    return out;
  };

  it('grows while frames are pending (up to 128), reuses the slots of stored ones, and ignores a late outcome for a reused slot', () => {
    const lat = (i: number): number => 30 + i / 1000;
    // Stored frames make room: the ninth reuses the first slot.
    const a = new ResendMemo();
    for (let i = 0; i < 8; i++) a.stored(a.start(frame(i, lat(i))));
    a.start(frame(8, lat(8)));
    expect(a.check(frame(0, lat(0)))).toBe('new');
    expect(a.check(frame(1, lat(1)))).toBe('stored');
    // Pending frames are kept while the memo can grow: 128 of them.
    const b = new ResendMemo();
    const tokens = Array.from({ length: 129 }, (_, i) => b.start(frame(i, lat(i))));
    expect(b.check(frame(1, lat(1)))).toBe('pending');
    expect(b.check(frame(127, lat(127)))).toBe('pending');
    expect(b.check(frame(0, lat(0)))).toBe('new'); // the 129th took the oldest slot
    b.stored(tokens[0]!); // the original of that slot completes late: must not mark frame 128
    expect(b.check(frame(128, lat(128)))).toBe('pending');
    b.stored(tokens[128]!);
    expect(b.check(frame(128, lat(128)))).toBe('stored');
    b.forget(tokens[1]!);
    expect(b.check(frame(1, lat(1)))).toBe('new');
    expect(b.check(frame(2, lat(3)))).toBe('new'); // same serial, other latitude
    expect(b.check(frame(2, lat(2), 0x0704))).toBe('new'); // same serial and item, other message
  });

  it('counts the copies that wait for a pending frame, so each is answered with it; a failed frame answers none', () => {
    const memo = new ResendMemo();
    const a = memo.start(frame(7, 36.1));
    expect(memo.check(frame(7, 36.1))).toBe('pending');
    expect(memo.check(frame(7, 36.1))).toBe('pending');
    expect(memo.stored(a)).toBe(2);
    expect(memo.check(frame(7, 36.1))).toBe('stored'); // answered at once, not counted
    expect(memo.stored(a)).toBe(0);
    const b = memo.start(frame(8, 36.2));
    expect(memo.check(frame(8, 36.2))).toBe('pending');
    memo.forget(b);
    expect(memo.stored(b)).toBe(0);
    expect(memo.check(frame(8, 36.2))).toBe('new');
  });
});
