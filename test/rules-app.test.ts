/**
 * The rules in the running app: a terminal over TCP, positions committed to the real
 * PostgreSQL, events stored and published on the real Mosquitto, thresholds changed over HTTP
 * without a restart, and a restart in the middle of an open event.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import type { ConfigInput } from '../src/config.js';
import type { PositionRow } from '../src/store/rows.js';
import { Spool } from '../src/store/spool.js';
import { PostgresSql } from '../src/store/sql.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';
import { createDatabase } from './support/pg.js';

const TERMINAL = '013977000001';
const T = Date.UTC(2026, 10, 30, 2, 0, 0); // 10:00 in China, a Monday

interface Published { id: string; kind: string; phase: string; severity: string; late: boolean; startTime: string; endTime: string | null; data: Record<string, unknown> }

describe('rules in the app (PostgreSQL, Mosquitto, TCP)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let sql: PostgresSql;
  let fg: Fleetgate | undefined;
  let terminal: TestTerminal | undefined;
  const published: Published[] = [];
  let client: mqtt.MqttClient;
  let config: ConfigInput;
  let second = 0;

  beforeAll(async () => {
    db = await createDatabase('fg_rules_app');
    sql = new PostgresSql(db.url);
    client = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { clientId: `fg-rules-test-${process.pid}` });
    await client.subscribeAsync(`fleetgate/v1/terminals/${TERMINAL}/event`, { qos: 1 });
    client.on('message', (_t, payload) => published.push(JSON.parse(payload.toString('utf8')) as Published));
    config = {
      store: { kind: 'database', databaseUrl: db.url, dataDir: mkdtempSync(join(tmpdir(), 'fg-rules-')), batchMaxMs: 5 },
      mqtt: { url: 'mqtt://127.0.0.1:1883', ingress: false },
      rules: { sweepEveryMs: 100, checkpointEveryMs: 200 },
    };
    fg = await startTestGateway(config);
  }, 60_000);

  afterAll(async () => {
    terminal?.close();
    await fg?.close();
    await client.endAsync();
    await sql.close();
    await db.drop();
  });

  async function connect(): Promise<TestTerminal> {
    terminal?.close();
    terminal = await TestTerminal.connect(fg!.ports.gateway, TERMINAL);
    await terminal.online();
    return terminal;
  }

  /** One fix a second at these speeds, each acknowledged (durable) before the next is sent. */
  async function driveAt(speeds: number[]): Promise<void> {
    for (const speed of speeds) {
      const s = terminal!.send(0x0200, terminal!.location({ speed, time: new Date(T + second++ * 1000), longitude: 117.0 + second * 0.0003 }));
      await terminal!.reply8001(s, 0x0200);
    }
  }

  const at = (s: number): string => new Date(T + s * 1000).toISOString();
  const storedEvents = async (rule: string) =>
    (await http(fg!.ports.http, 'GET', `/api/events?rule=${rule}&terminal=${TERMINAL}&from=${at(-60)}&to=${at(3600)}`)).json.events as
      { eventId: string; kind: string; startedAt: string; endedAt: string | null; late: boolean; data: Record<string, unknown> }[];

  it('raises an overspeed from its start to its end: stored once, published at start and end', async () => {
    await connect();
    await driveAt([100, ...Array(14).fill(130), 100, 100]); // 130 km/h from 1 s to 14 s, back under at 15 s
    const ends = await waitFor(() => published.filter((p) => p.kind === 'overspeed' && p.phase === 'end').length > 0 && published, 5000, 'the end on MQTT');
    const overspeed = ends.filter((p) => p.kind === 'overspeed');
    expect(overspeed.map((p) => [p.phase, p.startTime, p.endTime])).toEqual([['start', at(1), null], ['end', at(1), at(15)]]);
    expect(overspeed[1]).toMatchObject({ severity: 'warning', late: false, data: { limitKmh: 120, maxSpeedKmh: 130 } });
    expect(overspeed[0]!.id).toBe(overspeed[1]!.id);
    const stored = await waitFor(async () => {
      const es = await storedEvents('overspeed');
      return es.length === 1 && es[0]!.endedAt !== null && es;
    }, 5000, 'the stored event');
    expect(stored[0]).toMatchObject({ eventId: overspeed[0]!.id, kind: 'overspeed', startedAt: at(1), endedAt: at(15), late: false });
  });

  it('takes a vehicle threshold changed over HTTP for the next position, and refuses bad ones with a code', async () => {
    const bad = await http(fg!.ports.http, 'PUT', `/api/rules/thresholds/vehicle/${TERMINAL}`, { overspeed: { limitKmh: -5 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('FG_ERR_BAD_THRESHOLDS');
    const unknown = await http(fg!.ports.http, 'PUT', `/api/rules/thresholds/vehicle/${TERMINAL}`, { overspeed: { limit: 50 } });
    expect(unknown.status).toBe(400);
    const put = await http(fg!.ports.http, 'PUT', `/api/rules/thresholds/vehicle/${TERMINAL}`, { overspeed: { limitKmh: 50 } });
    expect(put.status).toBe(200);
    const eff = await http(fg!.ports.http, 'GET', `/api/terminals/${TERMINAL}/thresholds`);
    expect(eff.json.thresholds.overspeed).toEqual({ limitKmh: 50, minDurationS: 10, hysteresisKmh: 5 });
    const from = second;
    await driveAt(Array(12).fill(60));
    const start = await waitFor(() => published.find((p) => p.kind === 'overspeed' && p.phase === 'start' && p.startTime === at(from)), 5000, 'a start at 50 km/h');
    expect(start.data).toMatchObject({ limitKmh: 50 });
    const open = await http(fg!.ports.http, 'GET', `/api/events/open?terminal=${TERMINAL}`);
    expect(open.json.events.map((e: Published) => e.id)).toContain(start.id);
  });

  it('after a restart in the middle of the open event, ends it once: no second start, one stored row', async () => {
    const open = published.filter((p) => p.kind === 'overspeed' && p.phase === 'start').at(-1)!;
    const fence = { type: 'Feature', id: 'ktv-1', properties: { name: 'KTV', kind: 'forbidden' }, geometry: { type: 'Point', coordinates: [117.2, 36.7] } };
    const put = await http(fg!.ports.http, 'PUT', '/api/geofences/ktv-1', { ...fence, properties: { ...fence.properties, radiusM: 80 } });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    terminal!.close();
    await fg!.close(); // checkpoints on the way down
    fg = await startTestGateway(config);
    await connect();
    await driveAt([60, 60, 30, 30]); // still over the 50 km/h override (kept in the store), then under
    const end = await waitFor(() => published.find((p) => p.id === open.id && p.phase === 'end'), 5000, 'the end after the restart');
    expect(end.data).toMatchObject({ limitKmh: 50, maxSpeedKmh: 60 });
    expect(published.filter((p) => p.id === open.id).map((p) => p.phase)).toEqual(['start', 'end']);
    // Stored in the recorder's next batch: one row, now ended.
    const rows = await waitFor(async () => {
      const r = await sql.query<{ n: number; ended: Date | null }>('select count(*)::int as n, max(ended_at) as ended from events where event_key = $1', [open.id]);
      return r[0]!.ended !== null && r;
    }, 5000, 'the stored end');
    expect(rows[0]!.n).toBe(1);
    expect(rows[0]!.ended!.getTime()).toBe(Date.parse(end.endTime!));
    const cp = await sql.query<{ n: number }>('select count(*)::int as n from rule_state where terminal = $1', [TERMINAL]);
    expect(cp[0]!.n).toBe(1);
    // The fence stored before the restart is in the new process's index.
    expect(fg!.rules!.fences.get('ktv-1')).toMatchObject({ kind: 'forbidden', shape: 'circle', radiusM: 80 });
    const metrics = (await http(fg!.ports.http, 'GET', '/metrics')).json as string;
    expect(metrics).toMatch(/fleetgate_rule_events_total\{rule="overspeed",phase="end",late="false"\} 1/);
  });

  it('evaluates the positions an earlier run left in the spool, replayed at start-up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fg-rules-spool-'));
    const terminal = '013977000002';
    const rows: PositionRow[] = [100, ...Array(14).fill(130), 100].map((speed, k) => ({
      terminal, time: T + k * 1000, kind: 0, receivedAt: T + k * 1000 + 500, latitude: 36.65, longitude: 117 + k * 0.0003,
      altitude: 40, speed, direction: 90, alarm: 0, status: 3, mileage: null, fuel: null, extras: null,
    }));
    const spool = new Spool(join(dataDir, 'spool'), 1 << 30);
    spool.append(Buffer.from(JSON.stringify(rows)));
    spool.close();
    const other = await startTestGateway({ ...config, store: { ...config.store, dataDir } });
    try {
      const ev = await waitFor(async () => {
        const r = await sql.query<{ started: Date; ended: Date | null }>(
          `select started_at as started, ended_at as ended from events where terminal = $1 and kind = 'overspeed'`, [terminal]);
        return r.length === 1 && r[0]!.ended !== null && r[0]!;
      }, 5000, 'the overspeed from the spooled positions');
      expect([ev.started.getTime(), ev.ended!.getTime()]).toEqual([T + 1000, T + 15_000]);
    } finally {
      await other.close();
    }
  });
});
