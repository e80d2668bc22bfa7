/**
 * bench/rules-geo — the geofence index alone, on one core. Prints one JSON line:
 *
 * - 10,000 mixed fences around Jinan, 60 % of them in the urban box the positions come from and
 *   40 % across the municipality (116.6–117.6 E, 36.3–37.0 N): 40 % depots as circles (40–300 m)
 *   and 10 % as rectangular lots, 30 % forbidden places (polygons 80–600 m, a tenth with a hole,
 *   a tenth with evening time windows), 5 % areas (0.5–2.5 km), 12 % road corridors (30–100 m
 *   wide, 3–15 km, per-segment limits, some with rush-hour windows), 2.8 % route-deviation
 *   corridors (2 km wide, 3–12 km), and 13 jurisdictions: 12 districts tiling the municipality
 *   with wiggly shared borders, and the city as their outline; built with `new FenceIndex(fences)`:
 *   buildMs, cellsPerFence, bytesPerFence (JS heap + array buffers after a full GC, index
 *   minus the input fences, divided by the fence count; typedArrayBytesPerFence is the part in
 *   the cell tables and the geometry pool);
 * - locatePerSec: `locateInto` (time windows applied) over 1,000,000 uniform positions in
 *   36.55–36.75 N, 116.9–117.2 E, best of `rounds`; hitsPerPosition: fences per position;
 * - baselines measured in the same run on the same fences and positions: bruteForcePerSec tests
 *   every fence exactly (`locateExact`), bboxScanPerSec rejects by each fence's widened bbox first
 *   (the obvious index-free loop), each on a sample and scaled per second;
 * - mismatches: positions of the brute-force sample where the index and the brute force disagree
 *   (must be 0).
 *
 * The goal (≥ 250,000 positions/s with 10,000 fences) is for the whole rule set; this
 * measures the geofence part. Run: npm run build && node dist/bench/rules-geo.js [positions] [rounds]
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { CompiledFence, FenceIndex, locateExact, type Fence, type FenceHit, type LonLat } from '../src/rules/geo/index.js';
import { chinaClock } from '../src/rules/geo/time.js';

const POSITIONS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const FENCES = 10_000;
const BOX = { w: 116.9, e: 117.2, s: 36.55, n: 36.75 };
const WIDE = { w: 116.6, e: 117.6, s: 36.3, n: 37.0 };
/** A weekday 10:00 in China (time windows are checked). */
const AT_MS = Date.UTC(2026, 10, 30, 2, 0, 0);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let seed = 20261129;
function rnd(): number { // mulberry32: the same fences and positions every run
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (a: number, b: number) => a + rnd() * (b - a);
const M_LAT = 111_195, M_LON = 111_195 * Math.cos(36.65 * Math.PI / 180);
const offset = (p: LonLat, dx: number, dy: number): LonLat => [p[0]! + dx / M_LON, p[1]! + dy / M_LAT];
const inBox = (): LonLat => [between(BOX.w, BOX.e), between(BOX.s, BOX.n)];

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

/** Widened bboxes for the scan baseline: [w, s, e, n] per fence, padded by its radius / half width. */
function widenedBoxes(compiled: CompiledFence[]): Float64Array {
  const out = new Float64Array(compiled.length * 4);
  compiled.forEach((cf, i) => {
    const padLat = cf.reachM / M_LAT * 1.01, padLon = cf.reachM / (111_195 * Math.cos((Math.abs(cf.bbox[3]) + 1) * Math.PI / 180)) * 1.01;
    out.set([cf.bbox[0] - padLon, cf.bbox[1] - padLat, cf.bbox[2] + padLon, cf.bbox[3] + padLat], i * 4);
  });
  return out;
}

function perSec(n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Full GCs until the JS heap plus array buffers stop shrinking (freed backing stores go lazily). */
async function settledMemory(): Promise<number> {
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const now = memory();
    if (now >= last - 1024) return now;
    last = now;
  }
  return last;
}

async function main(): Promise<void> {
  const fences = Array.from({ length: FENCES }, (_, i) => fence(i));
  const lons = new Float64Array(POSITIONS), lats = new Float64Array(POSITIONS);
  for (let i = 0; i < POSITIONS; i++) { const p = inBox(); lons[i] = p[0]!; lats[i] = p[1]!; }

  const memoryBefore = await settledMemory();
  const t0 = performance.now();
  const index = new FenceIndex(fences);
  const buildMs = performance.now() - t0;
  const bytesPerFence = ((await settledMemory()) - memoryBefore) / FENCES;

  const out: FenceHit[] = [];
  let hits = 0;
  for (let i = 0; i < 200_000; i++) index.locateInto(lons[i]!, lats[i]!, out, AT_MS); // warm up
  let locatePerSec = 0;
  for (let r = 0; r < ROUNDS; r++) {
    hits = 0;
    locatePerSec = Math.max(locatePerSec, perSec(POSITIONS, () => {
      for (let i = 0; i < POSITIONS; i++) hits += index.locateInto(lons[i]!, lats[i]!, out, AT_MS);
    }));
  }

  const stats = index.stats();
  const compiled = fences.map((f) => new CompiledFence(f));
  const bruteSample = Math.min(POSITIONS, 2000);
  let mismatches = 0;
  const answers: string[] = [];
  const bruteForcePerSec = perSec(bruteSample, () => {
    for (let i = 0; i < bruteSample; i++) answers.push(signature(locateExact(compiled, lons[i]!, lats[i]!, AT_MS)));
  });
  for (let i = 0; i < bruteSample; i++) if (signature(index.locate(lons[i]!, lats[i]!, AT_MS)) !== answers[i]) mismatches++;

  const boxes = widenedBoxes(compiled), clock = chinaClock(AT_MS);
  const scanSample = Math.min(POSITIONS, 50_000);
  let scanHits = 0;
  const bboxScanPerSec = perSec(scanSample, () => {
    for (let i = 0; i < scanSample; i++) {
      const lon = lons[i]!, lat = lats[i]!;
      for (let f = 0; f < compiled.length; f++) {
        const b = f * 4;
        if (lon < boxes[b]! || lat < boxes[b + 1]! || lon > boxes[b + 2]! || lat > boxes[b + 3]!) continue;
        const cf = compiled[f]!;
        if (!cf.activeAt(clock)) continue;
        if (cf.shape === 'corridor' ? cf.nearestSegment(lon, lat, null, 0, 0, false) >= 0 : cf.contains(lon, lat)) scanHits++;
      }
    }
  });

  console.log(JSON.stringify({
    bench: 'rules-geo', fences: FENCES, positions: POSITIONS, rounds: ROUNDS,
    locatePerSec: Math.round(locatePerSec), hitsPerPosition: +(hits / POSITIONS).toFixed(2),
    bruteForcePerSec: Math.round(bruteForcePerSec), bruteForceSample: bruteSample,
    bboxScanPerSec: Math.round(bboxScanPerSec), bboxScanSample: scanSample, bboxScanHitsPerPosition: +(scanHits / scanSample).toFixed(2),
    speedupVsBruteForce: Math.round(locatePerSec / bruteForcePerSec), speedupVsBboxScan: +(locatePerSec / bboxScanPerSec).toFixed(1),
    mismatches, buildMs: Math.round(buildMs), bytesPerFence: Math.round(bytesPerFence),
    cellsPerFence: +(stats.cells / FENCES).toFixed(1), interiorCellShare: +(stats.interiorCells / stats.cells).toFixed(3),
    typedArrayBytesPerFence: Math.round(stats.tableBytes / FENCES),
    cellsByRes: stats.cellsByRes, distinctCells: stats.distinctCells, locator: stats.locator, node: process.version,
  }));
}

/** JS heap plus array buffers (the index's tables live in typed arrays, outside the heap). */
function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function signature(hits: FenceHit[]): string {
  return hits.map((h) => `${h.fence.id}/${h.segment ?? ''}/${h.speedLimitKmh ?? ''}`).sort().join(' ');
}

await main();
