/**
 * The 10,000 mixed geofences around Jinan that the rule benchmarks load (described in
 * bench/rules-geo.ts), drawn from a seeded generator: the same fences every run.
 */
import type { Fence, LonLat } from '../../src/rules/geo/index.js';

/** The urban box positions come from, and the municipality. */
export const BOX = { w: 116.9, e: 117.2, s: 36.55, n: 36.75 };
export const WIDE = { w: 116.6, e: 117.6, s: 36.3, n: 37.0 };

let seed = 20261129;
export function rnd(): number { // mulberry32: the same fences and positions every run
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export const between = (a: number, b: number) => a + rnd() * (b - a);
export const M_LAT = 111_195, M_LON = 111_195 * Math.cos(36.65 * Math.PI / 180);
export const offset = (p: LonLat, dx: number, dy: number): LonLat => [p[0]! + dx / M_LON, p[1]! + dy / M_LAT];
export const inBox = (): LonLat => [between(BOX.w, BOX.e), between(BOX.s, BOX.n)];

function ring(c: LonLat, radiusM: number, n: number, jitter: number): LonLat[] {
  const pts: LonLat[] = [];
  for (let k = 0; k < n; k++) {
    const a = (2 * Math.PI * k) / n, r = radiusM * (1 - jitter + rnd() * jitter);
    pts.push(offset(c, r * Math.cos(a), r * Math.sin(a)));
  }
  return [...pts, pts[0]!];
}

const JURISDICTIONS = jurisdictions();
const EVENINGS = [{ days: [1, 2, 3, 4, 5, 6, 7] as (1 | 2 | 3 | 4 | 5 | 6 | 7)[], from: '18:00', to: '02:00' }];
const RUSH = [{ days: [1, 2, 3, 4, 5] as (1 | 2 | 3 | 4 | 5 | 6 | 7)[], from: '07:00', to: '09:30' }];

/** Where fences lie: 60 % in the urban box the positions are drawn from, 40 % across the municipality. */
function somewhere(): LonLat {
  return rnd() < 0.6 ? inBox() : [between(WIDE.w, WIDE.e), between(WIDE.s, WIDE.n)];
}

function fence(i: number): Fence {
  const id = `f${i}`, u = rnd(), c = somewhere();
  if (i < JURISDICTIONS.length) return JURISDICTIONS[i]!;
  if (u < 0.4) return { id, name: `depot ${i}`, kind: 'depot', shape: 'circle', center: c, radiusM: between(40, 300) };
  if (u < 0.5) {
    const w = between(80, 400), h = between(80, 400);
    return { id, name: `lot ${i}`, kind: 'depot', shape: 'rectangle', sw: c, ne: offset(c, w, h) };
  }
  if (u < 0.8) {
    const r = between(80, 600), shell = ring(c, r, 6 + Math.floor(rnd() * 10), 0.3);
    const holes = rnd() < 0.1 ? [ring(c, r * 0.3, 6, 0).reverse()] : [];
    return {
      id, name: `forbidden ${i}`, kind: 'forbidden', shape: 'polygon', geometry: { type: 'Polygon', coordinates: [shell, ...holes] },
      ...(rnd() < 0.1 && { timeWindows: EVENINGS }),
    };
  }
  if (u < 0.85) return { id, name: `area ${i}`, kind: 'area', shape: 'polygon', geometry: { type: 'Polygon', coordinates: [ring(c, between(500, 2500), 12, 0.4)] } };
  if (u < 0.972) return corridor(id, c, false);
  return corridor(id, c, true);
}

/**
 * The municipality as 4 × 3 districts that tile it, with wiggly shared borders (each border is
 * drawn once and used by both neighbours), and the city as their outline: every position lies
 * in one district and in the city.
 */
function jurisdictions(): Fence[] {
  const NX = 4, NY = 3;
  const corner: LonLat[][] = [];
  for (let i = 0; i <= NX; i++) {
    corner.push([]);
    for (let j = 0; j <= NY; j++) {
      const inner = i > 0 && i < NX && j > 0 && j < NY;
      const lon = WIDE.w + ((WIDE.e - WIDE.w) * i) / NX + (inner ? between(-0.04, 0.04) : 0);
      const lat = WIDE.s + ((WIDE.n - WIDE.s) * j) / NY + (inner ? between(-0.03, 0.03) : 0);
      corner[i]!.push([lon, lat]);
    }
  }
  const borders = new Map<string, LonLat[]>();
  /** The border from corner a to corner b, a included, b left out (the next border starts there). */
  const border = (a: [number, number], b: [number, number]): LonLat[] => full(a, b).slice(0, -1);
  const full = (a: [number, number], b: [number, number]): LonLat[] => {
    const key = `${a}-${b}`, back = `${b}-${a}`;
    if (borders.has(back)) return [...borders.get(back)!].reverse();
    if (!borders.has(key)) {
      const p = corner[a[0]]![a[1]]!, q = corner[b[0]]![b[1]]!;
      const pts: LonLat[] = [p];
      for (let k = 1; k < 24; k++) {
        const t = k / 24, wiggle = between(-0.012, 0.012); // ≤ ≈ 300 m across a 22–26 km border
        pts.push([p[0]! + (q[0]! - p[0]!) * t - (q[1]! - p[1]!) * wiggle, p[1]! + (q[1]! - p[1]!) * t + (q[0]! - p[0]!) * wiggle]);
      }
      borders.set(key, [...pts, q]);
    }
    return borders.get(key)!;
  };
  const out: Fence[] = [];
  for (let i = 0; i < NX; i++) {
    for (let j = 0; j < NY; j++) {
      const shell = [
        ...border([i, j], [i + 1, j]), ...border([i + 1, j], [i + 1, j + 1]),
        ...border([i + 1, j + 1], [i, j + 1]), ...border([i, j + 1], [i, j]), corner[i]![j]!,
      ];
      out.push({ id: `district-${i}-${j}`, name: `district ${i}-${j}`, kind: 'jurisdiction', shape: 'polygon', geometry: { type: 'Polygon', coordinates: [shell] } });
    }
  }
  const outline: LonLat[] = [];
  for (let i = 0; i < NX; i++) outline.push(...border([i, 0], [i + 1, 0]));
  for (let j = 0; j < NY; j++) outline.push(...border([NX, j], [NX, j + 1]));
  for (let i = NX; i > 0; i--) outline.push(...border([i, NY], [i - 1, NY]));
  for (let j = NY; j > 0; j--) outline.push(...border([0, j], [0, j - 1]));
  outline.push(corner[0]![0]!);
  out.push({ id: 'city', name: 'city', kind: 'jurisdiction', shape: 'polygon', geometry: { type: 'Polygon', coordinates: [outline] } });
  return out;
}

/** A road corridor (30–100 m, per-segment limits, some with rush-hour windows) or a 2 km route-deviation corridor. */
function corridor(id: string, start: LonLat, wide: boolean): Fence {
  const line: LonLat[] = [start];
  let heading = rnd() * 2 * Math.PI;
  const n = 8 + Math.floor(rnd() * 32), step = between(3000, wide ? 12_000 : 15_000) / n;
  for (let k = 0; k < n; k++) {
    heading += (rnd() - 0.5) * 0.6;
    line.push(offset(line[line.length - 1]!, step * Math.cos(heading), step * Math.sin(heading)));
  }
  const road = !wide;
  return {
    id, name: `route ${id}`, kind: 'route', shape: 'corridor', line, widthM: road ? between(30, 100) : 2000,
    ...(road && { speedLimitKmh: 60, segments: line.slice(1).map((_, k) => (k % 3 === 0 ? { speedLimitKmh: 40, ...(k % 2 === 0 && { timeWindows: RUSH }) } : null)) }),
  };
}

/** `n` fences (the first 13 are the jurisdictions); call once per process: it draws from the shared seed. */
export function makeFences(n: number): Fence[] {
  return Array.from({ length: n }, (_, i) => fence(i));
}
