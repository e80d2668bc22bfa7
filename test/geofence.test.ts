import { readFileSync } from 'node:fs';
import { lineString } from '@turf/helpers';
import { pointToLineDistance } from '@turf/point-to-line-distance';
import { cellToBoundary, cellToChildren, cellToLatLng, getRes0Cells, gridDisk, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { seeded } from './support/seeded.js';
import { DESCENDANT_REACH, LOCATE_RES } from '../src/rules/geo/cover.js';
import { H3PointLocator, cellKey, keyToCell } from '../src/rules/geo/h3cell.js';
import {
  CompiledFence, FenceError, FenceIndex, fenceFromGeoJSON, fencesFromGeoJSON, fencesToGeoJSON, fenceToGeoJSON, isActiveAt,
  LocateMemo, locateExact, validateFence, type CircleFence, type CorridorFence, type Fence, type FenceHit, type LonLat, type PolygonFence,
  type TimeWindow,
} from '../src/rules/geo/index.js';
import { arc, arcDistanceM, haversineM } from '../src/rules/geo/sphere.js';

// ---------------------------------------------------------------------------------------------
// helpers


const R = 6_371_008.8, DEG = Math.PI / 180;
/** The point `distM` from (lon, lat) along `bearingDeg` on the sphere. */
function destination(p: LonLat, bearingDeg: number, distM: number): LonLat {
  const d = distM / R, b = bearingDeg * DEG, la = p[1]! * DEG, lo = p[0]! * DEG;
  const la2 = Math.asin(Math.sin(la) * Math.cos(d) + Math.cos(la) * Math.sin(d) * Math.cos(b));
  const lo2 = lo + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(la), Math.cos(d) - Math.sin(la) * Math.sin(la2));
  return [lo2 / DEG, la2 / DEG];
}

const signature = (hits: FenceHit[]): string =>
  hits.map((h) => `${h.fence.id}/${h.segment ?? ''}/${h.speedLimitKmh ?? ''}`).sort().join(' ');
const ids = (hits: FenceHit[]): string[] => hits.map((h) => h.fence.id).sort();

/** Epoch ms of a China-time (GMT+8) wall clock. */
const chinaTime = (iso: string): number => Date.parse(`${iso}+08:00`);
const MONDAY_0800 = chinaTime('2026-11-30T08:00:00'); // 2026-11-30 is a Monday
const MONDAY_1000 = chinaTime('2026-11-30T10:00:00');
const SATURDAY_0800 = chinaTime('2026-12-05T08:00:00');
const WEEKDAYS: TimeWindow['days'] = [1, 2, 3, 4, 5];

const square: LonLat[] = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
const polygon = (coordinates: LonLat[][], id = 'p'): PolygonFence => ({ id, name: id, kind: 'forbidden', shape: 'polygon', geometry: { type: 'Polygon', coordinates } });
const circle = (center: LonLat, radiusM: number, id = 'c'): CircleFence => ({ id, name: id, kind: 'depot', shape: 'circle', center, radiusM });
const corridor = (line: LonLat[], widthM: number, id = 'r'): CorridorFence => ({ id, name: id, kind: 'route', shape: 'corridor', line, widthM });

// ---------------------------------------------------------------------------------------------

describe('fence validation', () => {
  const geometryCases: [string, Fence, RegExp][] = [
    ['self-intersecting polygon (bow tie)', polygon([[[117, 36.6], [117.01, 36.61], [117.01, 36.6], [117, 36.61], [117, 36.6]]]), /self-intersecting polygon: 1 crossing/],
    ['unclosed ring', polygon([square.slice(0, 4)]), /shell is not closed: it starts at \[117,36.6\] and ends at \[117,36.61\]/],
    ['fewer than 4 ring positions', polygon([[[117, 36.6], [117.01, 36.6], [117, 36.6]]]), /shell has 3 positions; a ring needs at least 4/],
    ['longitude out of range', polygon([[[190, 36.6], [117.01, 36.6], [117.01, 36.61], [190, 36.6]]]), /shell position 0: coordinate out of range \[190,36.6\]/],
    ['latitude out of range', circle([117, 91], 100), /center: coordinate out of range \[117,91\]/],
    ['not a number', circle([117, Number.NaN], 100), /center: a position must be \[lon, lat\]/],
    ['hole outside its shell', polygon([square, [[117.02, 36.6], [117.03, 36.6], [117.03, 36.61], [117.02, 36.6]]]), /hole 1 lies outside its shell/],
    ['hole crossing its shell', polygon([square, [[117.005, 36.605], [117.02, 36.605], [117.02, 36.606], [117.005, 36.605]]]), /self-intersecting polygon/],
    ['zero-area ring', polygon([[[117, 36.6], [117.01, 36.6], [117.02, 36.6], [117, 36.6]]]), /shell has zero area/],
    ['MultiPolygon parts crossing', {
      id: 'm', name: 'm', kind: 'area', shape: 'polygon',
      geometry: { type: 'MultiPolygon', coordinates: [[square], [[[117.005, 36.605], [117.02, 36.605], [117.02, 36.62], [117.005, 36.605]]]] },
    }, /self-intersecting polygon/],
    ['zero radius', circle([117, 36.6], 0), /radiusM must be a positive number of metres \(got 0\)/],
    ['negative radius', circle([117, 36.6], -5), /radiusM must be a positive number of metres \(got -5\)/],
    ['zero width', corridor([[117, 36.6], [117.01, 36.6]], 0), /widthM must be a positive number of metres \(got 0\)/],
    ['negative width', corridor([[117, 36.6], [117.01, 36.6]], -1), /widthM must be a positive/],
    ['empty corridor', corridor([], 100), /empty corridor: line has no positions/],
    ['one-point corridor', corridor([[117, 36.6]], 100), /empty corridor: line needs at least 2 positions/],
    ['corridor of one repeated point', corridor([[117, 36.6], [117, 36.6], [117, 36.6]], 100), /empty corridor: every position of the line is the same point/],
    ['corridor position out of range', corridor([[117, 36.6], [117, -95]], 100), /line position 1: coordinate out of range/],
    ['rectangle upside down', { id: 'q', name: 'q', kind: 'area', shape: 'rectangle', sw: [117.01, 36.61], ne: [117, 36.6] }, /must be south-west of ne/],
  ];
  it.each(geometryCases)('%s → FG_ERR_BAD_GEOMETRY', (_name, fence, message) => {
    const e = validateFence(fence);
    expect(e).toBeInstanceOf(FenceError);
    expect(e!.code).toBe('FG_ERR_BAD_GEOMETRY');
    expect(e!.message).toMatch(message);
    expect(e!.message).toMatch(new RegExp(`^fence "${fence.id}": `));
    expect(() => new FenceIndex().add(fence)).toThrow(e!.message);
  });

  const fenceCases: [string, Fence, RegExp][] = [
    ['unknown kind', { ...circle([117, 36.6], 10), kind: 'parking' as Fence['kind'] }, /kind must be one of jurisdiction, depot, forbidden, area, route \(got "parking"\)/],
    ['empty id', { ...circle([117, 36.6], 10), id: '' }, /id must be a non-empty string/],
    ['time window hour 25', { ...circle([117, 36.6], 10), timeWindows: [{ days: [1], from: '25:00', to: '26:00' }] }, /timeWindows\[0\]: from must be "HH:MM"/],
    ['time window without days', { ...circle([117, 36.6], 10), timeWindows: [{ days: [], from: '08:00', to: '09:00' }] }, /days must be a non-empty list of ISO weekdays/],
    ['empty time window', { ...circle([117, 36.6], 10), timeWindows: [{ days: [1], from: '08:00', to: '08:00' }] }, /an empty window/],
    ['negative speed limit', { ...circle([117, 36.6], 10), speedLimitKmh: -3 }, /speedLimitKmh must be a positive number of km\/h/],
    ['segments not one per segment', { ...corridor([[117, 36.6], [117.01, 36.6], [117.02, 36.6]], 50), segments: [{ speedLimitKmh: 40 }] }, /segments must have one entry per segment of the line \(2\), got 1/],
    ['segment speed limit zero', { ...corridor([[117, 36.6], [117.01, 36.6]], 50), segments: [{ speedLimitKmh: 0 }] }, /segments\[0\].speedLimitKmh must be a positive/],
  ];
  it.each(fenceCases)('%s → FG_ERR_BAD_FENCE', (_name, fence, message) => {
    const e = validateFence(fence);
    expect(e?.code).toBe('FG_ERR_BAD_FENCE');
    expect(e!.message).toMatch(message);
  });

  const geojsonCases: [string, unknown, string, RegExp][] = [
    ['not a Feature', { type: 'Polygon', coordinates: [square] }, 'FG_ERR_BAD_FENCE', /not a GeoJSON Feature/],
    ['no id', { type: 'Feature', properties: { kind: 'area' }, geometry: { type: 'Polygon', coordinates: [square] } }, 'FG_ERR_BAD_FENCE', /no id/],
    ['unsupported geometry', { type: 'Feature', id: 'x', properties: { kind: 'area' }, geometry: { type: 'MultiLineString', coordinates: [] } }, 'FG_ERR_BAD_GEOMETRY', /unsupported geometry type "MultiLineString"/],
    ['no geometry', { type: 'Feature', id: 'x', properties: { kind: 'area' }, geometry: null }, 'FG_ERR_BAD_GEOMETRY', /has no geometry/],
    ['Point without radiusM', { type: 'Feature', id: 'x', properties: { kind: 'depot' }, geometry: { type: 'Point', coordinates: [117, 36.6] } }, 'FG_ERR_BAD_GEOMETRY', /radiusM must be a positive number of metres \(got undefined\)/],
    ['LineString without widthM', { type: 'Feature', id: 'x', properties: { kind: 'route' }, geometry: { type: 'LineString', coordinates: [[117, 36.6], [117.1, 36.6]] } }, 'FG_ERR_BAD_GEOMETRY', /widthM must be a positive/],
    ['rectangle not axis-aligned', { type: 'Feature', id: 'x', properties: { kind: 'area', shape: 'rectangle' }, geometry: { type: 'Polygon', coordinates: [[[117, 36.6], [117.01, 36.601], [117.01, 36.61], [117, 36.61], [117, 36.6]]] } }, 'FG_ERR_BAD_GEOMETRY', /not an axis-aligned rectangle/],
    ['missing kind', { type: 'Feature', id: 'x', properties: {}, geometry: { type: 'Point', coordinates: [117, 36.6] } }, 'FG_ERR_BAD_FENCE', /kind must be one of/],
  ];
  it.each(geojsonCases)('GeoJSON: %s', (_name, feature, code, message) => {
    let caught: unknown;
    try { fenceFromGeoJSON(feature); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(FenceError);
    expect((caught as FenceError).code).toBe(code);
    expect((caught as FenceError).message).toMatch(message);
  });

  it('names the feature of a collection that failed', () => {
    const fc = { type: 'FeatureCollection', features: [fenceToGeoJSON(circle([117, 36.6], 10)), { type: 'Feature', id: 'bad', properties: { kind: 'depot' }, geometry: { type: 'Point', coordinates: [117, 36.6] } }] };
    expect(() => fencesFromGeoJSON(fc)).toThrow(/^feature 1: fence "bad": radiusM/);
  });

  it('refuses a second fence with the same id and keeps the old one when a replacement is invalid', () => {
    const index = new FenceIndex([circle([117, 36.6], 100, 'a')]);
    expect(() => index.add(circle([117.1, 36.6], 100, 'a'))).toThrow(/fence "a": a fence with this id is already in the index/);
    expect(() => index.replace(circle([117.1, 36.6], -1, 'a'))).toThrow(FenceError);
    expect(ids(index.locate(117, 36.6))).toEqual(['a']);
  });
});

describe('containment', () => {
  it('a hole is outside its polygon; the hole’s edge belongs to the polygon', () => {
    const hole: LonLat[] = [[117.003, 36.603], [117.003, 36.607], [117.007, 36.607], [117.007, 36.603], [117.003, 36.603]];
    const fence = polygon([square, hole]);
    const index = new FenceIndex([fence]), cf = new CompiledFence(fence);
    const cases: [LonLat, boolean][] = [
      [[117.005, 36.605], false], // in the hole
      [[117.001, 36.601], true], // between shell and hole
      [[117.0069, 36.6069], false],
      [[117.0072, 36.605], true],
      [[117.003, 36.605], true], // on the hole's edge
      [[117.02, 36.605], false], // outside the shell
    ];
    for (const [p, inside] of cases) {
      expect(ids(index.locate(p[0]!, p[1]!)), JSON.stringify(p)).toEqual(inside ? ['p'] : []);
      expect(cf.contains(p[0]!, p[1]!)).toBe(inside);
    }
  });

  it('a circle holds what is within its radius (haversine), on every bearing', () => {
    const c: LonLat = [117.0123, 36.6456];
    const index = new FenceIndex([circle(c, 500)]);
    for (let b = 0; b < 360; b += 22.5) {
      const inside = destination(c, b, 499.9), outside = destination(c, b, 500.1);
      expect(haversineM(c[0]!, c[1]!, inside[0]!, inside[1]!)).toBeLessThan(500);
      expect(ids(index.locate(inside[0]!, inside[1]!))).toEqual(['c']);
      expect(index.locate(outside[0]!, outside[1]!)).toEqual([]);
    }
    expect(ids(index.locate(c[0]!, c[1]!))).toEqual(['c']);
  });

  it('a rectangle holds its interior and its edges', () => {
    const index = new FenceIndex([{ id: 'q', name: 'lot', kind: 'depot', shape: 'rectangle', sw: [116.9561, 36.6413], ne: [116.9575, 36.6423] }]);
    const cases: [LonLat, boolean][] = [
      [[116.9568, 36.6418], true], [[116.9561, 36.6418], true], [[116.9575, 36.6423], true],
      [[116.95609, 36.6418], false], [[116.9568, 36.64231], false], [[116.9568, 36.6412], false],
    ];
    for (const [p, inside] of cases) expect(ids(index.locate(p[0]!, p[1]!)), JSON.stringify(p)).toEqual(inside ? ['q'] : []);
  });

  describe('a corridor with per-segment limits', () => {
    const line: LonLat[] = [[117, 36.6], [117.02, 36.6], [117.02, 36.62], [117.04, 36.62]];
    const fence: Fence = {
      ...corridor(line, 400), speedLimitKmh: 60,
      segments: [{ speedLimitKmh: 40 }, null, { speedLimitKmh: 30, timeWindows: [{ days: WEEKDAYS, from: '07:00', to: '09:00' }] }],
    };
    const index = new FenceIndex([fence]);
    const at = (seg: number, offsetM: number, bearing: number): LonLat => {
      const mid: LonLat = [(line[seg]![0]! + line[seg + 1]![0]!) / 2, (line[seg]![1]! + line[seg + 1]![1]!) / 2];
      return destination(mid, bearing, offsetM);
    };
    const hit = (p: LonLat, atMs?: number) => index.locate(p[0]!, p[1]!, atMs).map((h) => [h.segment, h.speedLimitKmh]);

    it('reports the nearest segment and its limit', () => {
      expect(hit(at(0, 150, 0))).toEqual([[0, 40]]);
      expect(hit(at(0, 150, 180))).toEqual([[0, 40]]);
      expect(hit(at(1, 190, 90))).toEqual([[1, 60]]); // no own limit: the fence's
      expect(hit(at(2, 100, 0))).toEqual([[2, 30]]); // no time given: the segment's limit
    });
    it('applies a segment’s limit only inside its time windows', () => {
      expect(hit(at(2, 100, 0), MONDAY_0800)).toEqual([[2, 30]]);
      expect(hit(at(2, 100, 0), MONDAY_1000)).toEqual([[2, 60]]);
      expect(hit(at(2, 100, 0), SATURDAY_0800)).toEqual([[2, 60]]);
    });
    it('ends at half its width', () => {
      expect(hit(at(0, 199, 0))).toEqual([[0, 40]]);
      expect(hit(at(0, 201, 0))).toEqual([]);
      expect(hit(destination(line[0]!, 270, 199))).toEqual([[0, 40]]); // round the end
      expect(hit(destination(line[0]!, 270, 201))).toEqual([]);
    });
    it('agrees with turf’s point-to-line distance', () => {
      const rnd = seeded(7);
      const turfLine = lineString(line.map((p) => [p[0]!, p[1]!]));
      for (let i = 0; i < 2000; i++) {
        const p: LonLat = [117 + rnd() * 0.04 - 0.003, 36.597 + rnd() * 0.026];
        const inside = pointToLineDistance(p, turfLine, { units: 'meters' }) <= 200;
        expect(index.locate(p[0]!, p[1]!).length, JSON.stringify(p)).toBe(inside ? 1 : 0);
      }
    });
  });

  it('leaves out fences whose time windows are not active (when a time is given)', () => {
    const office: Fence = { ...circle([117, 36.6], 300, 'office'), timeWindows: [{ days: WEEKDAYS, from: '08:00', to: '18:00' }] };
    const night: Fence = { ...circle([117, 36.6], 300, 'night'), timeWindows: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '22:00', to: '06:00' }] };
    const index = new FenceIndex([office, night]);
    expect(ids(index.locate(117, 36.6))).toEqual(['night', 'office']);
    expect(ids(index.locate(117, 36.6, MONDAY_1000))).toEqual(['office']);
    expect(ids(index.locate(117, 36.6, SATURDAY_0800))).toEqual([]);
    expect(ids(index.locate(117, 36.6, chinaTime('2026-12-01T05:59:00')))).toEqual(['night']);
    expect(ids(index.locate(117, 36.6, chinaTime('2026-12-01T06:00:00')))).toEqual([]);
  });

  it('time windows: China time, overnight windows belong to the day they start, 24:00 ends the day', () => {
    const mondayNight: TimeWindow[] = [{ days: [1], from: '22:00', to: '06:00' }];
    expect(isActiveAt(mondayNight, chinaTime('2026-11-30T22:00:00'))).toBe(true);
    expect(isActiveAt(mondayNight, chinaTime('2026-12-01T05:59:00'))).toBe(true); // Tuesday morning
    expect(isActiveAt(mondayNight, chinaTime('2026-12-01T06:00:00'))).toBe(false);
    expect(isActiveAt(mondayNight, chinaTime('2026-11-30T05:00:00'))).toBe(false); // Monday morning: Sunday's night
    expect(isActiveAt(mondayNight, chinaTime('2026-11-30T21:59:00'))).toBe(false);
    expect(isActiveAt([{ days: [7], from: '00:00', to: '24:00' }], chinaTime('2026-12-06T23:59:00'))).toBe(true);
    expect(isActiveAt([{ days: [7], from: '00:00', to: '24:00' }], chinaTime('2026-12-07T00:00:00'))).toBe(false);
    expect(isActiveAt(undefined, 0)).toBe(true);
  });

  it('answers nothing for a position that is not one', () => {
    const index = new FenceIndex([circle([117, 36.6], 100)]);
    expect(index.locate(Number.NaN, 36.6)).toEqual([]);
    expect(index.locate(117, 95)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** Random fences of every shape and kind around Jinan, with holes, MultiPolygons, segments and windows. */
function randomFences(n: number, rnd: () => number): Fence[] {
  const box = (): LonLat => [116.88 + rnd() * 0.34, 36.53 + rnd() * 0.24];
  const ring = (c: LonLat, radiusM: number, k: number, jitter: number): LonLat[] => {
    const pts = Array.from({ length: k }, (_, i) => destination(c, (360 * i) / k, radiusM * (1 - jitter * rnd())));
    return [...pts, pts[0]!];
  };
  const windows = (): TimeWindow[] | undefined => (rnd() < 0.2 ? [{ days: WEEKDAYS, from: '07:00', to: '09:30' }, { days: [6, 7], from: '20:00', to: '02:00' }] : undefined);
  const out: Fence[] = [];
  for (let i = 0; i < n; i++) {
    const id = `f${i}`, c = box(), kind = (['jurisdiction', 'depot', 'forbidden', 'area', 'route'] as const)[i % 5], tw = windows();
    const common = { id, name: id, kind, ...(tw && { timeWindows: tw }), ...(rnd() < 0.3 && { speedLimitKmh: 30 + Math.round(rnd() * 50) }) };
    switch (i % 6) {
      case 0:
        out.push({ ...common, shape: 'circle', center: c, radiusM: 5 + rnd() ** 2 * 4000 });
        break;
      case 1: {
        const ne = destination(destination(c, 0, 20 + rnd() * 3000), 90, 20 + rnd() * 3000);
        out.push({ ...common, shape: 'rectangle', sw: c, ne });
        break;
      }
      case 2: {
        const r = 30 + rnd() ** 2 * 5000, shell = ring(c, r, 5 + Math.floor(rnd() * 20), 0.5);
        const holes = rnd() < 0.4 ? [ring(c, r * 0.3, 6, 0).reverse()] : [];
        out.push({ ...common, shape: 'polygon', geometry: { type: 'Polygon', coordinates: [shell, ...holes] } });
        break;
      }
      case 3: {
        const r = 50 + rnd() * 1500, other = destination(c, rnd() * 360, r * 3 + 500);
        out.push({ ...common, shape: 'polygon', geometry: { type: 'MultiPolygon', coordinates: [[ring(c, r, 7, 0.4)], [ring(other, r, 5, 0.2)]] } });
        break;
      }
      case 4: { // large: jurisdiction-sized, many vertices
        out.push({ ...common, shape: 'polygon', geometry: { type: 'Polygon', coordinates: [ring([117.05, 36.65], 8000 + rnd() * 25_000, 40 + Math.floor(rnd() * 80), 0.3)] } });
        break;
      }
      default: {
        const line: LonLat[] = [c];
        let heading = rnd() * 360;
        for (let k = 0, m = 1 + Math.floor(rnd() * 25); k < m; k++) {
          heading += (rnd() - 0.5) * 120;
          line.push(destination(line[line.length - 1]!, heading, 30 + rnd() * 2000));
        }
        const segments = line.slice(1).map(() => (rnd() < 0.5 ? null : { speedLimitKmh: 20 + Math.round(rnd() * 60), ...(rnd() < 0.3 && { timeWindows: [{ days: WEEKDAYS, from: '17:00', to: '19:00' }] }) }));
        out.push({ ...common, shape: 'corridor', line, widthM: 4 + rnd() ** 2 * 3000, segments });
      }
    }
  }
  return out;
}

describe('the index agrees with testing every fence exactly', () => {
  const rnd = seeded(20261129);
  const fences = randomFences(360, rnd);
  const index = new FenceIndex(fences);
  const compiled = fences.map((f) => new CompiledFence(f));
  const times = [undefined, MONDAY_0800, MONDAY_1000, SATURDAY_0800, chinaTime('2026-12-05T23:30:00'), chinaTime('2026-11-30T18:00:00')];

  function disagreements(points: LonLat[], fenceSet: CompiledFence[], idx: FenceIndex): string[] {
    const bad: string[] = [];
    points.forEach((p, i) => {
      const atMs = times[i % times.length];
      const a = signature(idx.locate(p[0]!, p[1]!, atMs)), b = signature(locateExact(fenceSet, p[0]!, p[1]!, atMs));
      if (a !== b) bad.push(`${JSON.stringify(p)} at ${atMs}: index [${a}] exact [${b}]`);
    });
    return bad;
  }

  it('on 20,000 random positions in 36.55–36.75 N, 116.9–117.2 E', () => {
    const points = Array.from({ length: 20_000 }, (): LonLat => [116.9 + rnd() * 0.3, 36.55 + rnd() * 0.2]);
    expect(disagreements(points, compiled, index)).toEqual([]);
    // the comparison is not empty: positions are inside fences of every shape, in inside and boundary cells
    const hits = points.flatMap((p) => index.locate(p[0]!, p[1]!));
    expect(hits.length).toBeGreaterThan(20_000);
    expect(new Set(hits.map((h) => h.fence.shape))).toEqual(new Set(['circle', 'rectangle', 'polygon', 'corridor']));
    const stats = index.stats();
    expect(stats.interiorCells).toBeGreaterThan(1000);
    expect(stats.boundaryCells).toBeGreaterThan(1000);
  }, 120_000);

  it('on 20,000 positions within metres of fence boundaries', () => {
    const points: LonLat[] = [];
    for (let i = 0; i < 20_000; i++) {
      const f = fences[Math.floor(rnd() * fences.length)]!;
      let p: LonLat;
      if (f.shape === 'circle') p = destination(f.center, rnd() * 360, f.radiusM);
      else if (f.shape === 'rectangle') p = [rnd() < 0.5 ? f.sw[0]! : f.ne[0]!, f.sw[1]! + rnd() * (f.ne[1]! - f.sw[1]!)];
      else if (f.shape === 'polygon') {
        const rings = f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates.flat(1);
        const ring = rings[Math.floor(rnd() * rings.length)]!, k = Math.floor(rnd() * (ring.length - 1)), t = rnd();
        p = [ring[k]![0]! + t * (ring[k + 1]![0]! - ring[k]![0]!), ring[k]![1]! + t * (ring[k + 1]![1]! - ring[k]![1]!)];
      } else {
        const k = Math.floor(rnd() * (f.line.length - 1)), a = f.line[k]!;
        p = destination(a, rnd() * 360, f.widthM / 2);
      }
      points.push(destination(p, rnd() * 360, rnd() * 5)); // within 5 m of the boundary
    }
    expect(disagreements(points, compiled, index)).toEqual([]);
  }, 120_000);

  it('after removing and replacing fences', () => {
    const copy = new FenceIndex(fences);
    const kept: CompiledFence[] = [];
    fences.forEach((f, i) => {
      if (i % 3 === 0) expect(copy.remove(f.id)).toBe(true);
      else if (i % 3 === 1) {
        const moved: Fence = f.shape === 'circle' ? { ...f, center: destination(f.center, 45, 700) } : f;
        copy.replace(moved);
        kept.push(new CompiledFence(moved));
      } else kept.push(compiled[i]!);
    });
    expect(copy.remove('no such fence')).toBe(false);
    expect(copy.size).toBe(kept.length);
    const points = Array.from({ length: 5000 }, (): LonLat => [116.9 + rnd() * 0.3, 36.55 + rnd() * 0.2]);
    expect(disagreements(points, kept, copy)).toEqual([]);
    for (const f of fences) copy.remove(f.id);
    expect(copy.stats()).toMatchObject({ fences: 0, cells: 0 });
    expect(points.every((p) => copy.locate(p[0]!, p[1]!).length === 0)).toBe(true);
  }, 120_000);

  it('after most fences are removed and the stores are compacted', () => {
    const many: Fence[] = Array.from({ length: 1500 }, (_, i) => {
      const c: LonLat = [116.9 + rnd() * 0.3, 36.55 + rnd() * 0.2];
      if (i % 2) return circle(c, 20 + rnd() * 300, `c${i}`);
      const line = Array.from({ length: 30 }, (_, k) => destination(c, 80 + rnd() * 20, k * 150));
      return { ...corridor(line, 30 + rnd() * 100, `r${i}`), segments: line.slice(1).map((_, k) => (k % 4 ? null : { speedLimitKmh: 40 })) };
    });
    const idx = new FenceIndex(many);
    const kept = many.filter((_, i) => i % 20 < 2);
    for (const f of many) if (!kept.includes(f)) idx.remove(f.id);
    idx.add(circle([117.05, 36.65], 500, 'late'));
    const keptCompiled = [...kept, idx.get('late')!].map((f) => new CompiledFence(f));
    const points = Array.from({ length: 5000 }, (): LonLat => [116.9 + rnd() * 0.3, 36.55 + rnd() * 0.2]);
    expect(disagreements(points, keptCompiled, idx)).toEqual([]);
    expect(points.filter((p) => idx.locate(p[0]!, p[1]!).length > 0).length).toBeGreaterThan(100);
  }, 120_000);

  it('a memo (the same position asked again, as by a parked vehicle) answers as locateInto, at other times and after changes', () => {
    const copy = new FenceIndex(fences);
    const points = Array.from({ length: 2000 }, (): LonLat => [116.9 + rnd() * 0.3, 36.55 + rnd() * 0.2]);
    const memo = new LocateMemo(), viaMemo: FenceHit[] = [], direct: FenceHit[] = [], bad: string[] = [];
    const same = (a: FenceHit[], b: FenceHit[]): boolean => a.length === b.length // in the same order
      && a.every((h, i) => h.fence === b[i]!.fence && h.segment === b[i]!.segment && h.speedLimitKmh === b[i]!.speedLimitKmh);
    let windowed = 0;
    const check = (p: LonLat, atMs: number | undefined): void => {
      copy.locateMemo(p[0]!, p[1]!, viaMemo, atMs, memo);
      copy.locateInto(p[0]!, p[1]!, direct, atMs);
      if (!same(viaMemo, direct)) bad.push(`${JSON.stringify(p)} at ${atMs}: memo [${signature(viaMemo)}] index [${signature(direct)}]`);
    };
    points.forEach((p, i) => {
      for (let k = 0; k < times.length; k++) check(p, times[(i + k) % times.length]); // first asked at any time, then again at the others
      for (let k = 0; k < memo.n; k++) if ((memo.found[k]! & 1) !== 0) windowed++;
      if (i % 100 === 99) { // the index changes under the memo: removals and a moved fence
        const f = direct.length > 0 ? copy.get(direct[0]!.fence.id)! : fences[(i - 99) / 100]!; // one holding p when there is one
        copy.remove(f.id);
        check(p, MONDAY_0800);
        copy.add(f.shape === 'circle' ? { ...f, center: p } : f);
        check(p, MONDAY_0800);
      }
    });
    expect(bad).toEqual([]);
    expect(windowed).toBeGreaterThan(100); // fences with time windows were remembered and filtered by time
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------

describe('H3 cells', () => {
  it('the JavaScript locator gives h3-js’s cell (Jinan, China, the world, next to a pentagon)', () => {
    const rnd = seeded(3);
    const regions: [number, number, number, number][] = [
      [116.9, 117.2, 36.55, 36.75], [73, 135, 18, 54], [-180, 180, -85, 85], [121.3, 123.3, 38.1, 40.1],
    ];
    for (const res of [LOCATE_RES, 9, 5]) {
      const locator = new H3PointLocator(res);
      for (const [w, e, s, n] of regions) {
        for (let i = 0; i < 5000; i++) {
          const lon = w + rnd() * (e - w), lat = s + rnd() * (n - s);
          const want = latLngToCell(lat, lon, res);
          const got = locator.cellOf(lat, lon);
          if (got !== cellKey(want)) expect(`${lat},${lon} res ${res}: ${keyToCell(got, res)}`).toBe(want);
        }
      }
      expect(locator.stats.fast).toBeGreaterThan(15_000); // the rest were first visits of a face region
    }
  });

  it('cell keys and h3-js strings convert both ways', () => {
    for (const c of [...getRes0Cells(), latLngToCell(36.65, 117, 10), latLngToCell(-33.9, 18.4, 7), latLngToCell(39.1, 122.3, 9)]) {
      const res = parseInt(c[1]!, 16);
      expect(keyToCell(cellKey(c), res)).toBe(c);
    }
  });

  it(`resolution-${LOCATE_RES} descendants stay within DESCENDANT_REACH × the ancestor’s circumradius`, () => {
    const circumradius = (cell: string, centre: number[]) => Math.max(...cellToBoundary(cell).map((v) => haversineM(centre[1]!, centre[0]!, v[1], v[0])));
    let worst = 0;
    for (const [lat, lng] of [[36.65, 117.0], [36.6, 116.95], [39.1, 122.3], [37.0, 117.5]]) {
      for (const res of [6, 7, 8, 9]) {
        for (const cell of gridDisk(latLngToCell(lat!, lng!, res), 1)) {
          const centre = cellToLatLng(cell), circ = circumradius(cell, centre);
          let far = 0;
          for (const child of cellToChildren(cell, LOCATE_RES)) for (const v of cellToBoundary(child)) far = Math.max(far, haversineM(centre[1], centre[0], v[1], v[0]));
          worst = Math.max(worst, far / circ);
        }
      }
    }
    expect(worst).toBeGreaterThan(1);
    expect(worst).toBeLessThan(DESCENDANT_REACH);
  }, 60_000);

  it('great-circle distance to a segment matches turf’s point-to-line distance to 1 mm (corridors ask turf within 1 cm of their edge)', () => {
    const rnd = seeded(11);
    let worst = 0;
    for (let i = 0; i < 20_000; i++) {
      const a: LonLat = [116.9 + rnd() * 0.3, 36.55 + rnd() * 0.2], b = destination(a, rnd() * 360, i % 2 ? rnd() * 20_000 : rnd() * 50);
      const p: LonLat = [a[0]! + (rnd() - 0.5) * 0.05, a[1]! + (rnd() - 0.5) * 0.05];
      const turf = pointToLineDistance(p, lineString([[a[0]!, a[1]!], [b[0]!, b[1]!]]), { units: 'meters' });
      worst = Math.max(worst, Math.abs(arcDistanceM(arc(a, b), p[0]!, p[1]!) - turf));
    }
    expect(worst).toBeLessThan(1e-3); // turf's own rounding on segments of a few metres: ≈ 0.4 mm
  });
});

// ---------------------------------------------------------------------------------------------

describe('GeoJSON', () => {
  const rnd = seeded(5);
  it.each(randomFences(12, rnd).map((f) => [`${f.shape} ${f.kind}`, f] as const))('%s round-trips', (_name, fence) => {
    const back = fenceFromGeoJSON(JSON.parse(JSON.stringify(fenceToGeoJSON(fence))));
    expect(back).toEqual(fence);
  });

  describe('fixtures/geofences/jinan.geojson', () => {
    const collection: unknown = JSON.parse(readFileSync(new URL('../fixtures/geofences/jinan.geojson', import.meta.url), 'utf8'));
    const fences = fencesFromGeoJSON(collection);
    const index = new FenceIndex(fences);
    const at = (lon: number, lat: number, atMs?: number) => ids(index.locate(lon, lat, atMs));

    it('loads every fence and round-trips', () => {
      expect(fences.map((f) => `${f.id}:${f.shape}`)).toEqual([
        'depot-jingshi-west:rectangle', 'depot-qianfoshan:circle', 'forbidden-qianfoshan:polygon', 'forbidden-springs:polygon',
        'jurisdiction-jinan:polygon', 'route-jingshi:corridor', 'area-hightech:rectangle',
      ]);
      expect(fencesFromGeoJSON(JSON.parse(JSON.stringify(fencesToGeoJSON(fences))))).toEqual(fences);
    });
    it('the depot lot on Jingshi Road West', () => {
      expect(at(116.9568, 36.6418)).toEqual(['depot-jingshi-west', 'jurisdiction-jinan']);
    });
    it('Qianfoshan scenic area is forbidden, except the vehicle centre in its hole', () => {
      expect(at(117.04, 36.626)).toEqual(['forbidden-qianfoshan', 'jurisdiction-jinan']);
      expect(at(117.029, 36.6302)).toEqual(['depot-qianfoshan', 'jurisdiction-jinan']);
    });
    it('Daming Lake and Baotu Spring, one MultiPolygon', () => {
      expect(at(117.02, 36.671)).toEqual(['forbidden-springs', 'jurisdiction-jinan']);
      expect(at(117.0135, 36.6617)).toEqual(['forbidden-springs', 'jurisdiction-jinan']);
      expect(at(117.0135, 36.665)).toEqual(['jurisdiction-jinan']);
    });
    it('Jingshi Road: 40 km/h by Qianfoshan at weekday rush hours, 60 otherwise, 70 out east', () => {
      const onRoad = (lon: number, lat: number, atMs?: number) => index.locate(lon, lat, atMs).filter((h) => h.fence.id === 'route-jingshi').map((h) => [h.segment, h.speedLimitKmh]);
      expect(onRoad(117.035, 36.6533, MONDAY_0800)).toEqual([[22, 40]]);
      expect(onRoad(117.035, 36.6533, MONDAY_1000)).toEqual([[22, 60]]);
      expect(onRoad(116.97, 36.6452, MONDAY_0800)).toEqual([[3, 60]]);
      expect(onRoad(117.035, 36.656)).toEqual([]); // 300 m north of the road
    });
    it('the high-tech zone counts on weekday office hours only', () => {
      expect(at(117.13, 36.67, MONDAY_1000)).toEqual(['area-hightech', 'jurisdiction-jinan']);
      expect(at(117.13, 36.67, SATURDAY_0800)).toEqual(['jurisdiction-jinan']);
    });
    it('outside the city: Zibo', () => {
      expect(at(118.05, 36.81)).toEqual([]);
    });
  });
});
