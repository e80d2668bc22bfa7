/**
 * FenceIndex: which fences hold a position, for every position of the stream.
 *
 * Each fence is covered by H3 cells (cover.ts): cells fully inside, as coarse as resolution 5,
 * and boundary cells at resolution 10 (small fences) or 9 (large ones). A position's
 * resolution-10 cell is computed in JavaScript (h3cell.ts, ≈ 0.3 µs, the same cell as h3-js),
 * and that cell and its ancestors (digits truncated) are looked up in one hash table per
 * resolution (cells.ts). An inside cell answers "inside" with no geometry; a boundary cell runs
 * the exact test (flat.ts: turf's point-in-polygon, haversine for circles, great-circle
 * distance to the corridor segments that can be nearest there, turf within 1 cm of an edge);
 * a position whose cells are in no cover is outside every fence. The answer is the one of
 * testing every fence exactly (`locateExact`), which test/geofence.test.ts checks on random
 * fences and positions.
 *
 * Memory: covers hold cells in proportion to boundary length, not area; the cells, postings
 * and flat geometry live in typed arrays (≈ 3 KB per fence in bench/rules-geo.ts, ≈ 4.5 KB with
 * the compiled fences). `stats()` reports the counts.
 */
import { assertValidFence, FenceError, FenceErrorCode, type Fence } from './fence.js';
import { CompiledFence, type FenceHit } from './exact.js';
import { CellGeometryCache, coverFence, LOCATE_RES, MIN_RES } from './cover.js';
import { H3PointLocator, type H3LocatorStats } from './h3cell.js';
import { CellTables } from './cells.js';
import type { FenceKind } from './fence.js';
import { circleContains, nearestSegmentFlat, polygonContainsFast, rectangleContains } from './flat.js';
import { FenceSlots } from './slots.js';
import { CrossingGrid } from './segment.js';
import { chinaClock } from './time.js';
import type { LocateMemo } from './memo.js';

export * from './fence.js';
export { fenceFromGeoJSON, fencesFromGeoJSON, fenceToGeoJSON, fencesToGeoJSON } from './geojson.js';
export { CompiledFence, exactHit, locateExact, type FenceHit } from './exact.js';
export { LOCATE_RES, LARGE_BOUNDARY_RES, MIN_RES } from './cover.js';
export { LocateMemo } from './memo.js';

/**
 * Postings. Each fence in a cell has a header word, (slot << 6) | shape << 4 | flags, then:
 * SEGS: the count and the corridor segments that can be nearest there; FIXED: the one segment
 * of an inside corridor cell.
 */
const INTERIOR = 1, SEGS = 2, FIXED = 4, WINDOWS = 8;
const CIRCLE = 0, RECTANGLE = 1, POLYGON = 2, CORRIDOR = 3;
const SHAPE_CODE = { circle: CIRCLE, rectangle: RECTANGLE, polygon: POLYGON, corridor: CORRIDOR } as const;
/** A point query's answer for one posting: not holding, holding (no segment), or a corridor's segment (≥ 0). */
const OUTSIDE = -2, WHOLE = -1;

interface Entry {
  readonly cf: CompiledFence;
  readonly slot: number;
  /** The cover, key · 16 + resolution per cell (to remove the fence without covering it again). */
  readonly cover: Float64Array;
  readonly interiorCells: number;
}

export interface FenceIndexStats {
  fences: number;
  /** Cover cells over all fences (a cell shared by two fences counts twice). */
  cells: number;
  interiorCells: number;
  boundaryCells: number;
  /** Cover cells per resolution. */
  cellsByRes: Record<number, number>;
  /** Distinct cells in the tables. */
  distinctCells: number;
  /** Bytes of the typed arrays: cell tables and postings, geometry pool. */
  tableBytes: number;
  /** How the position → cell step was answered (see h3cell.ts). */
  locator: H3LocatorStats;
}

const UNITS_FINE = 8 ** LOCATE_RES;

/** The kinds `crossedBy` answers for unless the index is told otherwise. */
export const DEFAULT_CROSSING_KINDS: readonly FenceKind[] = ['forbidden', 'area'];

export class FenceIndex {
  private readonly locator = new H3PointLocator(LOCATE_RES);
  private readonly cells = new CellTables(MIN_RES, LOCATE_RES);
  private readonly slots = new FenceSlots();
  private readonly entries = new Map<string, Entry>();
  /** Fence boundaries on a coarse lon/lat grid, for segment queries (segment.ts); not used by locate. */
  private readonly crossings = new CrossingGrid();
  private readonly endHits: FenceHit[] = [];
  /** The position's unit vector during a point query. */
  private readonly unit = new Float64Array(3);
  /** The position's block per active resolution during a point query. */
  private readonly blocks = new Int32Array(LOCATE_RES + 1);
  /** Each block's posting words (its length), read with the probes. */
  private readonly used = new Int32Array(LOCATE_RES + 1);
  /** Bumped by every add and removal: a LocateMemo of another version is stale. */
  private version = 0;
  private heldSlots = new Int32Array(16);
  private readonly cellsPerRes = new Int32Array(LOCATE_RES + 1);
  /** Resolutions that hold cells, finest first. */
  private activeRes: number[] = [];

  private readonly crossable: ReadonlySet<FenceKind>;

  /**
   * `crossingKinds`: the kinds `crossedBy` answers for (only they are put on its grid). By
   * default forbidden places and areas: passing through one between two fixes is news, while a
   * depot, a road corridor or a jurisdiction crossed between fixes is not (a jurisdiction is
   * never crossed whole between two fixes; a road corridor is crossed at every junction).
   */
  constructor(fences: Iterable<Fence> = [], opts: { crossingKinds?: readonly FenceKind[] } = {}) {
    this.crossable = new Set(opts.crossingKinds ?? DEFAULT_CROSSING_KINDS);
    this.addAll(fences);
  }

  /** Whether `crossedBy` answers for fences of this kind. */
  crosses(kind: FenceKind): boolean {
    return this.crossable.has(kind);
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): Fence | undefined {
    return this.entries.get(id)?.cf.fence;
  }

  /** Whether a fence with this id is in the index (cheaper than `get`: no objects followed). */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  *fences(): IterableIterator<Fence> {
    for (const e of this.entries.values()) yield e.cf.fence;
  }

  /** Adds a fence; throws FenceError when it is invalid or its id is taken. */
  add(fence: Fence): void {
    this.addAll([fence]);
  }

  /**
   * Adds fences (faster than one by one: covers share cell geometry). Throws FenceError at the
   * first invalid fence or taken id; the fences before it stay added.
   */
  addAll(fences: Iterable<Fence>): void {
    const cache = new CellGeometryCache();
    let added = 0;
    try {
      for (const fence of fences) {
        if (this.entries.has(fence.id)) throw new FenceError(FenceErrorCode.BAD_FENCE, 'a fence with this id is already in the index', fence.id);
        this.insert(new CompiledFence(assertValidFence(fence)), cache);
        added++;
      }
    } finally {
      if (added > 100) { this.cells.trim(); this.crossings.trim(); } // a bulk load: drop the growth slack
    }
  }

  /** Adds the fence or replaces the one with its id; an invalid fence throws and leaves the index as it was. */
  replace(fence: Fence): void {
    const cf = new CompiledFence(assertValidFence(fence));
    this.remove(fence.id);
    this.insert(cf);
  }

  /** Removes a fence; false when there is none with that id. */
  remove(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    const ours = (header: number) => header >>> 6 === e.slot;
    const length = (at: number) => postingLength(this.cells.post, at);
    for (const c of e.cover) {
      const res = c % 16;
      this.cells.remove(res, (c - res) / 16, ours, length);
      this.cellsPerRes[res]!--;
    }
    this.crossings.remove(e.slot);
    this.slots.remove(e.slot);
    this.entries.delete(id);
    this.version++;
    this.updateActive();
    return true;
  }

  /** The fences holding (lon, lat); with `atMs` (epoch ms) only those whose time windows are active then. Unordered. */
  locate(lon: number, lat: number, atMs?: number): FenceHit[] {
    const out: FenceHit[] = [];
    this.locateInto(lon, lat, out, atMs);
    return out;
  }

  /** As locate, into `out` (emptied first) to spare an allocation per position; returns the count. */
  locateInto(lon: number, lat: number, out: FenceHit[], atMs?: number): number {
    return this.search(lon, lat, out, atMs === undefined ? -1 : chinaClock(atMs), null);
  }

  /**
   * As locateInto, remembering in `memo` which fences hold the position before time windows
   * are applied: asked again for the same position (a parked vehicle's next fix) with the index
   * unchanged, it answers from the memo, windows applied at the new time, without the cell
   * lookup and the geometry. The answer (hits and their order) is locateInto's.
   */
  locateMemo(lon: number, lat: number, out: FenceHit[], atMs: number | undefined, memo: LocateMemo): number {
    const clock = atMs === undefined ? -1 : chinaClock(atMs);
    if (memo.lon !== lon || memo.lat !== lat || memo.version !== this.version) {
      memo.n = 0;
      memo.version = -1; // invalid until the search is complete
      this.search(lon, lat, out, clock, memo);
      memo.lon = lon; memo.lat = lat; memo.version = this.version;
      return out.length;
    }
    return memo.replay(this.slots, clock, out);
  }

  /**
   * The point query. `out` is overwritten in place and cut to length at the end (emptying it
   * first would drop its backing store and make every query allocate a new one). With a memo,
   * fences outside their time windows are tested too, and every fence holding the position is
   * recorded there, (slot << 1) | windowed and the corridor segment (−1: none).
   */
  private search(lon: number, lat: number, out: FenceHit[], clock: number, memo: LocateMemo | null): number {
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
      out.length = 0;
      return 0;
    }
    const key = this.locator.cellOf(lat, lon);
    const base = Math.floor(key / UNITS_FINE), fine = key - base * UNITS_FINE;
    const active = this.activeRes, cells = this.cells, P = cells.post, S = this.slots, pool = S.pool, off = S.poolOff, pt = this.unit;
    let unitReady = false; // the position's unit vector, computed for the first corridor
    let n = 0;
    // Every resolution's table first, then the postings: the probes (cache misses in the large
    // tables) do not wait on one another, nor the reads of each block's length (the block's
    // first line: another miss) on the postings of the blocks before.
    const blocks = this.blocks, used = this.used;
    for (let a = 0; a < active.length; a++) {
      const res = active[a]!, block = cells.find(res, base, fine >>> (3 * (LOCATE_RES - res)));
      blocks[a] = block;
      used[a] = block < 0 ? 0 : P[block + 1]!;
    }
    for (let a = 0; a < active.length; a++) {
      const block = blocks[a]!;
      if (block < 0) continue;
      for (let p = block + 2, end = block + 2 + used[a]!; p < end; ) {
        const w = P[p]!, slot = w >>> 6, len = postingLength(P, p);
        const timed = (w & WINDOWS) !== 0, idle = timed && clock >= 0 && !S.fences[slot]!.activeAt(clock);
        if (idle && memo === null) { p += len; continue; }
        const inside = (w & INTERIOR) !== 0;
        let seg = OUTSIDE;
        switch ((w >>> 4) & 3) {
          case CIRCLE:
            if (inside || circleContains(pool, off[slot]!, lon, lat)) seg = WHOLE;
            break;
          case RECTANGLE:
            if (inside || rectangleContains(pool, off[slot]!, lon, lat)) seg = WHOLE;
            break;
          case POLYGON: {
            const f = inside ? 1 : polygonContainsFast(pool, off[slot]!, lon, lat);
            if (f === 1 || (f < 0 && S.fences[slot]!.polygonContainsByTurf(lon, lat))) seg = WHOLE;
            break;
          }
          default: {
            if ((w & FIXED) !== 0) {
              seg = P[p + 1]!;
            } else {
              if (!unitReady) {
                const la = lat * DEG, lo = lon * DEG, cl = Math.cos(la);
                pt[0] = cl * Math.cos(lo); pt[1] = cl * Math.sin(lo); pt[2] = Math.sin(la);
                unitReady = true;
              }
              seg = nearestSegmentFlat(pool, off[slot]!, pt, P, p + 2, P[p + 1]!, inside);
              if (seg <= -2) seg = S.fences[slot]!.settle(seg, lon, lat);
            }
            if (seg < 0) seg = OUTSIDE;
          }
        }
        p += len;
        if (seg === OUTSIDE) continue;
        if (memo !== null) memo.record(timed ? (slot << 1) | 1 : slot << 1, seg);
        if (idle) continue;
        const hit = seg === WHOLE ? S.hits[slot]! : S.segmentHits[S.segmentHitBase[slot]! + seg] ?? S.fences[slot]!.segmentHit(seg, clock >= 0 ? clock : undefined);
        if (n < out.length) out[n] = hit; else out.push(hit);
        n++;
      }
    }
    if (out.length !== n) out.length = n;
    return n;
  }

  /**
   * The fences (of the crossing kinds, see the constructor) the straight segment (lon1, lat1) → (lon2, lat2) passes through (touching counts,
   * as a boundary position is inside), into `out` (emptied first); returns the count. With `atMs`
   * only fences whose time windows are active then. Each fence appears once, as its fence-level
   * hit (`segment` undefined for corridors). Exact per shape (segment.ts): circles by haversine
   * distance from the centre, polygons and rectangles (holes, MultiPolygons) by their edges in
   * lon/lat, corridors by great-circle distance ≤ widthM / 2.
   *
   * `holding` (ids, unknown ones ignored) asks for the fences the segment passes through while
   * holding neither end — the geofence rule's "crossed between two fixes": fences holding an end
   * may then be left out, and those named are skipped without a test. The caller knows them from
   * `locateInto` of the two fixes; every fence holding neither end is still in.
   */
  crossedBy(lon1: number, lat1: number, lon2: number, lat2: number, atMs: number | undefined, out: FenceHit[], holding?: readonly string[]): number {
    const grid = this.crossings, clock = atMs === undefined ? -1 : chinaClock(atMs), S = this.slots;
    let held = 0;
    if (holding) {
      if (this.heldSlots.length < holding.length) this.heldSlots = new Int32Array(holding.length * 2);
      for (let i = 0; i < holding.length; i++) {
        const e = this.entries.get(holding[i]!);
        if (e) this.heldSlots[held++] = e.slot;
      }
    }
    const n = grid.query(lon1, lat1, lon2, lat2, holding !== undefined, this.heldSlots, held);
    let count = 0; // written in place (emptying `out` first would drop its backing store)
    for (let i = 0; i < n; i++) {
      const slot = grid.found[i]!;
      if (clock >= 0 && !S.fences[slot]!.activeAt(clock)) continue;
      if (count < out.length) out[count] = S.hits[slot]!; else out.push(S.hits[slot]!);
      count++;
    }
    if (out.length !== count) out.length = count;
    if (holding) return count;
    // a fence holding the whole segment without meeting its boundary holds its start
    const ends = this.endHits;
    this.locateInto(lon1, lat1, ends, atMs);
    for (const h of ends) {
      if (!this.crossable.has(h.fence.kind)) continue;
      const slot = this.entries.get(h.fence.id)!.slot;
      let found = false;
      for (let i = 0; i < n && !found; i++) found = grid.found[i] === slot;
      if (!found) out.push(S.hits[slot]!);
    }
    ends.length = 0;
    return out.length;
  }

  stats(): FenceIndexStats {
    let cells = 0, interiorCells = 0;
    const cellsByRes: Record<number, number> = {};
    for (const e of this.entries.values()) { cells += e.cover.length; interiorCells += e.interiorCells; }
    for (let r = MIN_RES; r <= LOCATE_RES; r++) if (this.cellsPerRes[r]! > 0) cellsByRes[r] = this.cellsPerRes[r]!;
    return {
      fences: this.entries.size, cells, interiorCells, boundaryCells: cells - interiorCells, cellsByRes,
      distinctCells: this.cells.sizes().reduce((a, b) => a + b, 0), tableBytes: this.cells.bytes() + this.slots.bytes(),
      locator: { ...this.locator.stats },
    };
  }

  private insert(cf: CompiledFence, cache?: CellGeometryCache): void {
    const slot = this.slots.add(cf);
    const cover = coverFence(cf, cache);
    const header = (slot << 6) | (SHAPE_CODE[cf.shape] << 4) | (cf.windows ? WINDOWS : 0);
    const keys = new Float64Array(cover.length);
    let interiorCells = 0;
    for (const [i, c] of cover.entries()) {
      let words: number[];
      if (c.segs === null) words = [header | (c.interior ? INTERIOR : 0)];
      else if (c.interior && c.segs.length === 1) words = [header | INTERIOR | FIXED, c.segs[0]!];
      else words = [header | (c.interior ? INTERIOR : 0) | SEGS, c.segs.length, ...c.segs];
      this.cells.append(c.res, c.key, words);
      this.cellsPerRes[c.res]!++;
      keys[i] = c.key * 16 + c.res;
      if (c.interior) interiorCells++;
    }
    this.entries.set(cf.fence.id, { cf, slot, cover: keys, interiorCells });
    this.version++;
    if (this.crossable.has(cf.fence.kind)) this.crossings.add(slot, cf);
    this.updateActive();
  }

  private updateActive(): void {
    const active: number[] = [];
    for (let r = LOCATE_RES; r >= MIN_RES; r--) if (this.cellsPerRes[r]! > 0) active.push(r);
    this.activeRes = active;
  }
}

const DEG = Math.PI / 180;

function postingLength(P: Int32Array, at: number): number {
  const w = P[at]!;
  return (w & SEGS) !== 0 ? 2 + P[at + 1]! : (w & FIXED) !== 0 ? 2 : 1;
}
