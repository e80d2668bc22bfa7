import { describe, expect, it } from 'vitest';
import { seeded } from './support/seeded.js';
import { FENCE_KINDS, FenceIndex, type Fence, type FenceHit, type LonLat } from '../src/rules/geo/index.js';

/** These tests are about the query itself: every kind on the grid (the default is forbidden places and areas). */
const ALL = { crossingKinds: FENCE_KINDS };


const M_LAT = 111_195, M_LON = 111_195 * Math.cos((36.65 * Math.PI) / 180);
const offset = (p: LonLat, dxM: number, dyM: number): LonLat => [p[0]! + dxM / M_LON, p[1]! + dyM / M_LAT];
const ids = (hits: FenceHit[]): string[] => hits.map((h) => h.fence.id).sort();
const C: LonLat = [117.0, 36.65];

/** The fences the segment a → b crosses, by crossedBy. */
function crossed(index: FenceIndex, a: LonLat, b: LonLat, atMs?: number, holding?: string[]): string[] {
  const out: FenceHit[] = [];
  const n = index.crossedBy(a[0]!, a[1]!, b[0]!, b[1]!, atMs, out, holding);
  expect(n).toBe(out.length);
  return ids(out);
}

/** The fences some of `n + 1` evenly spaced points of a → b (straight in lon/lat) fall in. */
function sampled(index: FenceIndex, a: LonLat, b: LonLat, n: number, atMs?: number): string[] {
  const seen = new Set<string>();
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    for (const h of index.locate(a[0]! + t * (b[0]! - a[0]!), a[1]! + t * (b[1]! - a[1]!), atMs)) seen.add(h.fence.id);
  }
  return [...seen].sort();
}

describe('crossedBy: a segment against each shape', () => {
  const circle: Fence = { id: 'circle', name: 'c', kind: 'forbidden', shape: 'circle', center: C, radiusM: 50 };
  const index = new FenceIndex([circle], ALL);

  it('circle: the segment passes within the radius of the centre, or not', () => {
    expect(crossed(index, offset(C, -500, 40), offset(C, 500, 40))).toEqual(['circle']); // 40 m from the centre
    expect(crossed(index, offset(C, -500, 49.5), offset(C, 500, 49.5))).toEqual(['circle']);
    expect(crossed(index, offset(C, -500, 50.5), offset(C, 500, 50.5))).toEqual([]);
    expect(crossed(index, offset(C, -500, 0), offset(C, -60, 0))).toEqual([]); // stops short
    expect(crossed(index, offset(C, -500, 0), offset(C, -45, 0))).toEqual(['circle']); // ends inside
    expect(crossed(index, offset(C, 10, 0), offset(C, 20, 0))).toEqual(['circle']); // wholly inside
    expect(crossed(index, offset(C, 10, 0), offset(C, 20, 0), undefined, [])).toEqual([]); // holding named: both ends are in it
    expect(crossed(index, offset(C, -500, 0), offset(C, -45, 0), undefined, [])).toEqual([]); // may leave out a fence holding an end
  });

  it('rectangle: through it, along an edge, past a corner, stopping short', () => {
    const idx = new FenceIndex([{ id: 'rect', name: 'r', kind: 'depot', shape: 'rectangle', sw: [117, 36.6], ne: [117.01, 36.61] }], ALL);
    expect(crossed(idx, [116.99, 36.605], [117.02, 36.605])).toEqual(['rect']);
    expect(crossed(idx, [116.99, 36.61], [117.02, 36.61])).toEqual(['rect']); // along the north edge
    expect(crossed(idx, [116.995, 36.6], [117, 36.595])).toEqual([]); // next to the SW corner
    expect(crossed(idx, [116.995, 36.605], [117, 36.6])).toEqual(['rect']); // ends on the corner
    expect(crossed(idx, [116.99, 36.605], [116.9999, 36.605])).toEqual([]);
    expect(crossed(idx, [117.002, 36.602], [117.003, 36.603])).toEqual(['rect']);
    expect(crossed(idx, [117.002, 36.602], [117.003, 36.603], undefined, [])).toEqual([]); // wholly inside: holds both ends
  });

  const shell: LonLat[] = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.61], [117, 36.6]];
  const hole: LonLat[] = [[117.003, 36.603], [117.003, 36.607], [117.007, 36.607], [117.007, 36.603], [117.003, 36.603]];
  const holed = new FenceIndex([{ id: 'poly', name: 'p', kind: 'forbidden', shape: 'polygon', geometry: { type: 'Polygon', coordinates: [shell, hole] } }], ALL);

  it('polygon with a hole: inside the hole is outside; leaving the hole crosses the polygon', () => {
    expect(crossed(holed, [117.004, 36.605], [117.006, 36.605])).toEqual([]); // within the hole
    expect(crossed(holed, [117.005, 36.605], [117.02, 36.605])).toEqual(['poly']); // hole → out
    expect(crossed(holed, [116.99, 36.605], [117.02, 36.605])).toEqual(['poly']); // through shell, hole, shell
    expect(crossed(holed, [116.99, 36.62], [117.02, 36.62])).toEqual([]);
    expect(crossed(holed, [117.001, 36.601], [117.002, 36.601])).toEqual(['poly']); // between shell and hole
  });

  it('MultiPolygon: a segment between the parts crosses nothing', () => {
    const a: LonLat[] = [[117, 36.6], [117.01, 36.6], [117.01, 36.61], [117, 36.6]];
    const b: LonLat[] = [[117.02, 36.6], [117.03, 36.6], [117.03, 36.61], [117.02, 36.6]];
    const idx = new FenceIndex([{ id: 'multi', name: 'm', kind: 'area', shape: 'polygon', geometry: { type: 'MultiPolygon', coordinates: [[a], [b]] } }], ALL);
    expect(crossed(idx, [117.015, 36.59], [117.015, 36.62])).toEqual([]);
    expect(crossed(idx, [117.025, 36.59], [117.025, 36.62])).toEqual(['multi']);
  });

  it('corridor: within half the width of the line, across it, along it', () => {
    const line: LonLat[] = [C, offset(C, 2000, 0), offset(C, 2000, 2000)];
    const idx = new FenceIndex([{ id: 'road', name: 'r', kind: 'route', shape: 'corridor', line, widthM: 100 }], ALL);
    expect(crossed(idx, offset(C, 1000, -300), offset(C, 1000, 300))).toEqual(['road']); // across
    expect(crossed(idx, offset(C, 1000, 45), offset(C, 1500, 45))).toEqual(['road']); // along, 45 m off
    expect(crossed(idx, offset(C, 1000, 55), offset(C, 1500, 55))).toEqual([]); // along, 55 m off
    expect(crossed(idx, offset(C, -300, 30), offset(C, -60, 30))).toEqual([]); // stops 60 m before the start
    expect(crossed(idx, offset(C, -300, 30), offset(C, -30, 30))).toEqual(['road']); // round the end
    expect(crossed(idx, offset(C, 2100, 500), offset(C, 2300, 500))).toEqual([]);
    expect(crossed(idx, offset(C, 2040, 500), offset(C, 2300, 500))).toEqual(['road']); // starts in the second segment
  });

  it('time windows: a fence applies only when active; without a time, always', () => {
    const idx = new FenceIndex([{ ...circle, id: 'day', timeWindows: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' }] }], ALL);
    const monday10 = Date.parse('2026-11-30T10:00:00+08:00'), monday20 = Date.parse('2026-11-30T20:00:00+08:00');
    expect(crossed(idx, offset(C, -500, 0), offset(C, 500, 0), monday10)).toEqual(['day']);
    expect(crossed(idx, offset(C, -500, 0), offset(C, 500, 0), monday20)).toEqual([]);
    expect(crossed(idx, offset(C, -500, 0), offset(C, 500, 0))).toEqual(['day']);
  });

  it('follows add, replace and remove; long segments (no grid) give the same answer', () => {
    const idx = new FenceIndex([circle], ALL);
    const a = offset(C, -500, 0), b = offset(C, 500, 0);
    expect(crossed(idx, a, b)).toEqual(['circle']);
    idx.replace({ ...circle, center: offset(C, 0, 300) });
    expect(crossed(idx, a, b)).toEqual([]);
    idx.add({ ...circle, id: 'two' });
    expect(crossed(idx, a, b)).toEqual(['two']);
    expect(crossed(idx, offset(C, -80_000, 0), offset(C, 80_000, 0))).toEqual(['two']);
    idx.remove('two');
    expect(crossed(idx, a, b)).toEqual([]);
    expect(crossed(idx, offset(C, -80_000, 0), offset(C, 80_000, 0))).toEqual([]);
  });

  it('a fence larger than the grid takes (a 100 km circle) is still found', () => {
    const idx = new FenceIndex([{ ...circle, id: 'huge', radiusM: 100_000 }], ALL);
    expect(crossed(idx, offset(C, 99_000, 0), offset(C, 99_500, 0))).toEqual(['huge']);
    expect(crossed(idx, offset(C, 101_000, 0), offset(C, 101_500, 0))).toEqual([]);
  });
});

/** The mean of a polygon's shell vertices (the centre the random rings are drawn round). */
function polygonCentre(rings: LonLat[][]): LonLat {
  const shell = rings[0]!.slice(0, -1);
  return [shell.reduce((a, p) => a + p[0]!, 0) / shell.length, shell.reduce((a, p) => a + p[1]!, 0) / shell.length];
}

describe('crossedBy agrees with dense sampling along the segment', () => {
  it('on 400 random segments among 300 random fences of every shape', () => {
    const rnd = seeded(808);
    const between = (a: number, b: number) => a + rnd() * (b - a);
    const box = { w: 116.98, e: 117.06, s: 36.62, n: 36.68 };
    const somewhere = (): LonLat => [between(box.w, box.e), between(box.s, box.n)];
    const fences: Fence[] = [];
    for (let i = 0; i < 300; i++) {
      const c = somewhere(), id = `f${i}`, u = rnd();
      if (u < 0.3) fences.push({ id, name: id, kind: 'depot', shape: 'circle', center: c, radiusM: between(20, 300) });
      else if (u < 0.45) fences.push({ id, name: id, kind: 'depot', shape: 'rectangle', sw: c, ne: offset(c, between(30, 400), between(30, 400)) });
      else if (u < 0.8) {
        const n = 5 + Math.floor(rnd() * 8), r = between(60, 500);
        const ring = (scale: number): LonLat[] => {
          const pts: LonLat[] = [];
          for (let k = 0; k < n; k++) pts.push(offset(c, r * scale * Math.cos((2 * Math.PI * k) / n), r * scale * Math.sin((2 * Math.PI * k) / n)));
          return [...pts, pts[0]!];
        };
        fences.push({ id, name: id, kind: 'forbidden', shape: 'polygon', geometry: { type: 'Polygon', coordinates: rnd() < 0.4 ? [ring(1), ring(0.4)] : [ring(1)] } });
      } else {
        const line: LonLat[] = [c];
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) line.push(offset(line[k]!, between(-800, 800), between(-800, 800)));
        fences.push({ id, name: id, kind: 'route', shape: 'corridor', line, widthM: between(20, 200) });
      }
    }
    const index = new FenceIndex(fences, ALL);
    const centres = fences.flatMap((f) => (f.shape === 'circle' ? [f.center] : f.shape === 'polygon' ? [polygonCentre(f.geometry.coordinates as LonLat[][])] : []));
    let total = 0, refined = 0;
    for (let s = 0; s < 400; s++) {
      // a third start at a fence's centre (in the hole of a holed polygon), and end close by or far
      const a = s % 3 === 0 ? centres[Math.floor(rnd() * centres.length)]! : somewhere();
      const len = s % 3 === 0 ? between(10, 600) : between(10, 2500), h = between(0, 2 * Math.PI);
      const b = offset(a, len * Math.cos(h), len * Math.sin(h));
      const got = crossed(index, a, b);
      let want = sampled(index, a, b, 2000);
      // a fence only the exact test sees may be clipped by a few metres: look closer
      if (got.some((id) => !want.includes(id))) { want = sampled(index, a, b, 200_000); refined++; }
      expect(got, `segment ${s}: ${JSON.stringify([a, b])}`).toEqual(want);
      total += got.length;
      // naming the fences holding an end: exactly the others; naming none: those, and perhaps some holders
      const holding = [...new Set([...index.locate(a[0]!, a[1]!), ...index.locate(b[0]!, b[1]!)].map((h) => h.fence.id))];
      const outside = got.filter((id) => !holding.includes(id));
      expect(crossed(index, a, b, undefined, holding)).toEqual(outside);
      const unnamed = crossed(index, a, b, undefined, []);
      expect(unnamed.filter((id) => !got.includes(id))).toEqual([]);
      expect(outside.filter((id) => !unnamed.includes(id))).toEqual([]);
    }
    expect(total).toBeGreaterThan(300); // the segments do meet fences
    expect(refined).toBeLessThan(40);
  });
});
