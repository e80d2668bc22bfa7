import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { silentLog } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { encodeMessage } from '../src/protocol/jt808/index.js';
import { migrate } from '../src/store/migrations.js';
import { RawFrameArchive } from '../src/store/raw-frames.js';
import { PostgresSql } from '../src/store/sql.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';
import { TcpProxy, createDatabase } from './support/pg.js';

const cleanup: (() => Promise<void> | void)[] = [];
let fg: Fleetgate | undefined;
afterEach(async () => {
  await fg?.close();
  fg = undefined;
  for (const c of cleanup.splice(0).reverse()) await c();
});

type Frame = { receivedAt: string; direction: string; msgId: string | null; hex: string; decoded?: Record<string, any>; error?: { code: string } };

async function archiveRoundTrip(store: Record<string, unknown>): Promise<void> {
  fg = await startTestGateway({ store: { kind: 'database', batchMaxMs: 10, rawFrames: true, ...store } });
  const t = await TestTerminal.connect(fg.ports.gateway, '013900000808');
  cleanup.push(() => t.close());
  const from = new Date(Date.now() - 1000).toISOString();
  await t.online();
  const location = encodeMessage({ msgId: 0x0200, terminal: t.terminal, serial: 41, body: t.location() }).frames[0]!;
  t.writeRaw(location);
  await t.reply8001(41, 0x0200);
  // A frame whose checksum is wrong: answered with result 2, and archived as it came.
  const bad = Buffer.from(encodeMessage({ msgId: 0x0002, terminal: t.terminal, serial: 42 }).frames[0]!);
  bad[bad.length - 2] ^= 0x01;
  t.writeRaw(bad);
  await t.expect((m) => m.msgId === 0x8001 && m.body?.replySerial === 42, 2000, 'the bad-checksum reply');
  await fg.storage!.archive!.flush();
  const to = new Date(Date.now() + 1000).toISOString();

  const res = await http(fg.ports.http, 'GET', `/api/terminals/013900000808/frames?from=${from}&to=${to}`);
  expect(res.status).toBe(200);
  const frames = (res.json as { frames: Frame[] }).frames;
  expect(frames.map((f) => `${f.direction} ${f.msgId}`)).toEqual([
    'up 0x0100', 'down 0x8100', 'up 0x0102', 'down 0x8001', 'up 0x0200', 'down 0x8001', 'up 0x0002', 'down 0x8001',
  ]);
  // Byte for byte as the terminal sent it, flags included, and decoded again.
  expect(frames[4]!.hex).toBe(location.toString('hex'));
  expect(frames[4]!.decoded!.latitude).toBeCloseTo(36.651216, 6);
  expect(frames[4]!.decoded!.serial).toBe(41);
  expect(frames[5]!.decoded).toMatchObject({ replySerial: 41, replyMsgId: 0x0200, result: 0 });
  expect(frames[6]!.hex).toBe(bad.toString('hex'));
  expect(frames[6]!.error!.code).toBe('FG_ERR_CHECKSUM');
  expect(frames[7]!.decoded).toMatchObject({ replySerial: 42, result: 2 });
  for (let i = 1; i < frames.length; i++) expect(frames[i]!.receivedAt >= frames[i - 1]!.receivedAt).toBe(true);

  const limited = await http(fg.ports.http, 'GET', `/api/terminals/013900000808/frames?from=${from}&to=${to}&limit=3`);
  expect((limited.json as { frames: Frame[]; truncated: boolean }).frames).toHaveLength(3);
  expect((limited.json as { truncated: boolean }).truncated).toBe(true);
  const badRange = await http(fg.ports.http, 'GET', `/api/terminals/013900000808/frames?from=${to}&to=${from}`);
  expect(badRange.status).toBe(400);
  expect((badRange.json as { error: { code: string } }).error.code).toBe('FG_ERR_BAD_RANGE');
  const text = (await http(fg.ports.http, 'GET', '/metrics')).json as string;
  expect(Number(/fleetgate_raw_frames_total\{result="stored"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(8);
}

describe('raw-frame archive (store.rawFrames)', () => {
  it('keeps every frame read and written, byte for byte, and replays them decoded over HTTP (PostgreSQL)', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    await archiveRoundTrip({ databaseUrl: db.url });
  }, 30_000);

  it('does the same on the embedded PGlite', async () => {
    await archiveRoundTrip({ dataDir: mkdtempSync(join(tmpdir(), 'fg-raw-')) });
  }, 60_000);

  it('is off by default: nothing archived', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    fg = await startTestGateway({ store: { kind: 'database', databaseUrl: db.url, batchMaxMs: 10 } });
    expect(fg.storage!.archive).toBeUndefined();
    const t = await TestTerminal.connect(fg.ports.gateway, '013900000809');
    cleanup.push(() => t.close());
    await t.online();
    const n = await fg.storage!.sql.query<{ n: number }>('select count(*)::int as n from raw_frames');
    expect(n[0]!.n).toBe(0);
  }, 30_000);

  it('holds frames while the database is away (bounded: the oldest dropped and counted) and writes the rest when it returns', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    const direct = new PostgresSql(db.url);
    cleanup.push(() => direct.close());
    await migrate(direct);
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.start();
    cleanup.push(() => proxy.stop());
    const viaProxy = new PostgresSql(db.url.replace('127.0.0.1:5432', `127.0.0.1:${port}`), { connectionTimeoutMillis: 500 });
    cleanup.push(() => viaProxy.close());
    const metrics = createMetrics();
    const archive = new RawFrameArchive(viaProxy, { batchMaxRows: 1000, flushEveryMs: 60_000, maxBuffered: 50 }, silentLog(), metrics);
    cleanup.push(() => archive.close());
    const frame = (i: number): Buffer => encodeMessage({ msgId: 0x0002, terminal: '013900000810', serial: i }).frames[0]!;
    await proxy.cut();
    for (let i = 0; i < 80; i++) {
      const f = frame(i);
      archive.frame('013900000810', 'up', 0x0002, f, 1, f.length - 1);
    }
    await archive.flush(); // fails: what is held stays held
    // Frame 51 overflowed the bound of 50: the oldest tenth went (down to 45), and so on.
    const dropped = (await metrics.rawFrames.get()).values.find((v) => v.labels.result === 'dropped')?.value ?? 0;
    expect(archive.buffered).toBeLessThanOrEqual(50);
    expect(archive.buffered + dropped).toBe(80);
    await proxy.restore();
    await waitFor(async () => {
      await archive.flush();
      return archive.buffered === 0;
    }, 10_000, 'the archive written after the outage');
    const rows = await direct.query<{ frame: Buffer }>(`select frame from raw_frames where terminal = '013900000810' order by received_at`);
    // The newest survived, in order, byte for byte.
    const kept = 80 - dropped;
    expect(rows.map((r) => Buffer.from(r.frame).toString('hex'))).toEqual(Array.from({ length: kept }, (_, k) => frame(80 - kept + k).toString('hex')));
  }, 30_000);

  it('has a retention of its own: old raw partitions go while positions of the same day stay', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    const sql = new PostgresSql(db.url);
    cleanup.push(() => sql.close());
    await migrate(sql);
    await sql.query('select fleetgate_ensure_partitions(45, 0)');
    const day = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    const exists = async (t: string): Promise<boolean> => (await sql.query(`select 1 from pg_class where relname = $1`, [t])).length === 1;
    expect(await exists(`raw_frames_${day}`)).toBe(true);
    const dropped = await sql.query<{ n: number }>('select fleetgate_drop_raw_partitions(30) as n');
    expect(dropped[0]!.n).toBeGreaterThanOrEqual(10);
    expect(await exists(`raw_frames_${day}`)).toBe(false);
    expect(await exists(`positions_${day}`)).toBe(true);
  }, 30_000);
});

describe('fleetgate frames', () => {
  it('prints a terminal\'s archived frames decoded, one JSON line each; refuses bad arguments with exit 1', async () => {
    const { runFrames } = await import('../src/cli/frames.js');
    const { Writable } = await import('node:stream');
    const sink = (): { w: InstanceType<typeof Writable>; text: () => string } => {
      let buf = '';
      return { w: new Writable({ write: (c, _e, cb) => { buf += String(c); cb(); } }), text: () => buf };
    };
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    fg = await startTestGateway({ store: { kind: 'database', databaseUrl: db.url, batchMaxMs: 10, rawFrames: true } });
    const t = await TestTerminal.connect(fg.ports.gateway, '013900000811');
    cleanup.push(() => t.close());
    const from = new Date(Date.now() - 1000).toISOString();
    await t.online();
    await fg.storage!.archive!.flush();
    const to = new Date(Date.now() + 1000).toISOString();
    const out = sink();
    const err = sink();
    const input = { store: { databaseUrl: db.url } };
    expect(await runFrames(['--terminal', '13900000811', '--from', from, '--to', to], out.w, err.w, input)).toBe(0);
    const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as Frame);
    expect(lines.map((f) => `${f.direction} ${f.msgId}`)).toEqual(['up 0x0100', 'down 0x8100', 'up 0x0102', 'down 0x8001']);
    expect(lines[1]!.decoded).toMatchObject({ result: 0 });
    expect(await runFrames(['--terminal', '13900000811', '--from', to, '--to', from], out.w, err.w, input)).toBe(1);
    expect(err.text()).toMatch(/--from and --to/);
  }, 30_000);
});
