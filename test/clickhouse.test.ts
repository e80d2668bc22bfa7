import net from 'node:net';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLog } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { ClickHouseSink, type ClickHouseSinkOptions, type EventRow } from '../src/store/clickhouse.js';
import { PositionKind, type PositionRow } from '../src/store/rows.js';

// The real server (.ci/run installs and starts Debian's clickhouse-server, 18.16, on :8123).
// These tests fail — never skip — when it does not answer.
const URL_ = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const DB = `fleetgate_test_${process.pid}_${Date.now()}`;
const target = new URL(URL_);

let ch: ClickHouseClient;
const sinks: ClickHouseSink[] = [];
/** Why the server cannot be used; every test fails with it (a failing beforeAll would only mark them skipped). */
let unavailable: string | null = null;

function needClickHouse(): void {
  if (unavailable) throw new Error(unavailable);
}

async function open(url = URL_, opts: ClickHouseSinkOptions = {}, metrics = createMetrics()): Promise<ClickHouseSink> {
  const sink = await ClickHouseSink.open(url, silentLog(), metrics, { database: DB, ...opts });
  sinks.push(sink);
  return sink;
}

async function select<T>(query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function count(where: string): Promise<number> {
  const [r] = await select<{ n: string }>(`SELECT count() AS n FROM ${DB}.positions WHERE ${where}`);
  return Number(r!.n);
}

function position(terminal: string, time: number, i: number): PositionRow {
  return {
    terminal, time, kind: PositionKind.LIVE, receivedAt: time + 1500,
    latitude: 36.651 + i * 1e-6, longitude: -(117.12 + i * 1e-6), altitude: 40 + (i % 100), speed: (i % 1200) / 10,
    direction: i % 360, alarm: i % 7 === 0 ? 0x8000_0001 : 0, status: 0x0c0003,
    mileage: i % 3 === 0 ? null : 1000 + i / 10, fuel: i % 5 === 0 ? null : 42.5,
    extras: i % 2 === 0 ? JSON.stringify({ satellites: 12, '0xe1': 'ab01' }) : null,
  };
}

/** A TCP proxy to the real server that can be stopped (an outage) and started again on the same port. */
class Proxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number) {}

  static async freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as net.AddressInfo;
    await new Promise((r) => s.close(r));
    return port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = net.createServer((down) => {
      const up = net.connect(Number(target.port || 8123), target.hostname);
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on('error', () => { down.destroy(); up.destroy(); });
        s.on('close', () => this.sockets.delete(s));
      }
      down.pipe(up).pipe(down);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise((r) => s.close(r));
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  ch = createClient({ url: URL_, log: { level: ClickHouseLogLevel.OFF } });
  const ping = await ch.ping();
  if (!ping.success) {
    unavailable = `ClickHouse is not reachable at ${URL_} (${String(ping.error)}). .ci/run installs and starts it; ` +
      `locally: apt-get install -y clickhouse-server && su -s /bin/sh clickhouse -c 'cd /var/lib/clickhouse && clickhouse-server --daemon --config-file=/etc/clickhouse-server/config.xml'`;
  }
});

beforeEach(needClickHouse);

afterAll(async () => {
  for (const s of sinks) await s.close(0);
  if (!unavailable) await ch.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await ch.close();
});

describe('ClickHouse sink (real server)', () => {
  it('creates the database and month-partitioned MergeTree tables; opening again is idempotent', async () => {
    await open();
    const tables = await select<{ name: string; engine: string }>(
      `SELECT name, engine FROM system.tables WHERE database = '${DB}' ORDER BY name`);
    expect(tables.map((t) => t.name)).toEqual(['events', 'positions']);
    for (const t of tables) expect(t.engine).toMatch(/MergeTree$/);
    const cols = await select<{ name: string; type: string }>(`SELECT name, type FROM system.columns WHERE database = '${DB}' AND table = 'positions'`);
    expect(Object.fromEntries(cols.map((c) => [c.name, c.type]))).toMatchObject({
      terminal: 'String', time: 'DateTime', time_ms: 'UInt16', kind: 'UInt8', latitude: 'Float64',
      alarm: 'UInt32', mileage: 'Nullable(Float64)', fuel: 'Nullable(Float32)', extras: 'String',
    });

    const sink = await open(); // same database: CREATE … IF NOT EXISTS
    sink.push([position('reopen', Date.UTC(2024, 4, 1), 1)]);
    expect(await sink.flush(10_000)).toBe(true);
    expect(await count(`terminal = 'reopen'`)).toBe(1);
  });

  it('inserts 10,000 pushed rows exactly once, with their values', async () => {
    const metrics = createMetrics();
    const sink = await open(URL_, { batchMaxRows: 3000, flushIntervalMs: 50 }, metrics);
    const t0 = Date.UTC(2024, 2, 10, 8, 0, 0, 250);
    const rows = Array.from({ length: 10_000 }, (_, i) => position(`bulk${String(i % 50).padStart(10, '0')}`, t0 + i * 1001, i));
    for (let i = 0; i < rows.length; i += 700) expect(sink.push(rows.slice(i, i + 700))).toBeUndefined();
    expect(await sink.flush(30_000)).toBe(true);
    expect(await count(`terminal LIKE 'bulk%'`)).toBe(10_000);
    expect(sink.stats).toMatchObject({ queued: 0, inserted: 10_000, dropped: 0, failures: 0 });
    expect(await metrics.registry.getSingleMetricAsString('fleetgate_clickhouse_rows_total')).toContain('fleetgate_clickhouse_rows_total{table="positions",result="inserted"} 10000');

    const sample = [0, 1, 2, 7, 4321, 9999];
    const got = await select<Record<string, unknown>>(
      `SELECT terminal, toUnixTimestamp(time) * 1000 + time_ms AS t, toUnixTimestamp(received_at) AS recv, kind, latitude, longitude,
              altitude, speed, direction, alarm, status, mileage, fuel, extras
       FROM ${DB}.positions WHERE terminal LIKE 'bulk%' AND (toUnixTimestamp(time) * 1000 + time_ms) IN (${sample.map((i) => rows[i]!.time).join(',')})
       ORDER BY t`);
    expect(got).toHaveLength(sample.length);
    for (const [k, i] of sample.entries()) {
      const r = rows[i]!;
      const g = got[k]!;
      expect(g).toMatchObject({ terminal: r.terminal, t: String(r.time), recv: Math.floor(r.receivedAt / 1000), kind: 0,
        latitude: r.latitude, longitude: r.longitude, altitude: r.altitude, direction: r.direction, alarm: r.alarm, status: r.status,
        mileage: r.mileage, extras: r.extras ?? '' });
      expect(g.speed).toBeCloseTo(r.speed, 4);
      if (r.fuel === null) expect(g.fuel).toBeNull();
      else expect(g.fuel).toBeCloseTo(r.fuel, 4);
    }
    expect(got[0]).toMatchObject({ mileage: null, alarm: 0x8000_0001, longitude: -117.12 });
  });

  it('partitions by month', async () => {
    const sink = await open();
    sink.push([position('months', Date.UTC(2023, 0, 31, 23, 59, 59), 1), position('months', Date.UTC(2023, 1, 1, 0, 0, 0), 2)]);
    sink.pushEvents([{ terminal: 'months', kind: 'overspeed', severity: 2, startedAt: Date.UTC(2023, 0, 31, 23, 0), endedAt: null, late: false, data: { limitKmh: 80 } }]);
    expect(await sink.flush(10_000)).toBe(true);
    const parts = await select<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts WHERE database = '${DB}' AND table = 'positions' AND active
       AND partition IN ('202301', '202302') ORDER BY partition`);
    expect(parts.map((p) => p.partition)).toEqual(['202301', '202302']);
    const ev = await select<{ kind: string; ended_at: string | null; data: string; p: number }>(
      `SELECT kind, ended_at, data, toYYYYMM(started_at) AS p FROM ${DB}.events WHERE terminal = 'months'`);
    expect(ev).toEqual([{ kind: 'overspeed', ended_at: null, data: '{"limitKmh":80}', p: 202301 }]);
  });

  it('keeps rows through an outage and inserts them when ClickHouse is back (retries)', async () => {
    const proxy = new Proxy(await Proxy.freePort());
    // Down from the start: open() returns anyway; the tables are created once it answers.
    const sink = await open(proxy.url, { batchMaxRows: 100, flushIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 200 });
    const rows = Array.from({ length: 250 }, (_, i) => position('outage0001', Date.UTC(2024, 5, 1) + i * 1000, i));
    expect(sink.push(rows.slice(0, 150))).toBeUndefined(); // returns at once
    expect(sink.stats.queued).toBe(150);
    await until('two failed attempts', () => sink.stats.failures >= 2);
    expect(sink.stats.reachable).toBe(false);

    await proxy.start();
    expect(await sink.flush(20_000)).toBe(true);
    expect(await count(`terminal = 'outage0001'`)).toBe(150);

    // Down again in the middle of a stream (its kept-alive sockets are cut too).
    await proxy.stop();
    const before = sink.stats.failures;
    sink.push(rows.slice(150));
    await until('a failed attempt', () => sink.stats.failures > before);
    expect(await count(`terminal = 'outage0001'`)).toBe(150);
    await proxy.start();
    expect(await sink.flush(20_000)).toBe(true);
    expect(await count(`terminal = 'outage0001'`)).toBe(250);
    expect(sink.stats).toMatchObject({ queued: 0, inserted: 250, dropped: 0, reachable: true });
    await sink.close();
    await proxy.stop();
  });

  it('bounds the queue while ClickHouse is away: the oldest rows are dropped and counted', async () => {
    const proxy = new Proxy(await Proxy.freePort());
    const metrics = createMetrics();
    const sink = await open(proxy.url, { maxQueuedRows: 100, batchMaxRows: 10, retryInitialMs: 20, retryMaxMs: 100 }, metrics);
    const rows = Array.from({ length: 1000 }, (_, i) => ({ ...position('bounded001', Date.UTC(2024, 6, 1) + i * 1000, i), altitude: i }));
    sink.push(rows);
    expect(sink.stats).toMatchObject({ queued: 100, dropped: 900 });
    expect(await metrics.registry.getSingleMetricAsString('fleetgate_clickhouse_queue_rows')).toContain('fleetgate_clickhouse_queue_rows{table="positions"} 100');
    await until('a failed attempt', () => sink.stats.failures >= 1);
    sink.push(rows.slice(0, 5).map((r) => ({ ...r, altitude: 1000 + r.altitude, time: r.time + 5_000_000 }))); // five newer rows
    expect(sink.stats).toMatchObject({ queued: 100, dropped: 905 });
    expect(await metrics.registry.getSingleMetricAsString('fleetgate_clickhouse_rows_total')).toContain('result="dropped"} 905');

    await proxy.start();
    expect(await sink.flush(20_000)).toBe(true);
    const alt = (await select<{ altitude: number }>(`SELECT altitude FROM ${DB}.positions WHERE terminal = 'bounded001' ORDER BY altitude`)).map((r) => r.altitude);
    // The batch in flight during the outage (the 10 oldest kept) is retried, then the newest survive.
    expect(alt).toEqual([...Array.from({ length: 10 }, (_, i) => 900 + i), ...Array.from({ length: 85 }, (_, i) => 915 + i), 1000, 1001, 1002, 1003, 1004]);
    expect(sink.stats).toMatchObject({ queued: 0, inserted: 100, dropped: 905 });
    await sink.close();
    await proxy.stop();
  });

  it('never throws from push, also after close (rows are counted as dropped)', async () => {
    const sink = await open();
    await sink.close();
    const ev: EventRow = { terminal: 'closed', kind: 'x', severity: 0, startedAt: Date.now(), endedAt: null, late: true, data: null };
    expect(() => sink.push([position('closed0001', Date.now(), 1)])).not.toThrow();
    expect(() => sink.pushEvents([ev])).not.toThrow();
    expect(sink.stats.dropped).toBe(2);
  });
});
