import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { douglasPeucker, registerTrackRoutes } from '../src/api/tracks.js';
import { migrate } from '../src/store/migrations.js';
import { PgliteSql, PostgresSql, type Sql } from '../src/store/sql.js';

// The read side of the track store, over the real PostgreSQL (a fresh database per run) and PGlite.

const PG_SERVER = 'postgres://postgres@127.0.0.1:5432/';
const T0 = Date.UTC(2024, 2, 1, 8, 0, 0); // minute-aligned, so 60 s buckets split the track at known points
const N = 2000;
const TERMINAL = '013900000001';
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** The synthetic track: 1 s apart, 10 m a step, east → north at 500 → east at 1000 → south at 1500. */
function syntheticTrack(): { lon: number; lat: number; speed: number; direction: number }[] {
  const dLat = 10 / 111_195;
  const dLon = 10 / (111_195 * Math.cos((36.65 * Math.PI) / 180));
  const steps: [number, number, number][] = [[dLon, 0, 90], [0, dLat, 0], [dLon, 0, 90], [0, -dLat, 180]];
  const out = [{ lon: 117.0, lat: 36.65, speed: 0, direction: 90 }];
  for (let i = 1; i < N; i++) {
    const [dx, dy, direction] = steps[Math.floor((i - 1) / 500)]!;
    const prev = out[i - 1]!;
    out.push({ lon: prev.lon + dx, lat: prev.lat + dy, speed: i % 97, direction });
  }
  return out;
}
const TRACK = syntheticTrack();
const CORNERS = [0, 500, 1000, 1500, N - 1];

async function seed(sql: Sql): Promise<Record<string, number>> {
  const rows: Record<string, unknown>[] = TRACK.map((p, i) => ({ terminal: TERMINAL, time: at(i), kind: 0, latitude: p.lat, longitude: p.lon, speed: p.speed, direction: p.direction, mileage: i / 100 }));
  // The same time under another kind (a 0x0704 resend), far off and fast: the live point must win.
  rows.push({ terminal: TERMINAL, time: at(100), kind: 1, latitude: 36.0, longitude: 118.0, speed: 999, direction: 0, mileage: 0 });
  // Just outside [from, to), and another terminal inside it.
  rows.push({ terminal: TERMINAL, time: at(-1), kind: 0, latitude: 36.65, longitude: 117.0, speed: 500, direction: 0, mileage: 0 });
  rows.push({ terminal: TERMINAL, time: at(N), kind: 0, latitude: 36.65, longitude: 117.0, speed: 500, direction: 0, mileage: 0 });
  rows.push({ terminal: '013900000002', time: at(5), kind: 0, latitude: 36.7, longitude: 117.1, speed: 40, direction: 0, mileage: 0 });
  await sql.query(
    `insert into positions (terminal, time, kind, received_at, latitude, longitude, altitude, speed, direction, alarm, status, mileage)
     select terminal, time, kind, time, latitude, longitude, 50, speed, direction, 0, 3, mileage
     from jsonb_to_recordset($1::jsonb) as x(terminal text, time timestamptz, kind smallint, latitude float8, longitude float8, speed real, direction smallint, mileage float8)`,
    [JSON.stringify(rows)],
  );
  await sql.exec(`insert into terminals (terminal, auth_code, edition) values ('013900000001', 'a', 2013), ('013900000002', 'b', 2013), ('013900000003', 'c', 2019)`);
  const ids: Record<string, number> = {};
  for (const [key, plate, org, terminal] of [
    ['a', '鲁A12345', 'jinan-police', '013900000001'],
    ['b', '鲁A67890', 'jinan-police', '013900000002'],
    ['c', '京B11111', 'beijing-gov', '013900000003'],
    ['unfitted', '鲁A00000', 'jinan-police', null],
  ] as const) {
    const [r] = await sql.query<{ id: string | number }>(`insert into vehicles (plate, plate_color, organisation, terminal) values ($1, 1, $2, $3) returning id`, [plate, org, terminal]);
    ids[key] = Number(r!.id);
  }
  await sql.query(
    `insert into last_positions (terminal, time, received_at, latitude, longitude, speed, direction, alarm, status)
     select terminal, $1::timestamptz, $1::timestamptz, latitude, longitude, 30, 90, 0, 3
     from jsonb_to_recordset($2::jsonb) as x(terminal text, latitude float8, longitude float8)`,
    [at(N - 1), JSON.stringify([
      { terminal: '013900000001', latitude: 36.65, longitude: 117.02 },
      { terminal: '013900000002', latitude: 36.7, longitude: 117.1 },
      { terminal: '013900000003', latitude: 39.9, longitude: 116.4 },
      { terminal: '013900000004', latitude: 36.66, longitude: 117.05 }, // no vehicle bound
    ])],
  );
  await sql.query(
    `insert into events (terminal, kind, severity, started_at, ended_at, data)
     select terminal, kind, 1, started_at, ended_at, data from jsonb_to_recordset($1::jsonb)
       as x(terminal text, kind text, started_at timestamptz, ended_at timestamptz, data jsonb)`,
    [JSON.stringify([
      { terminal: '013900000001', kind: 'overspeed', started_at: at(10), ended_at: at(40), data: { maxSpeed: 96 } },
      { terminal: '013900000001', kind: 'geofence.exit', started_at: at(500), ended_at: null, data: null },
      { terminal: '013900000002', kind: 'overspeed', started_at: at(600), ended_at: at(700), data: null },
      { terminal: '013900000001', kind: 'overspeed', started_at: at(3 * 3600), ended_at: null, data: null },
    ])],
  );
  return ids;
}

async function openPostgres(): Promise<{ sql: Sql; close: () => Promise<void> }> {
  const name = `fg_tracks_${randomBytes(6).toString('hex')}`;
  const admin = async (text: string): Promise<void> => {
    const c = new pg.Client({ connectionString: PG_SERVER });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const sql = new PostgresSql(`${PG_SERVER}${name}`);
  return { sql, close: async () => { await sql.close(); await admin(`drop database if exists ${name} with (force)`); } };
}

async function openPglite(): Promise<{ sql: Sql; close: () => Promise<void> }> {
  const sql = await PgliteSql.open('memory://');
  return { sql, close: () => sql.close() };
}

interface Feature {
  type: string;
  geometry: { type: string; coordinates: number[] | number[][] } | null;
  properties: Record<string, unknown>;
}
interface Collection {
  type: string;
  features: Feature[];
  truncated?: boolean;
}

describe('douglasPeucker', () => {
  const input: [number, number][] = [[0, 0], [0.001, 0.00001], [0.002, 0], [0.002, 0.001], [0.002, 0.002]];

  it('drops points within the tolerance and keeps the turn', () => {
    // Point 1 is ~1.11 m off the first leg; point 3 lies on the second.
    expect(douglasPeucker(input, 5)).toEqual([[0, 0], [0.002, 0], [0.002, 0.002]]);
    expect(douglasPeucker(input, 1)).toEqual([[0, 0], [0.001, 0.00001], [0.002, 0], [0.002, 0.002]]);
  });

  it('measures east–west distances shrunk by the cosine of the latitude', () => {
    // At 60° N, 0.00003° of longitude is ~1.67 m (it would be ~3.34 m at the equator).
    const north: [number, number][] = [[10, 60], [10.00003, 60.001], [10, 60.002]];
    expect(douglasPeucker(north, 2.5)).toEqual([[10, 60], [10, 60.002]]);
    expect(douglasPeucker(north, 1.5)).toEqual(north);
  });

  it('keeps the far end of a track that turns back, and leaves short inputs alone', () => {
    expect(douglasPeucker([[0, 0], [0.01, 0], [0.005, 0]], 10)).toEqual([[0, 0], [0.01, 0], [0.005, 0]]);
    expect(douglasPeucker([], 10)).toEqual([]);
    expect(douglasPeucker([[1, 2]], 10)).toEqual([[1, 2]]);
    expect(douglasPeucker([[1, 2], [1, 2.0000001]], 10)).toEqual([[1, 2], [1, 2.0000001]]);
  });
});

describe.each([
  { backend: 'postgres', open: openPostgres },
  { backend: 'pglite', open: openPglite },
])('track API on $backend', ({ open }) => {
  let db: { sql: Sql; close: () => Promise<void> };
  let app: FastifyInstance;
  let vehicles: Record<string, number>;

  beforeAll(async () => {
    db = await open();
    await migrate(db.sql);
    vehicles = await seed(db.sql);
    app = Fastify();
    registerTrackRoutes(app, { sql: db.sql });
    await app.ready();
  }, 20_000);

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const get = async <T = Collection>(path: string, query: Record<string, string | number> = {}): Promise<{ status: number; body: T }> => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    const res = await app.inject({ method: 'GET', url: qs ? `${path}?${qs}` : path });
    return { status: res.statusCode, body: res.json() as T };
  };
  const RANGE = { from: at(0), to: at(N) };
  const line = (c: Collection): Feature => c.features[0]!;
  const coords = (c: Collection): number[][] => line(c).geometry!.coordinates as number[][];

  it('returns the whole track in order, one point per time, the live point preferred', async () => {
    // The same instant written with an offset selects the same range.
    const { status, body } = await get(`/api/terminals/${TERMINAL}/track`, { from: '2024-03-01T16:00:00+08:00', to: at(N), limit: 10_000, points: 'true' });
    expect(status).toBe(200);
    expect(body.type).toBe('FeatureCollection');
    expect(line(body).geometry!.type).toBe('LineString');
    expect(line(body).properties).toMatchObject({ terminal: TERMINAL, from: at(0), to: at(N), points: N, sourcePoints: N, simplified: false, next: null });
    expect(coords(body)).toEqual(TRACK.map((p) => [p.lon, p.lat]));
    const points = body.features.slice(1);
    expect(points).toHaveLength(N);
    expect(points.map((f) => f.properties.time)).toEqual(TRACK.map((_, i) => at(i)));
    expect(points[100]!.properties).toMatchObject({ kind: 0, speed: 3, direction: 90, altitude: 50, status: 3 });
  });

  it('pages by cursor: pages concatenate to the full track without overlap', async () => {
    const first = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE });
    expect(line(first.body).properties.points).toBe(1000); // the default limit
    expect(typeof line(first.body).properties.next).toBe('string');

    const p1 = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 1200 });
    const next = line(p1.body).properties.next as string;
    const p2 = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 1200, cursor: next });
    expect(coords(p1.body)).toHaveLength(1200);
    expect(coords(p2.body)).toHaveLength(800);
    expect(line(p2.body).properties.next).toBeNull();
    expect([...coords(p1.body), ...coords(p2.body)]).toEqual(TRACK.map((p) => [p.lon, p.lat]));

    // A page that ends exactly at the end of the range says so.
    const e1 = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 1000 });
    const e2 = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 1000, cursor: line(e1.body).properties.next as string });
    expect(coords(e2.body)).toHaveLength(1000);
    expect(line(e2.body).properties.next).toBeNull();
    expect(coords(e2.body)[0]).toEqual([TRACK[1000]!.lon, TRACK[1000]!.lat]);
  });

  it('reads a vehicle track through its terminal', async () => {
    const { status, body } = await get(`/api/vehicles/${vehicles.a}/track`, { ...RANGE, limit: 10_000 });
    expect(status).toBe(200);
    expect(line(body).properties).toMatchObject({ terminal: TERMINAL, vehicleId: vehicles.a, plate: '鲁A12345', organisation: 'jinan-police', points: N });
    const empty = await get(`/api/vehicles/${vehicles.unfitted}/track`, RANGE);
    expect(empty.status).toBe(200);
    expect(line(empty.body)).toMatchObject({ geometry: null, properties: { terminal: null, points: 0, next: null } });
  });

  it('buckets by 60 s: the last point of each bucket, its count and max speed', async () => {
    const { body } = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '60s', points: 'true' });
    const buckets = Math.ceil(N / 60); // 33 full minutes and 20 s
    expect(line(body).properties).toMatchObject({ points: buckets, bucketSeconds: 60, next: null });
    const props = body.features.slice(1).map((f) => f.properties);
    expect(props).toHaveLength(buckets);
    for (let b = 0; b < buckets; b++) {
      const last = Math.min(b * 60 + 59, N - 1);
      const speeds = TRACK.slice(b * 60, last + 1).map((p) => p.speed);
      expect(props[b]).toMatchObject({ bucket: at(b * 60), time: at(last), count: last - b * 60 + 1, maxSpeed: Math.max(...speeds), kind: 0 });
    }
    expect(coords(body)[0]).toEqual([TRACK[59]!.lon, TRACK[59]!.lat]);

    // 1m is the same bucket; paging by buckets concatenates too.
    const same = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '1m' });
    expect(coords(same.body)).toEqual(coords(body));
    const b1 = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '60', limit: 20 });
    const b2 = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '60', limit: 20, cursor: line(b1.body).properties.next as string });
    expect(coords(b1.body)).toHaveLength(20);
    expect(line(b2.body).properties.next).toBeNull();
    expect([...coords(b1.body), ...coords(b2.body)]).toEqual(coords(body));
  });

  it('simplifies with Douglas–Peucker: collinear points go, turns stay', async () => {
    const { body } = await get(`/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 10_000, tolerance: 1, points: 'true' });
    expect(line(body).properties).toMatchObject({ points: CORNERS.length, sourcePoints: N, simplified: true, tolerance: 1 });
    expect(coords(body)).toEqual(CORNERS.map((i) => [TRACK[i]!.lon, TRACK[i]!.lat]));
    expect(body.features.slice(1).map((f) => f.properties.time)).toEqual(CORNERS.map(at));
  });

  it('lists last positions by bounding box and by organisation', async () => {
    const terminals = (c: Collection): unknown[] => c.features.map((f) => f.properties.terminal);
    const jinan = await get('/api/positions/last', { bbox: '116.8,36.5,117.3,36.9' });
    expect(jinan.status).toBe(200);
    expect(terminals(jinan.body)).toEqual(['013900000001', '013900000002', '013900000004']);
    expect(jinan.body.truncated).toBe(false);
    expect(jinan.body.features[0]).toMatchObject({
      geometry: { type: 'Point', coordinates: [117.02, 36.65] },
      properties: { plate: '鲁A12345', organisation: 'jinan-police', vehicleId: vehicles.a, time: at(N - 1), speed: 30 },
    });
    expect(jinan.body.features[2]!.properties).toMatchObject({ plate: null, organisation: null, vehicleId: null });

    expect(terminals((await get('/api/positions/last', { organisation: 'jinan-police' })).body)).toEqual(['013900000001', '013900000002']);
    expect(terminals((await get('/api/positions/last', { organisation: 'beijing-gov', bbox: '116.8,36.5,117.3,36.9' })).body)).toEqual([]);
    expect(terminals((await get('/api/positions/last')).body)).toHaveLength(4);
    const cut = await get('/api/positions/last', { bbox: '116.8,36.5,117.3,36.9', limit: 2 });
    expect(terminals(cut.body)).toEqual(['013900000001', '013900000002']);
    expect(cut.body.truncated).toBe(true);
  });

  it('lists events that started in a range', async () => {
    type Events = { events: { terminal: string; kind: string; startedAt: string; endedAt: string | null; data: unknown }[]; truncated: boolean };
    const all = await get<Events>('/api/events', RANGE);
    expect(all.status).toBe(200);
    expect(all.body.events.map((e) => [e.terminal, e.kind, e.startedAt])).toEqual([
      ['013900000001', 'overspeed', at(10)],
      ['013900000001', 'geofence.exit', at(500)],
      ['013900000002', 'overspeed', at(600)],
    ]);
    expect(all.body.events[0]).toMatchObject({ endedAt: at(40), data: { maxSpeed: 96 } });
    expect(all.body.events[1]!.endedAt).toBeNull();
    expect((await get<Events>('/api/events', { ...RANGE, terminal: '13900000001' })).body.events).toHaveLength(2);
    expect((await get<Events>('/api/events', { ...RANGE, kind: 'overspeed' })).body.events.map((e) => e.startedAt)).toEqual([at(10), at(600)]);
    const cut = await get<Events>('/api/events', { ...RANGE, limit: 2 });
    expect(cut.body.events).toHaveLength(2);
    expect(cut.body.truncated).toBe(true);
  });

  it.each([
    ['track without from', `/api/terminals/${TERMINAL}/track`, { to: at(N) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track with a bad ISO time', `/api/terminals/${TERMINAL}/track`, { from: 'yesterday', to: at(N) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track on 30 February', `/api/terminals/${TERMINAL}/track`, { from: '2024-02-30T00:00:00Z', to: at(N) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track with no offset', `/api/terminals/${TERMINAL}/track`, { from: '2024-03-01T08:00:00', to: at(N) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track with from = to', `/api/terminals/${TERMINAL}/track`, { from: at(N), to: at(N) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track with from > to', `/api/terminals/${TERMINAL}/track`, { from: at(N), to: at(0) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track over 31 days', `/api/terminals/${TERMINAL}/track`, { from: at(0), to: at(32 * 86_400) }, 400, 'FG_ERR_BAD_RANGE'],
    ['track of a non-numeric terminal', '/api/terminals/abc/track', RANGE, 400, 'FG_ERR_BAD_TERMINAL'],
    ['track of a 21-digit terminal', `/api/terminals/${'1'.repeat(21)}/track`, RANGE, 400, 'FG_ERR_BAD_TERMINAL'],
    ['track with limit 0', `/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 0 }, 400, 'FG_ERR_BAD_LIMIT'],
    ['track with limit 10001', `/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: 10_001 }, 400, 'FG_ERR_BAD_LIMIT'],
    ['track with limit 1.5', `/api/terminals/${TERMINAL}/track`, { ...RANGE, limit: '1.5' }, 400, 'FG_ERR_BAD_LIMIT'],
    ['track with bucket 0s', `/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '0s' }, 400, 'FG_ERR_BAD_BUCKET'],
    ['track with bucket 2d', `/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '2d' }, 400, 'FG_ERR_BAD_BUCKET'],
    ['track with bucket 5x', `/api/terminals/${TERMINAL}/track`, { ...RANGE, bucket: '5x' }, 400, 'FG_ERR_BAD_BUCKET'],
    ['track with tolerance 0', `/api/terminals/${TERMINAL}/track`, { ...RANGE, tolerance: 0 }, 400, 'FG_ERR_BAD_TOLERANCE'],
    ['track with tolerance -5', `/api/terminals/${TERMINAL}/track`, { ...RANGE, tolerance: -5 }, 400, 'FG_ERR_BAD_TOLERANCE'],
    ['track with a garbage cursor', `/api/terminals/${TERMINAL}/track`, { ...RANGE, cursor: 'not a cursor' }, 400, 'FG_ERR_BAD_CURSOR'],
    ['track with a forged cursor', `/api/terminals/${TERMINAL}/track`, { ...RANGE, cursor: Buffer.from("x' or 1=1|0").toString('base64url') }, 400, 'FG_ERR_BAD_CURSOR'],
    ['track with a cursor on 30 February', `/api/terminals/${TERMINAL}/track`, { ...RANGE, cursor: Buffer.from('2024-02-30T00:00:00.000000Z|0').toString('base64url') }, 400, 'FG_ERR_BAD_CURSOR'],
    ['track with points=maybe', `/api/terminals/${TERMINAL}/track`, { ...RANGE, points: 'maybe' }, 400, 'FG_ERR_BAD_PARAM'],
    ['track of a non-numeric vehicle', '/api/vehicles/abc/track', RANGE, 400, 'FG_ERR_BAD_VEHICLE'],
    ['track of an unknown vehicle', '/api/vehicles/999999/track', RANGE, 404, 'FG_ERR_NOT_FOUND'],
    ['last positions, bbox of 3 numbers', '/api/positions/last', { bbox: '1,2,3' }, 400, 'FG_ERR_BAD_BBOX'],
    ['last positions, bbox min > max', '/api/positions/last', { bbox: '117.3,36.5,116.8,36.9' }, 400, 'FG_ERR_BAD_BBOX'],
    ['last positions, bbox not numbers', '/api/positions/last', { bbox: 'a,b,c,d' }, 400, 'FG_ERR_BAD_BBOX'],
    ['last positions, bbox latitude 100', '/api/positions/last', { bbox: '0,0,10,100' }, 400, 'FG_ERR_BAD_BBOX'],
    ['last positions, bbox with an empty part', '/api/positions/last', { bbox: '0,,1,1' }, 400, 'FG_ERR_BAD_BBOX'],
    ['last positions, limit 0', '/api/positions/last', { limit: 0 }, 400, 'FG_ERR_BAD_LIMIT'],
    ['last positions, empty organisation', '/api/positions/last', { organisation: '' }, 400, 'FG_ERR_BAD_PARAM'],
    ['events without a range', '/api/events', {}, 400, 'FG_ERR_BAD_RANGE'],
    ['events over 31 days', '/api/events', { from: at(0), to: at(40 * 86_400) }, 400, 'FG_ERR_BAD_RANGE'],
    ['events of a bad terminal', '/api/events', { ...RANGE, terminal: '12ab' }, 400, 'FG_ERR_BAD_TERMINAL'],
    ['events with limit 20000', '/api/events', { ...RANGE, limit: 20_000 }, 400, 'FG_ERR_BAD_LIMIT'],
    ['events of a bad kind', '/api/events', { ...RANGE, kind: 'over speed;' }, 400, 'FG_ERR_BAD_PARAM'],
  ] as const)('rejects %s', async (_name, path, query, status, code) => {
    const res = await get<{ error: { code: string; message: string } }>(path, query);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(0);
  });
});
