/**
 * Exact tests on flat fence data: each fence's geometry as one run of numbers, in its own
 * Float64Array (CompiledFence.flat) or copied into the index's pool, so a test reads contiguous
 * memory instead of nested GeoJSON arrays. Layouts, from offset o:
 *
 *   circle     lon, lat, radiusM
 *   rectangle  w, s, e, n
 *   polygon    parts; per part: rings; per ring: vertices, then x, y of each (closing one included)
 *   corridor   halfWidthM, segments; per segment: A, B (unit vectors) and the unit normal, 9 numbers
 *
 * The answers are those of the reference tests (turf's point-in-polygon, haversine, turf's
 * point-to-line distance); where only the reference can decide, the result says so.
 */
import type { Fence } from './fence.js';
import { arc, EARTH_RADIUS_M, haversineM } from './sphere.js';

/** Shewchuk's error bound for the fast orientation test (robust-predicates' ccwerrboundA). */
const CCW_ERRBOUND_A = (3 + 16 * 1.1102230246251565e-16) * 1.1102230246251565e-16;
/**
 * Within this distance (metres) of a corridor's edge, turf's pointToLineDistance has the last
 * word. The great-circle distance here and turf's differ by < 1 mm (≈ 0.4 mm at worst, on
 * segments a few metres long, where turf's cross product loses digits; test/geofence.test.ts).
 */
export const TURF_BAND_M = 0.01;

export function flatten(f: Fence): Float64Array {
  switch (f.shape) {
    case 'circle': return Float64Array.of(f.center[0]!, f.center[1]!, f.radiusM);
    case 'rectangle': return Float64Array.of(f.sw[0]!, f.sw[1]!, f.ne[0]!, f.ne[1]!);
    case 'polygon': {
      const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
      const out: number[] = [polys.length];
      for (const rings of polys) {
        out.push(rings.length);
        for (const ring of rings) {
          out.push(ring.length);
          for (const v of ring) out.push(v[0]!, v[1]!);
        }
      }
      return Float64Array.from(out);
    }
    case 'corridor': {
      const out: number[] = [f.widthM / 2, f.line.length - 1];
      for (let i = 0; i + 1 < f.line.length; i++) {
        const a = arc(f.line[i]!, f.line[i + 1]!);
        out.push(a.ax, a.ay, a.az, a.bx, a.by, a.bz, a.nx, a.ny, a.nz);
      }
      return Float64Array.from(out);
    }
  }
}

export function circleContains(D: Float64Array, o: number, lon: number, lat: number): boolean {
  return haversineM(D[o]!, D[o + 1]!, lon, lat) <= D[o + 2]!;
}

export function rectangleContains(D: Float64Array, o: number, lon: number, lat: number): boolean {
  return lon >= D[o]! && lat >= D[o + 1]! && lon <= D[o + 2]! && lat <= D[o + 3]!;
}

/**
 * turf's point-in-polygon (point-in-polygon-hao: even-odd over a part's rings, boundary inside,
 * inside any part) replayed: 1 inside, 0 outside, −1 when its robust orientation test would
 * leave the fast path (the position is on an edge or within rounding of one) and turf must
 * decide. Everywhere else the determinant is computed exactly as turf's fast path computes it,
 * so the answer is turf's.
 */
export function polygonContainsFast(D: Float64Array, o: number, x: number, y: number): number {
  let p = o + 1;
  for (let part = 0, parts = D[o]!; part < parts; part++) {
    let k = 0;
    for (let ring = 0, rings = D[p++]!; ring < rings; ring++) {
      const n = D[p++]!, end = p + 2 * n;
      let u1 = D[p]! - x, v1 = D[p + 1]! - y;
      for (let q = p + 2; q < end; q += 2) {
        const u2 = D[q]! - x, v2 = D[q + 1]! - y;
        if (v1 === 0 && v2 === 0) {
          if ((u2 <= 0 && u1 >= 0) || (u1 <= 0 && u2 >= 0)) return 1; // on a horizontal edge
        } else if ((v2 >= 0 && v1 <= 0) || (v2 <= 0 && v1 >= 0)) {
          const left = u2 * v1, right = u1 * v2, f = left - right;
          if (Math.abs(f) < CCW_ERRBOUND_A * Math.abs(left + right)) return -1;
          if (f === 0) return 1; // on the edge
          if ((f > 0 && v2 > 0 && v1 <= 0) || (f < 0 && v2 <= 0 && v1 > 0)) k++;
        }
        u1 = u2; v1 = v2;
      }
      p = end;
    }
    if (k % 2 === 1) return 1;
  }
  return 0;
}

/**
 * The corridor segment nearest the position given as a unit vector (P = pt[0 … 2]), ranked by
 * great-circle distance — the math of turf's pointToLineDistance, as squared chords — lowest
 * index on a tie. `candidates[start … start + count)` (ascending) restricts the search (null:
 * every segment); `inside` says the position is known to be in the corridor. Returns the segment
 * when the position is inside, −1 when it is outside, and −2 − segment when it is within
 * TURF_BAND_M of the corridor's edge, where turf decides.
 *
 * The point comes in an array and the per-segment distance is written out in the loop: a double
 * passed to or returned from a call that is not inlined is a heap allocation, and this runs for
 * several corridors of every position.
 */
export function nearestSegmentFlat(
  D: Float64Array, o: number, pt: Float64Array,
  candidates: ArrayLike<number> | null, start: number, count: number, inside: boolean,
): number {
  const px = pt[0]!, py = pt[1]!, pz = pt[2]!;
  let best = Infinity, seg = -1;
  const n = candidates ? count : D[o + 1]!;
  for (let c = 0; c < n; c++) {
    const i = candidates ? candidates[start + c]! : c;
    // squared chord from P to the arc at q (A, B, unit normal): to its interior point when P
    // projects between A and B, else to the nearer endpoint. Monotone in the great-circle
    // distance; 2·s²/(1 + √(1 − s²)) is 2(1 − cos d) without cancellation.
    const q = o + 2 + i * 9;
    const ax = D[q]!, ay = D[q + 1]!, az = D[q + 2]!, bx = D[q + 3]!, by = D[q + 4]!, bz = D[q + 5]!;
    const nx = D[q + 6]!, ny = D[q + 7]!, nz = D[q + 8]!;
    let d: number;
    const pn = px * nx + py * ny + pz * nz;
    const ix = px - pn * nx, iy = py - pn * ny, iz = pz - pn * nz;
    if ((nx !== 0 || ny !== 0 || nz !== 0)
      && (ay * iz - az * iy) * nx + (az * ix - ax * iz) * ny + (ax * iy - ay * ix) * nz >= 0
      && (iy * bz - iz * by) * nx + (iz * bx - ix * bz) * ny + (ix * by - iy * bx) * nz >= 0) {
      const s2 = pn * pn;
      d = (2 * s2) / (1 + Math.sqrt(1 - s2));
    } else {
      const dax = px - ax, day = py - ay, daz = pz - az, dbx = px - bx, dby = py - by, dbz = pz - bz;
      const da = dax * dax + day * day + daz * daz, db = dbx * dbx + dby * dby + dbz * dbz;
      d = da < db ? da : db;
    }
    if (d < best) { best = d; seg = i; }
  }
  if (seg < 0 || inside) return seg;
  const m = 2 * Math.asin(Math.min(1, Math.sqrt(best) / 2)) * EARTH_RADIUS_M, half = D[o]!;
  if (m > half + TURF_BAND_M) return -1;
  return m < half - TURF_BAND_M ? seg : -2 - seg;
}
