/**
 * Covering a fence with H3 cells.
 *
 * Positions are located at LOCATE_RES (10: cells of ≈ 15,000 m², edge ≈ 65–75 m around Jinan).
 * A fence's boundary cells are at its own boundary resolution: 10 for small fences — depots,
 * lots, forbidden places, narrow road corridors — whose cells would otherwise almost all need an
 * exact test (with resolution 9 a 150 m depot sends every position within ≈ 340 m of its centre to
 * one; with 10, within ≈ 220 m), and 9 (≈ 0.1 km², edge ≈ 190 m) for large fences — jurisdictions,
 * areas, 2 km route corridors — where 10 would multiply cells along tens of kilometres of boundary
 * for a band that is a small share of the fence anyway. Resolution 8 (0.74 km², edge ≈ 500 m)
 * would send every position within ≈ 500 m of any boundary to an exact test, and leave most
 * depots without a single inside cell.
 *
 * Cells fully inside are kept as coarse as possible (down to MIN_RES, 5: ≈ 250 km²), so a
 * jurisdiction costs cells in proportion to its boundary, not its area. The cover is built
 * top-down: a cell is classified by the distance from its centre to the fence boundary against a
 * radius that holds every resolution-10 descendant of the cell:
 *
 * - inside: every point of the cell's descendants is inside (no exact test needed);
 * - outside: none is (the cell is dropped);
 * - edge: refined into its children, or kept as a boundary cell at the fence's boundary
 *   resolution (exact test). Inside corridor cells where more than MAX_INSIDE_CANDIDATES segments
 *   could be nearest are refined too.
 *
 * The radius is the cell's circumradius (its farthest vertex, haversine), × DESCENDANT_REACH for
 * cells coarser than LOCATE_RES — resolution-10 descendants stick out of an H3 ancestor by up to
 * ≈ 5 % of its circumradius (measured in test/geofence.test.ts, also next to the pentagon at
 * 39.1° N 122.3° E), and 15 % is allowed — × 1.02 for the equirectangular metric used against
 * polygon edges, plus 2 m for rounding. Lookup finds a position's resolution-10 cell and its
 * ancestors by truncating digits, so each fence is met at most once per position.
 */
import { cellToBoundary, cellToLatLng, getHexagonEdgeLengthAvg, getPentagons, gridRing, latLngToCell } from 'h3-js';
import type { CompiledFence } from './exact.js';
import { cellKey, keyToCell } from './h3cell.js';
import { EdgeGrid } from './edgegrid.js';
import { arcDistanceFromUnitM, EARTH_RADIUS_M, haversineM, M_PER_DEG, unitVector, type Arc } from './sphere.js';

export const LOCATE_RES = 10;
export const MIN_RES = 5;
/** Boundary resolution of large fences; small ones use LOCATE_RES. */
export const LARGE_BOUNDARY_RES = 9;
/** A fence is small when its cap radius is under this, or it is a corridor narrower than SMALL_WIDTH_M. */
const SMALL_RADIUS_M = 2000;
const SMALL_WIDTH_M = 300;
export const DESCENDANT_REACH = 1.15;
const METRIC_SLACK = 1.02;
const ROUNDING_M = 2;
/** An inside corridor cell with more candidate segments than this is refined (fewer to rank per position). */
const MAX_INSIDE_CANDIDATES = 2;
const DEG = Math.PI / 180;

/** One cell of a fence's cover. `segs`: corridor segments that can be nearest in the cell (ascending). */
export interface CoverCell {
  res: number;
  key: number;
  interior: boolean;
  segs: number[] | null;
}

type Verdict = 0 | 1 | 2; // outside, inside, edge

/** A fence with what covering it needs (built per cover, not kept). */
interface Shape {
  cf: CompiledFence;
  arcs: Arc[];
  edges: EdgeGrid;
}
const OUT: Verdict = 0, IN: Verdict = 1, EDGE: Verdict = 2;

/**
 * Centre and circumradius of the cells met while covering fences, by resolution and key, in an
 * open-addressing table. h3-js needs a few µs per cell; fences loaded together overlap, so a
 * batch shares one cache (dropped when full, and with the batch).
 */
export class CellGeometryCache {
  private ids: Float64Array;
  /** lat, lng, circumradius (m) per slot. */
  private values: Float64Array;
  private size = 0;

  constructor(private readonly maxCapacity = 1 << 20, private capacity = 1 << 12) {
    this.ids = new Float64Array(capacity).fill(-1);
    this.values = new Float64Array(capacity * 3);
  }

  /** Index into `data` of the cell's [lat, lng, circumradius in metres]; valid until the next call. */
  get(res: number, key: number): number {
    const id = key * 16 + res;
    let i = this.slotOf(key, res);
    for (;;) {
      const at = this.ids[i]!;
      if (at === id) return i * 3;
      if (at === -1) break;
      i = (i + 1) & (this.capacity - 1);
    }
    if (this.size * 2 >= this.capacity) {
      this.resize(this.capacity < this.maxCapacity ? this.capacity * 2 : this.capacity);
      return this.get(res, key);
    }
    const cell = keyToCell(key, res);
    const [lat, lng] = cellToLatLng(cell);
    let r = 0;
    for (const v of cellToBoundary(cell)) r = Math.max(r, haversineM(lng, lat, v[1], v[0]));
    this.ids[i] = id;
    this.values.set([lat, lng, r], i * 3);
    this.size++;
    return i * 3;
  }

  /** The values array that `get` indexes into. */
  get data(): Float64Array {
    return this.values;
  }

  private slotOf(key: number, res: number): number {
    return (Math.imul(key % 0x7fffffff | 0, 0x9e3779b1) ^ Math.imul(Math.floor(key / 0x7fffffff) + res, 0x85ebca77)) & (this.capacity - 1);
  }

  /** Rehashes into `capacity` slots; at the maximum, starts afresh. */
  private resize(capacity: number): void {
    const ids = this.ids, values = this.values;
    this.capacity = capacity;
    this.ids = new Float64Array(capacity).fill(-1);
    this.values = new Float64Array(capacity * 3);
    this.size = 0;
    if (capacity === ids.length) return;
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j]!;
      if (id === -1) continue;
      const res = id % 16, key = (id - res) / 16;
      let i = this.slotOf(key, res);
      while (this.ids[i] !== -1) i = (i + 1) & (capacity - 1);
      this.ids[i] = id;
      this.values.set(values.subarray(j * 3, j * 3 + 3), i * 3);
      this.size++;
    }
  }
}

const PENTAGON_BASES = new Set(getPentagons(0).map((p) => cellKey(p)));

/** A cell is a pentagon when its base cell is one and every digit is 0 (its children skip digit 1). */
function isPentagonKey(res: number, key: number): boolean {
  const units = 8 ** res, base = Math.floor(key / units);
  return key === base * units && PENTAGON_BASES.has(base);
}

/** Where a fence's boundary cells are: LOCATE_RES for small fences, LARGE_BOUNDARY_RES for large ones. */
export function boundaryRes(cf: CompiledFence): number {
  const small = cf.shape === 'corridor' ? cf.reachM * 2 < SMALL_WIDTH_M : cf.capRadiusM < SMALL_RADIUS_M;
  return small ? LOCATE_RES : LARGE_BOUNDARY_RES;
}

/** The cells covering a fence: inside cells at any resolution MIN_RES…LOCATE_RES, edge cells at its boundary resolution. */
export function coverFence(cf: CompiledFence, cache = new CellGeometryCache()): CoverCell[] {
  const fine = boundaryRes(cf);
  let r0 = MIN_RES;
  for (let r = fine; r >= MIN_RES; r--) {
    if (getHexagonEdgeLengthAvg(r, 'm') >= cf.capRadiusM) { r0 = r; break; }
  }
  // Start from the rings of resolution-r0 cells around the cap's centre until a whole ring lies
  // beyond the cap: the ring encloses the cap, which is connected and holds the whole fence.
  const originCell = latLngToCell(cf.capLat, cf.capLon, r0);
  const stack: number[] = []; // (res, key) pairs
  for (let k = 0; ; k++) {
    let near = false;
    for (const c of k === 0 ? [originCell] : gridRing(originCell, k)) {
      const key = cellKey(c), g = cache.get(r0, key), G = cache.data;
      const reach = G[g + 2]! * DESCENDANT_REACH * METRIC_SLACK + ROUNDING_M;
      if (haversineM(cf.capLon, cf.capLat, G[g + 1]!, G[g]!) - reach > cf.capRadiusM) continue;
      near = true;
      stack.push(r0, key);
    }
    if (!near && k > 0) break;
  }
  const out: CoverCell[] = [];
  const shape: Shape = { cf, arcs: cf.arcs(), edges: new EdgeGrid(cf.edges(), cf.bbox) };
  const segs: number[] = [], dist = new Float64Array(shape.arcs.length);
  while (stack.length > 0) {
    const key = stack.pop()!, r = stack.pop()!;
    const g = cache.get(r, key), G = cache.data;
    const reach = G[g + 2]! * (r < LOCATE_RES ? DESCENDANT_REACH : 1) * METRIC_SLACK + ROUNDING_M;
    segs.length = 0;
    const v = classify(shape, G[g + 1]!, G[g]!, reach, segs, dist);
    if (v === OUT) continue;
    // refine edges down to the boundary resolution, and inside corridor cells where too many
    // segments could be nearest down to LOCATE_RES
    if ((v === EDGE && r < fine) || (v === IN && segs.length > MAX_INSIDE_CANDIDATES && r < LOCATE_RES)) {
      const pentagon = isPentagonKey(r, key);
      for (let d = 0; d < 7; d++) if (!(pentagon && d === 1)) stack.push(r + 1, key * 8 + d);
      continue;
    }
    out.push({ res: r, key, interior: v === IN, segs: cf.shape === 'corridor' ? segs.slice() : null });
  }
  return compact(out);
}

/** Inside, outside or edge for every point within `reach` metres of (lon, lat); corridor candidates into `segs`. */
function classify(shape: Shape, lon: number, lat: number, reach: number, segs: number[], dist: Float64Array): Verdict {
  const cf = shape.cf;
  switch (cf.shape) {
    case 'circle': {
      const c = (cf.fence as { center: number[] }).center;
      const d = haversineM(c[0]!, c[1]!, lon, lat);
      return d + reach <= cf.reachM ? IN : d - reach > cf.reachM ? OUT : EDGE;
    }
    case 'rectangle':
    case 'polygon':
      return classifyPlanar(shape, lon, lat, reach);
    case 'corridor':
      return classifyCorridor(shape, lon, lat, reach, segs, dist);
  }
}

function classifyPlanar({ cf, edges }: Shape, lon: number, lat: number, reach: number): Verdict {
  const cosLat = Math.cos(lat * DEG);
  const [w, s, e, n] = cf.bbox;
  const dx = Math.max(w - lon, 0, lon - e) * cosLat, dy = Math.max(s - lat, 0, lat - n);
  if (Math.hypot(dx, dy) * M_PER_DEG > reach) return OUT; // the polygon lies in its bbox
  if (edges.anyWithin(lon, lat, reach)) return EDGE;
  return cf.contains(lon, lat) ? IN : OUT;
}

/**
 * A segment can be nearest somewhere within `reach` only if its distance from the centre, less
 * `reach`, is at most the nearest segment's distance plus `reach`; and it can hold a point of the
 * corridor only if that is at most the half width.
 */
function classifyCorridor({ cf, arcs }: Shape, lon: number, lat: number, reach: number, segs: number[], dist: Float64Array): Verdict {
  const half = cf.reachM;
  const [px, py, pz] = unitVector(lon, lat);
  // a segment whose midpoint is farther than its half length + half + reach (+ 1 m) is out of play:
  // P·M < cos(halfAngle + limit) ⟺ angle(P, M) > halfAngle + limit
  const limit = (half + reach + 1) / EARTH_RADIUS_M, cosL = Math.cos(limit), sinL = Math.sin(limit);
  let dmin = Infinity;
  for (let i = 0; i < arcs.length; i++) {
    const a = arcs[i]!;
    if (a.halfM / EARTH_RADIUS_M + limit < Math.PI && px * a.mx + py * a.my + pz * a.mz < a.cosHalf * cosL - a.sinHalf * sinL) {
      dist[i] = Infinity;
      continue;
    }
    const d = arcDistanceFromUnitM(a, px, py, pz);
    dist[i] = d;
    if (d < dmin) dmin = d;
  }
  if (dmin - reach > half) return OUT;
  const bound = Math.min(half, dmin + reach) + reach;
  for (let i = 0; i < arcs.length; i++) if (dist[i]! <= bound) segs.push(i);
  return dmin + reach <= half ? IN : EDGE;
}

/** Replace every complete set of inside siblings (7, or 6 under a pentagon) by their parent. */
function compact(cells: CoverCell[]): CoverCell[] {
  for (let r = LOCATE_RES; r > MIN_RES; r--) {
    const groups = new Map<number, CoverCell[]>();
    for (const c of cells) {
      if (c.res !== r || !c.interior) continue;
      const p = Math.floor(c.key / 8);
      const g = groups.get(p);
      if (g) g.push(c); else groups.set(p, [c]);
    }
    const merged = new Set<CoverCell>();
    const parents: CoverCell[] = [];
    for (const [p, g] of groups) {
      const full = isPentagonKey(r - 1, p) ? 6 : 7;
      if (g.length !== full) continue;
      const same = g.every((c) => sameSegs(c.segs, g[0]!.segs));
      if (!same) continue;
      for (const c of g) merged.add(c);
      parents.push({ res: r - 1, key: p, interior: true, segs: g[0]!.segs });
    }
    if (merged.size > 0) cells = cells.filter((c) => !merged.has(c)).concat(parents);
  }
  return cells;
}

function sameSegs(a: number[] | null, b: number[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
