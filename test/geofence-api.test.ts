import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Feature, FeatureCollection } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/api/server.js';
import type { Fleetgate } from '../src/app.js';
import { silentLog } from '../src/log.js';
import { FenceIndex } from '../src/rules/geo/index.js';
import { areaIdOf } from '../src/rules/geo/push.js';
import { FenceRepository } from '../src/rules/geo/repository.js';
import { migrate } from '../src/store/migrations.js';
import { PgliteSql, PostgresSql, type Sql } from '../src/store/sql.js';
import { TestTerminal, startTestGateway, waitFor } from './support/gateway.js';
import { createDatabase } from './support/pg.js';

// The geofence API over the real PostgreSQL (a fresh database per run) and PGlite, wired through
// buildApi to a real gateway, so a push reaches a terminal over TCP and its 0x0001 comes back.

const JINAN = JSON.parse(readFileSync(new URL('../fixtures/geofences/jinan.geojson', import.meta.url), 'utf8')) as FeatureCollection;
const byId = (features: Feature[]): Feature[] => [...features].sort((a, b) => String(a.id).localeCompare(String(b.id)));

async function openPostgres(): Promise<{ sql: Sql; close: () => Promise<void> }> {
  const db = await createDatabase('fg_geofence');
  const sql = new PostgresSql(db.url);
  return { sql, close: async () => { await sql.close(); await db.drop(); } };
}

async function openPglite(): Promise<{ sql: Sql; close: () => Promise<void> }> {
  const sql = await PgliteSql.open('memory://');
  return { sql, close: () => sql.close() };
}

const circle = (id: string, lon: number, lat: number, radiusM: number): Feature => ({
  type: 'Feature', id, properties: { kind: 'depot', name: id, radiusM }, geometry: { type: 'Point', coordinates: [lon, lat] },
});
const polygon = (id: string, ring: number[][]): Feature => ({
  type: 'Feature', id, properties: { kind: 'forbidden', name: id }, geometry: { type: 'Polygon', coordinates: [ring] },
});
const collection = (...features: Feature[]): FeatureCollection => ({ type: 'FeatureCollection', features });

describe.each([
  { backend: 'postgres', open: openPostgres },
  { backend: 'pglite', open: openPglite },
])('geofence API on $backend', ({ open }) => {
  let db: { sql: Sql; close: () => Promise<void> };
  let fg: Fleetgate;
  let app: FastifyInstance;
  let repo: FenceRepository;
  const fences = new FenceIndex();
  const terminals: TestTerminal[] = [];

  const call = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const r = await app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: r.statusCode, json: r.body === '' ? undefined : r.json() };
  };
  const stored = async (): Promise<string[]> => (await db.sql.query<{ id: string }>('select id from geofences order by id')).map((r) => r.id);
  const online = async (id: string, edition: 2013 | 2019 = 2013): Promise<TestTerminal> => {
    const t = await TestTerminal.connect(fg.ports.gateway, id, edition);
    terminals.push(t);
    return t.online();
  };

  beforeAll(async () => {
    db = await open();
    await migrate(db.sql);
    repo = new FenceRepository(db.sql);
    fg = await startTestGateway({}, { http: false });
    app = buildApi({ gateway: fg.gateway, metrics: fg.metrics, log: silentLog(), httpWaitMs: 3000, geofences: { fences, repo } });
    await app.ready();
  }, 30_000);

  afterAll(async () => {
    for (const t of terminals) t.close();
    await app?.close();
    await fg?.close();
    await db?.close();
  });

  it('imports a FeatureCollection, exports it unchanged, and the live index holds it', async () => {
    const r = await call('PUT', '/api/geofences', JINAN);
    expect(r.status).toBe(200);
    expect(r.json.imported).toBe(7);
    const out = await call('GET', '/api/geofences');
    expect(out.status).toBe(200);
    expect(out.json.type).toBe('FeatureCollection');
    expect(byId(out.json.features)).toEqual(byId(JINAN.features));
    expect(await stored()).toHaveLength(7);
    expect(fences.size).toBe(7);
    // Inside the Qianfoshan depot circle and the scenic area's hole: the depot, not the forbidden area.
    expect(fences.locate(117.029, 36.6302).map((h) => h.fence.id).sort()).toEqual(['depot-qianfoshan', 'jurisdiction-jinan']);
  });

  it('filters by kind, answers one Feature, and 404s an unknown id with a code', async () => {
    const depots = await call('GET', '/api/geofences?kind=depot');
    expect(depots.json.features.map((f: Feature) => f.id)).toEqual(['depot-jingshi-west', 'depot-qianfoshan']);
    expect((await call('GET', '/api/geofences?kind=garage')).json.error.code).toBe('FG_ERR_BAD_KIND');
    const one = await call('GET', '/api/geofences/route-jingshi');
    expect(one.json).toEqual(JINAN.features.find((f) => f.id === 'route-jingshi'));
    const missing = await call('GET', '/api/geofences/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('FG_ERR_NOT_FOUND');
  });

  it.each([
    ['a self-intersecting polygon', polygon('bad', [[117, 36], [117.1, 36.1], [117.1, 36], [117, 36.1], [117, 36]]), /self-intersecting/],
    ['an unclosed ring', polygon('bad', [[117, 36], [117.1, 36], [117.1, 36.1], [117, 36.1]]), /not closed/],
    ['a latitude out of range', circle('bad', 117, 96.5, 100), /out of range/],
  ])('refuses an import with %s: 400 naming the fence, nothing stored', async (_what, bad, message) => {
    const before = await stored();
    const r = await call('PUT', '/api/geofences', collection(circle('fine', 117.1, 36.6, 50), bad));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'FG_ERR_BAD_GEOMETRY', fenceId: 'bad' });
    expect(r.json.error.message).toMatch(message);
    expect(r.json.error.message).toMatch(/^feature 1: /);
    expect(await stored()).toEqual(before);
    expect(fences.get('fine')).toBeUndefined();
  });

  it('refuses a collection that is not one, a fence without a kind, and a repeated id', async () => {
    expect((await call('PUT', '/api/geofences', { type: 'Feature' })).json.error.code).toBe('FG_ERR_BAD_FENCE');
    const noKind = { ...circle('k', 117, 36, 10), properties: { radiusM: 10 } };
    expect((await call('PUT', '/api/geofences', collection(noKind))).json.error).toMatchObject({ code: 'FG_ERR_BAD_FENCE', fenceId: 'k' });
    const twice = await call('PUT', '/api/geofences', collection(circle('x', 117, 36, 10), circle('x', 117, 36, 20)));
    expect(twice.json.error).toMatchObject({ code: 'FG_ERR_BAD_FENCE', fenceId: 'x' });
    expect(await stored()).not.toContain('x');
  });

  it('PUT one fence: the URL names it, the index follows, a bad one changes nothing', async () => {
    const created = await call('PUT', '/api/geofences/lot-7', { ...circle('lot-7', 117.2, 36.7, 40), id: undefined });
    expect(created.status).toBe(200);
    expect(created.json.id).toBe('lot-7');
    expect(fences.locate(117.2, 36.7).map((h) => h.fence.id)).toContain('lot-7');
    const moved = await call('PUT', '/api/geofences/lot-7', circle('lot-7', 117.3, 36.7, 40));
    expect(moved.status).toBe(200);
    expect(fences.locate(117.2, 36.7).map((h) => h.fence.id)).not.toContain('lot-7');
    expect(fences.locate(117.3, 36.7).map((h) => h.fence.id)).toContain('lot-7');
    expect((await call('GET', '/api/geofences/lot-7')).json.geometry.coordinates).toEqual([117.3, 36.7]);

    const mismatch = await call('PUT', '/api/geofences/lot-7', circle('lot-8', 117.3, 36.7, 40));
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.code).toBe('FG_ERR_BAD_FENCE');
    const bad = await call('PUT', '/api/geofences/lot-7', circle('lot-7', 117.3, -91, 40));
    expect(bad.json.error).toMatchObject({ code: 'FG_ERR_BAD_GEOMETRY', fenceId: 'lot-7' });
    expect((await repo.get('lot-7'))?.shape === 'circle' && (await repo.get('lot-7'))).toMatchObject({ center: [117.3, 36.7] });
  });

  it('DELETE removes the fence from the store and the live index', async () => {
    const r = await call('DELETE', '/api/geofences/lot-7');
    expect(r.status).toBe(204);
    expect((await call('GET', '/api/geofences/lot-7')).status).toBe(404);
    expect(fences.get('lot-7')).toBeUndefined();
    expect(fences.locate(117.3, 36.7).map((h) => h.fence.id)).not.toContain('lot-7');
    expect((await call('DELETE', '/api/geofences/lot-7')).json.error.code).toBe('FG_ERR_NOT_FOUND');
  });

  it('pushes a circle to connected terminals (2013 and 2019): 0x8600 arrives, the 0x0001 answers it', async () => {
    const a = await online('013900000101', 2013);
    const b = await online('00000000013900000102', 2019); // 2019 headers carry 20 digits
    const r = await call('POST', '/api/geofences/depot-qianfoshan/push', { terminals: [a.terminal, b.terminal] });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ fence: 'depot-qianfoshan', areaId: areaIdOf('depot-qianfoshan'), action: 'set', msgIds: ['0x8600'] });
    expect(r.json.results).toEqual([
      { terminal: a.terminal, commandIds: [expect.any(String)], status: 'answered', ok: true },
      { terminal: b.terminal, commandIds: [expect.any(String)], status: 'answered', ok: true },
    ]);
    for (const t of [a, b]) {
      const got = await t.expect((m) => m.msgId === 0x8600);
      const area = (got.body as { areas: Record<string, number | string>[] }).areas[0]!;
      expect(area).toMatchObject({ areaId: areaIdOf('depot-qianfoshan'), attribute: 0b101000, radius: 60 });
      expect([Math.round((area.latitude as number) * 1e6), Math.round((area.longitude as number) * 1e6)]).toEqual([36630200, 117029000]);
      if (t.edition === 2019) expect(area.name).toBe('省直机关车辆保障中心（千佛山）');
    }
    const record = await call('GET', `/api/commands/${r.json.results[0].commandIds[0]}`);
    expect(record.json).toMatchObject({ status: 'answered', result: 0, msgId: '0x8600', reply: { msgId: '0x0001', replyMsgId: 0x8600 } });
  });

  it('reports a terminal that refuses, one that is offline, and deletes with 0x8601', async () => {
    const t = await online('013900000103');
    t.autoReply = false;
    const pending = call('POST', '/api/geofences/depot-qianfoshan/push', { terminals: [t.terminal, '13900000199'] });
    const sent = await t.expect((m) => m.msgId === 0x8600);
    t.send(0x0001, { replySerial: sent.serial, replyMsgId: 0x8600, result: 3 }); // not supported
    const r = await pending;
    expect(r.json.results).toEqual([
      { terminal: t.terminal, commandIds: [expect.any(String)], status: 'answered', ok: false, result: 3 },
      { terminal: '013900000199', commandIds: [expect.any(String)], status: 'queued', ok: false },
    ]);
    t.autoReply = true;
    const del = await call('POST', '/api/geofences/depot-qianfoshan/push', { terminals: [t.terminal], action: 'delete' });
    expect(del.json.results[0]).toMatchObject({ status: 'answered', ok: true });
    expect((await t.expect((m) => m.msgId === 0x8601)).body).toEqual({ ids: [areaIdOf('depot-qianfoshan')] });
  });

  it('pushes a polygon with holes only with outerRingOnly, and a corridor as a 0x8606 route', async () => {
    const t = await online('013900000104');
    const refused = await call('POST', '/api/geofences/forbidden-qianfoshan/push', { terminals: [t.terminal] });
    expect(refused.status).toBe(422);
    expect(refused.json.error).toMatchObject({ code: 'FG_ERR_NOT_PUSHABLE', fenceId: 'forbidden-qianfoshan' });
    const shell = await call('POST', '/api/geofences/forbidden-qianfoshan/push', { terminals: [t.terminal], outerRingOnly: true });
    expect(shell.json.results[0]).toMatchObject({ status: 'answered', ok: true });
    expect(((await t.expect((m) => m.msgId === 0x8604)).body as { vertices: unknown[] }).vertices).toHaveLength(8);
    const route = await call('POST', '/api/geofences/route-jingshi/push', { terminals: [t.terminal] });
    expect(route.json.results[0]).toMatchObject({ status: 'answered', ok: true });
    await waitFor(() => t.received.some((m) => m.msgId === 0x8606), 3000, '0x8606');
  });

  it('refuses a push with bad terminals or an unknown fence', async () => {
    expect((await call('POST', '/api/geofences/depot-qianfoshan/push', { terminals: [] })).json.error.code).toBe('FG_ERR_BAD_TERMINAL');
    expect((await call('POST', '/api/geofences/depot-qianfoshan/push', { terminals: ['abc'] })).json.error.code).toBe('FG_ERR_BAD_TERMINAL');
    expect((await call('POST', '/api/geofences/depot-qianfoshan/push', { terminals: ['1'], action: 'wipe' })).status).toBe(400);
    expect((await call('POST', '/api/geofences/nowhere/push', { terminals: ['013900000101'] })).status).toBe(404);
  });
});
