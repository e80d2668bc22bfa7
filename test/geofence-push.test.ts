import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Edition } from '../protocols/jt808/index.js';
import { Reassembler, decodeBody, decodeFrame, encodeMessage, type DecodeResult } from '../src/protocol/jt808/index.js';
import { fencesFromGeoJSON } from '../src/rules/geo/geojson.js';
import type { CorridorFence, Fence } from '../src/rules/geo/fence.js';
import {
  AreaAttribute as A, FencePushError, SegmentAttribute as S, areaIdConflict, areaIdOf, deleteAreasCommands, fenceDeleteCommand,
  fencePushCommands, type FenceCommand,
} from '../src/rules/geo/push.js';

// Fences → JT/T 808 0x8600–0x8607: every command is encoded as a real frame in each edition and
// decoded back by the frame decoder, so what is checked is what a terminal would read.

const T = '013912344321';
const JINAN = fencesFromGeoJSON(JSON.parse(readFileSync(new URL('../fixtures/geofences/jinan.geojson', import.meta.url), 'utf8')));
const jinan = (id: string): Fence => JINAN.find((f) => f.id === id)!;
const micro = (deg: number): number => Math.round(deg * 1e6);

const ok = (r: DecodeResult) => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.message;
};

/** Encodes the command as a terminal of `edition` receives it and decodes it back (sub-packages reassembled). */
function onTheWire(c: FenceCommand, edition: Edition): { msgId: number; body: Record<string, any>; frames: number } {
  const { frames } = encodeMessage({ msgId: c.msgId, terminal: T, serial: 100, version: edition, body: c.body });
  const opts = edition === 2011 ? { edition: 2011 as const } : {};
  const parts = frames.map((f) => ok(decodeFrame(f.subarray(1, f.length - 1), opts)));
  if (parts.length === 1) return { msgId: parts[0]!.msgId, body: parts[0]!.body as Record<string, any>, frames: 1 };
  const ra = new Reassembler({ timeoutMs: 1000, maxBytesPerTerminal: 1 << 20, maxBytesTotal: 1 << 22 });
  let done;
  for (const p of parts) done = ra.add(p, 0);
  if (done?.status !== 'complete') throw new Error('sub-packages did not reassemble');
  const whole = ok(decodeBody(done.message, done.body, opts));
  return { msgId: whole.msgId, body: whole.body as Record<string, any>, frames: parts.length };
}

function pushed(f: Fence, edition: Edition, opts = {}): { msgId: number; body: Record<string, any>; frames: number } {
  const p = fencePushCommands(f, opts);
  expect(p.commands).toHaveLength(1);
  expect(p.areaId).toBe(areaIdOf(f.id));
  return onTheWire(p.commands[0]!, edition);
}

function refusal(f: Fence, opts = {}): FencePushError {
  try {
    fencePushCommands(f, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(FencePushError);
    expect((e as FencePushError).code).toBe('FG_ERR_NOT_PUSHABLE');
    expect((e as FencePushError).fenceId).toBe(f.id);
    return e as FencePushError;
  }
  throw new Error(`fence ${f.id} was pushed`);
}

const depot = { id: 'depot-1', name: '市直车队', kind: 'depot' } as const;
const EDITIONS = [2013, 2019] as const;

describe.each(EDITIONS)('fence → JT/T 808 area commands, %i edition', (edition) => {
  const is2019 = edition === 2019;

  it('circle → 0x8600 (append): centre ×1e6, radius in m, speed limit, no time rule despite time windows', () => {
    const f: Fence = {
      ...depot, shape: 'circle', center: [117.029123, 36.630245], radiusM: 60.4, speedLimitKmh: 30,
      timeWindows: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00' }],
    };
    const { msgId, body } = pushed(f, edition);
    expect(msgId).toBe(0x8600);
    expect(body.settingType).toBe(1);
    expect(body.areas).toHaveLength(1);
    const a = body.areas[0];
    expect(a.areaId).toBe(areaIdOf('depot-1'));
    // depot: platform alarms on entering and leaving; bit 1 speed; bit 0 (time) never set.
    expect(a.attribute).toBe(A.ENTER_PLATFORM | A.LEAVE_PLATFORM | A.SPEED);
    expect([micro(a.latitude), micro(a.longitude)]).toEqual([36630245, 117029123]);
    expect(a.radius).toBe(60);
    expect(a).not.toHaveProperty('startTime');
    expect(a).toMatchObject({ maxSpeed: 30, overspeedDuration: 10 });
    if (is2019) expect(a).toMatchObject({ nightMaxSpeed: 30, name: '市直车队' });
    else expect(a).not.toHaveProperty('name');
  });

  it('circle south and west of the equator and meridian: unsigned coordinates with bits 6/7', () => {
    const { body } = pushed({ id: 'sw', name: 'sw', kind: 'forbidden', shape: 'circle', center: [-58.381592, -34.603722], radiusM: 500 }, edition);
    const a = body.areas[0];
    expect(a.attribute).toBe(A.ENTER_PLATFORM | A.SOUTH | A.WEST);
    expect([micro(a.latitude), micro(a.longitude)]).toEqual([34603722, 58381592]);
    expect(a).not.toHaveProperty('maxSpeed');
  });

  it('rectangle → 0x8602: top-left is the north-west corner, bottom-right the south-east one', () => {
    const f = jinan('area-hightech'); // has weekday time windows: the platform enforces them
    const { msgId, body } = pushed(f, edition);
    expect(msgId).toBe(0x8602);
    const a = body.areas[0];
    expect(a.areaId).toBe(areaIdOf('area-hightech'));
    expect(a.attribute).toBe(A.ENTER_PLATFORM | A.LEAVE_PLATFORM);
    expect([a.topLeftLatitude, a.topLeftLongitude, a.bottomRightLatitude, a.bottomRightLongitude].map(micro)).toEqual([36690000, 117100000, 36655000, 117160000]);
    if (is2019) expect(a.name).toBe('高新区（示意）');
  });

  it('polygon → 0x8604: the shell without its closing position, one polygon per message', () => {
    const f = jinan('jurisdiction-jinan');
    const { msgId, body } = pushed(f, edition);
    expect(msgId).toBe(0x8604);
    expect(body.areaId).toBe(areaIdOf('jurisdiction-jinan'));
    expect(body.attribute).toBe(A.LEAVE_PLATFORM);
    const shell = (f as Extract<Fence, { shape: 'polygon' }>).geometry.coordinates[0] as number[][];
    expect(body.vertices.map((v: { latitude: number; longitude: number }) => [micro(v.longitude), micro(v.latitude)]))
      .toEqual(shell.slice(0, -1).map(([lon, lat]) => [micro(lon!), micro(lat!)]));
    expect(body.vertices).toHaveLength(14);
    if (is2019) expect(body.name).toBe('济南市行政区域（示意）');
  });

  it('polygon with a speed limit: 2019 puts the night limit after the vertices', () => {
    const f: Fence = { id: 'p', name: '区', kind: 'area', shape: 'polygon', speedLimitKmh: 50, geometry: { type: 'Polygon', coordinates: [[[117, 36], [117.1, 36], [117.1, 36.1], [117, 36]]] } };
    const { body } = pushed(f, edition);
    expect(body).toMatchObject({ attribute: A.ENTER_PLATFORM | A.LEAVE_PLATFORM | A.SPEED, maxSpeed: 50, overspeedDuration: 10 });
    expect(body.vertices).toHaveLength(3);
    if (is2019) expect(body).toMatchObject({ nightMaxSpeed: 50, name: '区' });
  });

  it('polygon with holes: refused, or its shell with outerRingOnly', () => {
    const f = jinan('forbidden-qianfoshan');
    expect(refusal(f).message).toMatch(/1 hole\(s\).*outerRingOnly/);
    const { body } = pushed(f, edition, { outerRingOnly: true });
    expect(body.vertices).toHaveLength(8);
    expect(body.attribute).toBe(A.ENTER_PLATFORM);
  });

  it('MultiPolygon: several parts always refused; one part is that polygon', () => {
    const multi = jinan('forbidden-springs');
    expect(refusal(multi, { outerRingOnly: true }).message).toMatch(/MultiPolygon of 2 parts/);
    const ring = [[117, 36], [117.1, 36], [117.1, 36.1], [117, 36]];
    const { body } = pushed({ id: 'm1', name: 'm1', kind: 'forbidden', shape: 'polygon', geometry: { type: 'MultiPolygon', coordinates: [[ring]] } }, edition);
    expect(body.vertices).toHaveLength(3);
  });

  it('corridor → 0x8606 route: a turning point per position, width = widthM, per-segment limits', () => {
    const f = jinan('route-jingshi') as CorridorFence;
    const { msgId, body, frames } = pushed(f, edition);
    expect(msgId).toBe(0x8606);
    expect(frames).toBe(2); // over 1023 bytes: split into sub-packages, reassembled above
    expect(body.routeId).toBe(areaIdOf('route-jingshi'));
    expect(body.attribute).toBe(A.LEAVE_PLATFORM);
    expect(body.points).toHaveLength(f.line.length);
    body.points.forEach((p: Record<string, number>, i: number) => {
      expect([p.pointId, p.segmentId, p.segmentWidth]).toEqual([i + 1, i + 1, 200]);
      expect([micro(p.longitude!), micro(p.latitude!)]).toEqual([micro(f.line[i]![0]!), micro(f.line[i]![1]!)]);
      if (i === f.line.length - 1) {
        expect(p.segmentAttribute).toBe(0); // the end point starts no segment
        return;
      }
      // Own limit 70 where it has no time windows; windowed 40 → the fence's all-day 60.
      const s = f.segments![i];
      const limit = s?.speedLimitKmh !== undefined && !s.timeWindows ? s.speedLimitKmh : 60;
      expect(p.segmentAttribute).toBe(S.SPEED);
      expect(p).toMatchObject({ maxSpeed: limit, overspeedDuration: 10 });
      if (is2019) expect(p.nightMaxSpeed).toBe(limit);
      else expect(p).not.toHaveProperty('nightMaxSpeed');
    });
    expect(body.points.filter((p: { maxSpeed?: number }) => p.maxSpeed === 70)).toHaveLength(6);
    if (is2019) expect(body.name).toBe('经十路（二环西路—汉峪）');
  });

  it('corridor points carry their own hemisphere bits and no limit when the fence has none', () => {
    const f: Fence = { id: 'r', name: 'r', kind: 'route', shape: 'corridor', line: [[-0.5, -1], [0.5, 1], [1, 2]], widthM: 30 };
    const { body } = pushed(f, edition);
    expect(body.points.map((p: { segmentAttribute: number }) => p.segmentAttribute)).toEqual([S.SOUTH | S.WEST, 0, 0]);
    expect(body.points.map((p: { latitude: number }) => micro(p.latitude))).toEqual([1e6, 1e6, 2e6]);
  });

  it('deletes: 0x8601 / 0x8603 / 0x8605 / 0x8607 with the area id', () => {
    const shapes = [['circle', 0x8601], ['rectangle', 0x8603], ['polygon', 0x8605], ['corridor', 0x8607]] as const;
    for (const [shape, id] of shapes) {
      const { msgId, body } = onTheWire(fenceDeleteCommand({ id: 'depot-1', shape }), edition);
      expect([msgId, body.ids]).toEqual([id, [areaIdOf('depot-1')]]);
    }
  });
});

describe('fence push: refusals, ids, batches', () => {
  it('refuses what an area cannot express, naming the fence', () => {
    expect(refusal({ id: 'eq', name: 'eq', kind: 'area', shape: 'rectangle', sw: [10, -1], ne: [11, 1] }).message).toMatch(/equator/);
    expect(refusal({ id: 'gw', name: 'gw', kind: 'area', shape: 'polygon', geometry: { type: 'Polygon', coordinates: [[[-1, 51], [1, 51], [0, 52], [-1, 51]]] } }).message).toMatch(/prime meridian/);
    expect(refusal({ id: 'wide', name: 'wide', kind: 'route', shape: 'corridor', line: [[117, 36], [117.1, 36]], widthM: 300 }).message).toMatch(/255 m/);
    expect(() => fencePushCommands({ ...depot, shape: 'circle', center: [117, 36], radiusM: 5, speedLimitKmh: 30 }, { overspeedDurationS: 300 })).toThrow(FencePushError);
  });

  it('the 2011 edition gets its counts (areas, vertices, points) from the same body', () => {
    const c = onTheWire(fencePushCommands({ ...depot, shape: 'circle', center: [117, 36], radiusM: 5 }).commands[0]!, 2011);
    expect(c.body).toMatchObject({ settingType: 1, totalCount: 1, areas: [{ areaId: areaIdOf('depot-1'), radius: 5 }] });
    const r = onTheWire(fencePushCommands({ id: 'r', name: 'r', kind: 'route', shape: 'corridor', line: [[117, 36], [117.1, 36]], widthM: 20 }).commands[0]!, 2011);
    expect(r.body).toMatchObject({ totalPoints: 2, points: [{ segmentId: 1, segmentWidth: 20 }, { segmentId: 2 }] });
  });

  it('area ids: FNV-1a of the id, stable, never 0; a collision of the same shape is found', () => {
    expect(areaIdOf('a')).toBe(0xe40c292c);
    expect(areaIdOf('市直车队')).toBe(areaIdOf('市直车队'));
    expect(areaIdOf('fence-459')).toBe(areaIdOf('fence-194604'));
    const circle = (id: string): Fence => ({ id, name: id, kind: 'depot', shape: 'circle', center: [117, 36], radiusM: 10 });
    const rect: Fence = { id: 'fence-194604', name: 'x', kind: 'area', shape: 'rectangle', sw: [117, 36], ne: [117.1, 36.1] };
    expect(areaIdConflict(circle('fence-459'), [circle('fence-459'), circle('fence-194604')])?.id).toBe('fence-194604');
    expect(areaIdConflict(circle('fence-459'), [rect, circle('other')])).toBeUndefined(); // ids are per shape on the terminal
  });

  it('deleteAreasCommands splits at 125 ids; no ids deletes every area of the shape', () => {
    const ids = Array.from({ length: 300 }, (_, i) => i + 1);
    const cmds = deleteAreasCommands('polygon', ids);
    expect(cmds.map((c) => [c.msgId, (c.body.ids as number[]).length])).toEqual([[0x8605, 125], [0x8605, 125], [0x8605, 50]]);
    expect(onTheWire(cmds[2]!, 2019).body.ids).toEqual(ids.slice(250));
    expect(onTheWire(deleteAreasCommands('circle', [])[0]!, 2013)).toMatchObject({ msgId: 0x8601, body: { ids: [] } });
  });
});
