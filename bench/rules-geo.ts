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
import { exposeGc, settledMemory } from './support/memory.js';
import { CompiledFence, FenceIndex, locateExact, type FenceHit } from '../src/rules/geo/index.js';
import { M_LAT, inBox, makeFences } from './support/jinan-fences.js';
import { chinaClock } from '../src/rules/geo/time.js';

const POSITIONS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const FENCES = 10_000;
/** A weekday 10:00 in China (time windows are checked). */
const AT_MS = Date.UTC(2026, 10, 30, 2, 0, 0);

const gc = exposeGc();

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

async function main(): Promise<void> {
  const fences = makeFences(FENCES);
  const lons = new Float64Array(POSITIONS), lats = new Float64Array(POSITIONS);
  for (let i = 0; i < POSITIONS; i++) { const p = inBox(); lons[i] = p[0]!; lats[i] = p[1]!; }

  const memoryBefore = await settledMemory(gc);
  const t0 = performance.now();
  const index = new FenceIndex(fences);
  const buildMs = performance.now() - t0;
  const bytesPerFence = ((await settledMemory(gc)) - memoryBefore) / FENCES;

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

function signature(hits: FenceHit[]): string {
  return hits.map((h) => `${h.fence.id}/${h.segment ?? ''}/${h.speedLimitKmh ?? ''}`).sort().join(' ');
}

await main();
