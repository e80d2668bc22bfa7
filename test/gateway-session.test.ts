import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { encodeMessage } from '../src/protocol/jt808/index.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await fg?.close();
  fg = undefined;
});
async function term(id = '013912344321', edition: 2011 | 2013 | 2019 = 2013): Promise<TestTerminal> {
  const t = await TestTerminal.connect(fg!.ports.gateway, id, edition);
  terminals.push(t);
  return t;
}
const metrics = async (): Promise<string> => (await http(fg!.ports.http, 'GET', '/metrics')).json as string;

describe('registration and authentication', () => {
  it('2013: registers (0x8100 with an auth code), authenticates, heartbeats and gets locations acknowledged', async () => {
    fg = await startTestGateway();
    const t = await term();
    const reg = await t.register();
    expect(reg.body).toMatchObject({ result: 0 });
    expect(t.authCode).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect((await t.authenticate()).body?.result).toBe(0);
    const hb = t.send(0x0002);
    expect((await t.reply8001(hb, 0x0002)).body?.result).toBe(0);
    const loc = t.send(0x0200, t.location());
    expect((await t.reply8001(loc, 0x0200)).body?.result).toBe(0);
    expect(fg.gateway.ctx.sessions.get(t.terminal)?.state).toBe('online');
  });

  it('2019: registers, authenticates with IMEI and version, and gets the server time (0x8004, UTC)', async () => {
    fg = await startTestGateway();
    const t = await term('00000000013912344321', 2019);
    await t.online();
    t.send(0x0004);
    const time = await t.expect((m) => m.msgId === 0x8004);
    expect(time.version).toBe(2019);
    expect(Math.abs((time.body!.time as Date).getTime() - Date.now())).toBeLessThan(5000);
  });

  it('a second registration of a known terminal returns the same auth code', async () => {
    fg = await startTestGateway();
    const a = await term();
    await a.register();
    const first = a.authCode;
    await a.register();
    expect(a.authCode).toBe(first);
  });

  it('refuses a wrong auth code and an unknown terminal with 0x8001 result 1, counted', async () => {
    fg = await startTestGateway();
    const t = await term();
    await t.register();
    expect((await t.authenticate('wrong')).body?.result).toBe(1);
    const u = await term('013900000000');
    expect((await u.authenticate('anything')).body?.result).toBe(1);
    expect(await metrics()).toMatch(/fleetgate_errors_total\{code="FG_ERR_AUTH_FAILED"\} 2/);
  });

  it('with policy "reject", an unknown terminal gets 0x8100 result 4 (not in database)', async () => {
    fg = await startTestGateway({ gateway: { unknownTerminals: 'reject' } });
    const t = await term();
    expect((await t.register()).body).toEqual({ replySerial: 0, result: 4 });
  });

  it('refuses data before authentication with 0x8001 result 1, counts it, and closes after N frames', async () => {
    fg = await startTestGateway({ gateway: { maxFramesBeforeAuth: 3 } });
    const t = await term();
    const s = t.send(0x0200, t.location());
    expect((await t.reply8001(s, 0x0200)).body?.result).toBe(1);
    t.send(0x0002);
    t.send(0x0002);
    await waitFor(() => t.closed, 3000, 'close after 3 refused frames');
    expect(await metrics()).toMatch(/fleetgate_errors_total\{code="FG_ERR_NOT_AUTHENTICATED"\} 3/);
  });

  it('a second login of the same terminal closes the older socket', async () => {
    fg = await startTestGateway();
    const a = await (await term()).online();
    const b = await term();
    await b.authenticate(a.authCode);
    await waitFor(() => a.closed, 3000, 'older socket closed');
    expect(b.closed).toBe(false);
    const s = b.send(0x0002);
    await b.reply8001(s, 0x0002);
    expect(await metrics()).toMatch(/fleetgate_connections_closed_total\{reason="duplicate_login"\} 1/);
  });

  it('0x0003 logout de-registers: the old auth code no longer works', async () => {
    fg = await startTestGateway();
    const t = await (await term()).online();
    const s = t.send(0x0003);
    await t.reply8001(s, 0x0003);
    await waitFor(() => t.closed, 3000, 'close after logout');
    const again = await term();
    expect((await again.authenticate(t.authCode)).body?.result).toBe(1);
  });

  it('a 2011 terminal (registration body < 37 bytes) is answered in 2011 and decoded with its edition', async () => {
    fg = await startTestGateway();
    const t = await term('013912344321', 2011);
    const reg = await t.register({ makerId: 'FLEET', model: 'FG-11', terminalId: 'T2011' });
    expect(reg.body?.result).toBe(0);
    expect((await t.authenticate()).body?.result).toBe(0);
    expect(fg.gateway.ctx.sessions.get(t.terminal)?.edition).toBe(2011);
  });

  it('a device that sets bit 14 wrongly is decoded with the edition that fits, reported, and served', async () => {
    fg = await startTestGateway();
    const t = await term();
    await t.register();
    // A 2013 frame with bit 14 set in the body properties (the liar of jt808-notes.md).
    const frame = encodeMessage({ msgId: 0x0102, terminal: t.terminal, serial: 42, body: { authCode: t.authCode } }).frames[0]!;
    const raw = Buffer.from(frame.subarray(1, -1));
    raw[2] |= 0x40;
    raw[raw.length - 1] = raw.subarray(0, -1).reduce((x, b) => x ^ b, 0);
    t.writeRaw(Buffer.concat([Buffer.from([0x7e]), raw, Buffer.from([0x7e])]));
    expect((await t.reply8001(42, 0x0102)).body?.result).toBe(0);
    expect(await metrics()).toMatch(/fleetgate_errors_total\{code="FG_ERR_EDITION_MISMATCH"\} 1/);
  });
});

describe('limits at the edge', () => {
  it('closes an idle connection and publishes the terminal offline', async () => {
    fg = await startTestGateway({ gateway: { idleTimeoutMs: 300 } });
    const t = await (await term()).online();
    await waitFor(() => t.closed, 4000, 'idle close');
    expect(fg.gateway.ctx.sessions.has(t.terminal)).toBe(false);
    expect(await metrics()).toMatch(/fleetgate_connections_closed_total\{reason="idle"\} 1/);
  });

  it('closes a connection whose frame never completes', async () => {
    fg = await startTestGateway({ gateway: { partialFrameTimeoutMs: 300 } });
    const t = await term();
    t.writeRaw(Buffer.from('7e02000020', 'hex'));
    await waitFor(() => t.closed, 4000, 'partial-frame close');
    expect(await metrics()).toMatch(/FG_ERR_PARTIAL_FRAME_TIMEOUT/);
  });

  it('drops frames over the rate limit, then closes a connection that keeps flooding', async () => {
    fg = await startTestGateway({ gateway: { maxFramesPerSecond: 5 } });
    const t = await (await term()).online();
    await new Promise((r) => setTimeout(r, 1100)); // a fresh one-second window
    for (let i = 0; i < 20; i++) t.send(0x0002);
    await waitFor(() => t.closed, 3000, 'rate-limit close');
    const replies = t.received.filter((m) => m.msgId === 0x8001 && m.body?.replyMsgId === 0x0002);
    expect(replies.length).toBeLessThanOrEqual(5);
    expect(await metrics()).toMatch(/FG_ERR_RATE_LIMIT/);
  });

  it('refuses a frame over the size limit without losing the connection or the next frame', async () => {
    fg = await startTestGateway({ gateway: { maxFrameBytes: 64 } });
    const t = await (await term()).online();
    t.writeRaw(Buffer.concat([Buffer.from([0x7e]), Buffer.alloc(100, 1), Buffer.from([0x7e])]));
    const s = t.send(0x0002);
    await t.reply8001(s, 0x0002);
    expect(t.closed).toBe(false);
    expect(await metrics()).toMatch(/FG_ERR_FRAME_TOO_LONG/);
  });

  it('refuses connections beyond the global limit', async () => {
    fg = await startTestGateway({ gateway: { maxConnections: 2 } });
    const a = await term();
    const b = await term('013900000001');
    const c = await term('013900000002');
    await waitFor(() => c.closed, 3000, 'third connection refused');
    expect(a.closed || b.closed).toBe(false);
  });

  it('answers a frame that fails its checksum with 0x8001 result 2 (message error) once online', async () => {
    fg = await startTestGateway();
    const t = await (await term()).online();
    const frame = encodeMessage({ msgId: 0x0200, terminal: t.terminal, serial: 77, body: t.location() }).frames[0]!;
    const bad = Buffer.from(frame);
    bad[bad.length - 2] ^= 0x01;
    if (bad[bad.length - 2] === 0x7e || bad[bad.length - 2] === 0x7d) bad[bad.length - 2] ^= 0x03;
    t.writeRaw(bad);
    expect((await t.reply8001(77, 0x0200)).body?.result).toBe(2);
  });
});

describe('sub-packages', () => {
  it('reassembles an uplink split in packets, re-requesting a lost packet with 0x8003', async () => {
    fg = await startTestGateway({ gateway: { reassemblyResendAfterMs: 200 } });
    const t = await (await term()).online();
    const locations = Array.from({ length: 40 }, (_, i) => t.location({ speed: i, extras: { mileage: 100 + i, satellites: 9 } }));
    const { frames, serials } = encodeMessage({ msgId: 0x0704, terminal: t.terminal, serial: 500, body: { batchType: 1, locations } }, { maxBodyLength: 512 });
    expect(frames.length).toBeGreaterThanOrEqual(3);
    frames.forEach((f, i) => i !== 1 && t.writeRaw(f)); // packet 2 is "lost"
    const req = await t.expect((m) => m.msgId === 0x8003, 3000, '0x8003 re-request');
    expect(req.body).toEqual({ originalSerial: 500, packetIndexes: [2] });
    t.writeRaw(frames[1]!);
    // Every packet is acknowledged; the whole batch is decoded once complete.
    for (const s of serials) await t.reply8001(s, 0x0704);
    const published = await waitFor(() => fg!.metrics.frames.get().then((v) => v.values.find((x) => x.labels.msg_id === '0x0704' && x.labels.direction === 'up')?.value), 3000, 'frames counted');
    expect(published).toBe(frames.length);
  });
});
