/**
 * Which fences a straight segment between two fixes passes through: the geofence rule's
 * "crossed between two fixes" (a small fence a vehicle drove through between two 30-s reports).
 *
 * Every fence is cut into parts whose union holds its boundary (polygons and rectangles: their
 * edges; corridors: their segments, each with the half width round it; circles: the disk), and
 * each part is registered in the cells of a coarse lon/lat grid (CELL_DEG, each split into
 * SUB × SUB sub-cells) that it can reach, with its geometry copied into the cell's arrays. A
 * query reads the one to four cells along the segment: per registration first the sub-cell mask,
 * a float32 copy of the bbox and the fence's slot (a part out of reach, or of a fence already
 * decided, costs three small array reads), then its record, a cheap planar rejection, and only
 * then the exact test. A fence
 * holding neither end of the segment is passed through exactly when the segment meets one of its
 * parts. The grid lives beside the H3 cover the point queries use: `locateInto` is unchanged.
 *
 * Cost (bench: the 10,000 Jinan fences of which ≈ 3,500 of the crossing kinds, segments of
 * 0–300 m): mostly one cell, ≈ 50 registrations in the urban box; ≈ 0.75 µs a query, bound by
 * memory reads (Map → cell → its arrays: a chain of cache misses). Memory ≈ 86 bytes per
 * (part, cell) registration, ≈ 5 registrations per fence there (15 per fence of those kinds).
 *
 * Geometry per part, boundary counting as inside (as in the point tests):
 *   polygon/rectangle edge  the segment touches the edge (planar in lon/lat, as turf's
 *                           point-in-polygon draws the edges)
 *   circle                  the haversine distance from the centre to a point of the segment
 *                           (straight in lon/lat) is ≤ radiusM
 *   corridor segment        great-circle distance between the corridor segment and the query
 *                           segment (taken as a great-circle arc) ≤ widthM / 2; the arc and the
 *                           straight lon/lat line part by < 0.1 m over 2 km, < 6 m over 20 km
 * Not handled (as for the fences themselves): segments crossing the antimeridian.
 */
import type { CompiledFence } from './exact.js';
import { EARTH_RADIUS_M, haversineM, M_PER_DEG } from './sphere.js';

/** Grid cell size, degrees (≈ 1.1 km × 0.9 km at 36° N). */
const CELL_DEG = 0.01;
const PER_DEG = 1 / CELL_DEG;
/** Half a cell's diagonal, degrees: a cell meets a (thick) line when its centre is this close. */
const HALF_DIAG = (CELL_DEG * Math.SQRT2) / 2 + 1e-9;
/** Each cell is split SUB × SUB; a registration carries the bit mask of the sub-cells its part reaches. */
const SUB = 4;
const SUB_DEG = CELL_DEG / SUB;
const SUB_HALF_DIAG = (SUB_DEG * Math.SQRT2) / 2 + 1e-9;
/** Above this many grid cells in its bbox (a segment of ≈ 50 km) a query tests every registered part instead. */
const MAX_QUERY_CELLS = 2500;
/** A part whose widened bbox spans more cells (a circle of ≈ 50 km radius, a 100-km edge) is tested by every query. */
const MAX_PART_CELLS = 10_000;
const DEG = Math.PI / 180;

/** Answers of a part test. */
const MISSED = 0, MET = 1, HOLDS_END = 2;
/** Part kinds (in the record's `kind` slot; a corridor segment has its arc block's offset there). */
const EDGE = -1, CIRCLE = -2;
/**
 * Numbers per registration in a cell: the ends a and b (lon, lat; a circle's centre twice), the
 * reach in degrees (bbox widening), the reach in metres (radius; half width plus the arc's
 * bulge), the kind (EDGE, CIRCLE, or a corridor segment's arc block offset ≥ 0), and for a
 * corridor segment the half width less the bulge (closer than that to the lon/lat segment is
 * inside the corridor).
 */
const STRIDE = 8;
const ARC = 11;
/**
 * Within this many degrees of latitude of the query's start, distances in the equirectangular
 * plane at its latitude are within 2 % of the great-circle ones (below 60° N), so a part farther
 * than its reach × PLANAR_SLACK there is rejected without the exact test.
 */
const PLANAR_SPAN_DEG = 0.5;
const PLANAR_SLACK = 1.05;

const cellKey = (ix: number, iy: number): number => (ix + 18_001) * 18_003 + (iy + 9_001);
const cellOf = (deg: number): number => Math.floor(deg * PER_DEG);

/** Degrees of longitude that `m` metres can span at latitudes up to |lat| ≤ maxAbsLat (≥ the latitude degrees). */
function reachDeg(m: number, maxAbsLat: number): number {
  if (m <= 0) return 0;
  const latDeg = m / M_PER_DEG, cos = Math.cos(Math.min(90, maxAbsLat + latDeg) * DEG);
  return cos > 1e-6 ? Math.min(360, latDeg / cos) * (1 + 1e-9) + 1e-12 : 360;
}

/**
 * The registrations of one cell: STRIDE numbers each in `d`; in `m` the mask of the sub-cells
 * each reaches, in `s` its fence's slot and in `b` its widened bbox (min x, min y, max x, max y
 * as float32, rounded outward) — what a query reads first (22 bytes a registration instead of
 * 70: a part out of reach, or of a fence already decided, costs no more; the 64-byte record is
 * read only for a part whose box meets the query's).
 */
class CellParts {
  n = 0;
  d = new Float64Array(STRIDE * 2);
  m = new Uint16Array(2);
  s = new Int32Array(2);
  b = new Float32Array(4 * 2);

  push(rec: Float64Array, mask: number, slot: number): void {
    if (this.n === this.m.length) {
      this.d = growFloat(this.d, this.d.length * 2);
      const m = new Uint16Array(this.m.length * 2);
      m.set(this.m);
      this.m = m;
      this.s = growInt(this.s, this.m.length, 0);
      const b = new Float32Array(this.b.length * 2);
      b.set(this.b);
      this.b = b;
    }
    this.m[this.n] = mask;
    this.s[this.n] = slot;
    const ax = rec[0]!, ay = rec[1]!, bx = rec[2]!, by = rec[3]!, r = rec[4]!, q = this.n * 4;
    this.b[q] = f32Down((ax < bx ? ax : bx) - r); this.b[q + 1] = f32Down((ay < by ? ay : by) - r);
    this.b[q + 2] = f32Up((ax > bx ? ax : bx) + r); this.b[q + 3] = f32Up((ay > by ? ay : by) + r);
    this.d.set(rec, this.n++ * STRIDE);
  }

  /** Removes the registrations of a fence, in place, adding its arc blocks to `arcs`. */
  drop(slot: number, arcs: Set<number>): void {
    const d = this.d, m = this.m, s = this.s, b = this.b;
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      if (s[r] === slot) {
        if (d[r * STRIDE + 6]! >= 0) arcs.add(d[r * STRIDE + 6]!);
        continue;
      }
      if (w !== r) { d.copyWithin(w * STRIDE, r * STRIDE, (r + 1) * STRIDE); b.copyWithin(w * 4, r * 4, r * 4 + 4); m[w] = m[r]!; s[w] = s[r]!; }
      w++;
    }
    this.n = w;
    if (this.m.length > 4 && this.n * 4 < this.m.length) this.resize(Math.max(2, this.n * 2));
  }

  resize(size: number): void {
    this.d = this.d.slice(0, size * STRIDE);
    this.m = this.m.slice(0, size);
    this.s = this.s.slice(0, size);
    this.b = this.b.slice(0, size * 4);
  }
}

/** The greatest float32 ≤ v (v finite, well within the float32 range). */
function f32Down(v: number): number {
  let f = Math.fround(v);
  for (let e = Math.abs(v) * 1.2e-7 + 1e-40; f > v; e *= 2) f = Math.fround(v - e);
  return f;
}
/** The least float32 ≥ v. */
function f32Up(v: number): number {
  return -f32Down(-v);
}

/**
 * The crossing grid of a FenceIndex: fences are added and removed by their slot in the index,
 * and a query answers slots. Everything a query reads is here (no fence objects).
 */
export class CrossingGrid {
  private readonly cells = new Map<number, CellParts>();
  /** Parts whose reach spans more than MAX_PART_CELLS cells: tested by every query. */
  private readonly wide = new CellParts();
  /** Per slot: the cells its parts are registered in (to remove them). */
  private readonly cellsOf: (Int32Array | undefined)[] = [];
  /**
   * Corridor segments' arcs, ARC numbers each (A, B, unit normal, sin θ, squared chord of θ;
   * θ = half width / earth radius), so the exact test reads one small block, not the fence.
   */
  private arcs = new Float64Array(ARC * 256);
  private arcTop = 0;
  private readonly freeArcs: number[] = [];
  /** Per slot: the stamp of the last query that decided it (met, or holding an end). */
  private seen = new Int32Array(1024);
  private stamp = 0;
  /** The slots the last query found: found[0 … count). */
  found = new Int32Array(64);
  count = 0;
  // the query segment, set by `query` for the part tests
  private x1 = 0; private y1 = 0; private x2 = 0; private y2 = 0;
  private minX = 0; private minY = 0; private maxX = 0; private maxY = 0;
  /** Unit vectors of the ends and the normal of their great circle (computed for the first corridor). */
  private px = 0; private py = 0; private pz = 0; private qx = 0; private qy = 0; private qz = 0;
  private nx = 0; private ny = 0; private nz = 0; private arcReady = false;
  private skipHolders = false;
  /** The equirectangular plane at the query's start: cos(lat) and the end relative to the start (computed for the first corridor). */
  private k = 0; private ex = 0; private ey = 0; private len = 0; private ux = 1; private uy = 0; private planeReady = false;

  add(slot: number, cf: CompiledFence): void {
    const keys = new Set<number>(), rec = new Float64Array(STRIDE);
    const theta = cf.reachM / EARTH_RADIUS_M;
    forEachPart(cf, (part, x1, y1, x2, y2, reachM, marginM) => {
      const r = reachDeg(reachM + marginM, Math.max(Math.abs(y1), Math.abs(y2)));
      const kind = cf.shape === 'circle' ? CIRCLE : cf.shape === 'corridor' ? this.newArc(cf.flat, 2 + part * 9, theta) : EDGE;
      rec.set([x1, y1, x2, y2, r, reachM + marginM, kind, reachM - marginM]);
      const b = cellRange(x1, y1, x2, y2, r);
      if ((b[1] - b[0] + 1) * (b[3] - b[2] + 1) > MAX_PART_CELLS) { this.wide.push(rec, 0xffff, slot); return; }
      forEachCellNear(x1, y1, x2, y2, r, b, (key, mask) => {
        let list = this.cells.get(key);
        if (!list) this.cells.set(key, (list = new CellParts()));
        list.push(rec, mask, slot);
        keys.add(key);
      });
    });
    this.cellsOf[slot] = Int32Array.from(keys);
    if (slot >= this.seen.length) {
      const bigger = new Int32Array(Math.max(this.seen.length * 2, slot + 1));
      bigger.set(this.seen);
      this.seen = bigger;
    }
  }

  remove(slot: number): void {
    const keys = this.cellsOf[slot];
    if (!keys) return;
    const arcs = new Set<number>(); // a corridor segment's block, from any of its registrations
    for (const key of keys) {
      const list = this.cells.get(key)!;
      list.drop(slot, arcs);
      if (list.n === 0) this.cells.delete(key);
    }
    this.wide.drop(slot, arcs);
    for (const arc of arcs) this.freeArcs.push(arc);
    this.cellsOf[slot] = undefined;
    this.seen[slot] = 0;
  }

  /** Drops the growth slack of every array (after a bulk load). */
  trim(): void {
    for (const list of this.cells.values()) if (list.m.length > list.n) list.resize(Math.max(1, list.n));
    if (this.arcs.length > this.arcTop) this.arcs = this.arcs.slice(0, Math.max(ARC, this.arcTop));
  }

  /** Distinct cells and (part, cell) registrations. */
  sizes(): { cells: number; registrations: number } {
    let registrations = this.wide.n;
    for (const l of this.cells.values()) registrations += l.n;
    return { cells: this.cells.size, registrations };
  }

  /**
   * The slots of the fences the segment meets, in `found[0 … count)`; returns the count.
   * Allocates nothing (the buffer grows when needed). Not found: a polygon or corridor holding
   * the whole segment without its boundary coming near it. With `skipHolders`, circles and
   * corridors holding an end of the segment may be left out too (cheaper for the caller that
   * knows them already). `held[0 … heldCount)`: slots of fences known to hold an end, left out
   * without a test (skipHolders).
   */
  query(lon1: number, lat1: number, lon2: number, lat2: number, skipHolders: boolean, held: Int32Array | null = null, heldCount = 0): number {
    this.count = 0;
    this.skipHolders = skipHolders;
    if (!(Math.abs(lat1) <= 90 && Math.abs(lat2) <= 90 && Math.abs(lon1) <= 180 && Math.abs(lon2) <= 180)) return 0;
    this.x1 = lon1; this.y1 = lat1; this.x2 = lon2; this.y2 = lat2;
    this.minX = Math.min(lon1, lon2); this.maxX = Math.max(lon1, lon2);
    this.minY = Math.min(lat1, lat2); this.maxY = Math.max(lat1, lat2);
    this.arcReady = false;
    this.planeReady = false;
    const stamp = this.nextStamp();
    for (let i = 0; i < heldCount; i++) this.seen[held![i]!] = stamp; // decided already: left out
    if (this.wide.n > 0) this.scan(this.wide, 0xffff, stamp);
    const ix0 = cellOf(this.minX), ix1 = cellOf(this.maxX), iy0 = cellOf(this.minY), iy1 = cellOf(this.maxY);
    const cellCount = (ix1 - ix0 + 1) * (iy1 - iy0 + 1);
    if (cellCount > MAX_QUERY_CELLS) { // a long segment: every cell
      for (const list of this.cells.values()) this.scan(list, 0xffff, stamp);
      return this.count;
    }
    for (let ix = ix0; ix <= ix1; ix++) {
      for (let iy = iy0; iy <= iy1; iy++) {
        const list = this.cells.get(cellKey(ix, iy));
        if (!list) continue;
        const mask = subCellMask(ix, iy, lon1, lat1, lon2, lat2, 0); // the sub-cells next to the segment
        if (mask !== 0) this.scan(list, mask, stamp);
      }
    }
    return this.count;
  }

  /** Tests the registrations of one cell whose widened bbox meets the query's. */
  private scan(list: CellParts, mask: number, stamp: number): void {
    const d = list.d, m = list.m, sl = list.s, bb = list.b, n = list.n, seen = this.seen, minX = this.minX, minY = this.minY, maxX = this.maxX, maxY = this.maxY;
    for (let i = 0; i < n; i++) {
      if ((m[i]! & mask) === 0) continue;
      const q = i * 4;
      if (bb[q]! > maxX || bb[q + 1]! > maxY || bb[q + 2]! < minX || bb[q + 3]! < minY) continue; // the float32 box: out of reach
      const slot = sl[i]!;
      if (seen[slot] === stamp) continue;
      const o = i * STRIDE;
      const ax = d[o]!, ay = d[o + 1]!, bx = d[o + 2]!, by = d[o + 3]!, r = d[o + 4]!;
      if ((ax < bx ? ax : bx) - r > maxX || (ay < by ? ay : by) - r > maxY || (ax > bx ? ax : bx) + r < minX || (ay > by ? ay : by) + r < minY) continue;
      const kind = d[o + 6]!;
      const met = kind === EDGE ? (this.edgeMet(ax, ay, bx, by) ? MET : MISSED)
        : kind === CIRCLE ? this.circleMet(ax, ay, d[o + 5]!)
          : this.corridorPartMet(ax, ay, bx, by, d[o + 5]!, d[o + 7]!, kind);
      if (met === MISSED) continue;
      seen[slot] = stamp; // decided: met, or holding an end of the segment (left out)
      if (met === HOLDS_END) continue;
      if (this.count === this.found.length) {
        const bigger = new Int32Array(this.found.length * 2);
        bigger.set(this.found);
        this.found = bigger;
      }
      this.found[this.count++] = slot;
    }
  }

  /** An arc block: the segment's arc from a corridor's flat geometry at `at`, and θ. */
  private newArc(flat: Float64Array, at: number, theta: number): number {
    let o = this.freeArcs.pop();
    if (o === undefined) {
      o = this.arcTop;
      this.arcTop += ARC;
      if (this.arcTop > this.arcs.length) this.arcs = growFloat(this.arcs, this.arcs.length * 2);
    }
    this.arcs.set(flat.subarray(at, at + 9), o);
    this.arcs[o + 9] = Math.sin(theta);
    this.arcs[o + 10] = 2 * (1 - Math.cos(theta));
    return o;
  }

  private nextStamp(): number {
    if (++this.stamp > 0x3fffffff) { this.seen.fill(0); this.stamp = 1; }
    return this.stamp;
  }

  /** The segment touches edge a–b (planar in lon/lat; touching counts). */
  private edgeMet(ax: number, ay: number, bx: number, by: number): boolean {
    const x1 = this.x1, y1 = this.y1, x2 = this.x2, y2 = this.y2;
    const d1 = orient(ax, ay, bx, by, x1, y1), d2 = orient(ax, ay, bx, by, x2, y2);
    const d3 = orient(x1, y1, x2, y2, ax, ay), d4 = orient(x1, y1, x2, y2, bx, by);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
    // touching or collinear: an end lying on the other segment
    return (d1 === 0 && within(ax, ay, bx, by, x1, y1)) || (d2 === 0 && within(ax, ay, bx, by, x2, y2))
      || (d3 === 0 && within(x1, y1, x2, y2, ax, ay)) || (d4 === 0 && within(x1, y1, x2, y2, bx, by));
  }

  /** Some point of the (lon/lat straight) segment is within radiusM of the centre (haversine): MET, MISSED or HOLDS_END. */
  private circleMet(cx: number, cy: number, radiusM: number): number {
    const x1 = this.x1, y1 = this.y1, dx = this.x2 - x1, dy = this.y2 - y1;
    // the nearest point in the equirectangular plane at the centre's latitude …
    const k = Math.cos(cy * DEG), ux = dx * k, len2 = ux * ux + dy * dy;
    let t = len2 > 0 ? -((x1 - cx) * k * ux + (y1 - cy) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (Math.max(Math.abs(y1 - cy), Math.abs(this.y2 - cy)) < PLANAR_SPAN_DEG) { // clearly outside there: no haversine
      const ex = (x1 + t * dx - cx) * k, ey = y1 + t * dy - cy, far = (radiusM * PLANAR_SLACK + 1) / M_PER_DEG;
      if (ex * ex + ey * ey > far * far) return MISSED;
    }
    if (this.skipHolders) {
      if (Math.max(Math.abs(y1 - cy), Math.abs(this.y2 - cy)) < PLANAR_SPAN_DEG) { // clearly inside there: no haversine
        const near = Math.max(0, radiusM / PLANAR_SLACK - 1) / M_PER_DEG, ax = (x1 - cx) * k, ay = y1 - cy, bx = (this.x2 - cx) * k, by = this.y2 - cy;
        if (ax * ax + ay * ay < near * near || bx * bx + by * by < near * near) return HOLDS_END;
      }
      if (haversineM(cx, cy, x1, y1) <= radiusM || haversineM(cx, cy, this.x2, this.y2) <= radiusM) return HOLDS_END;
    }
    const d0 = haversineM(cx, cy, x1 + t * dx, y1 + t * dy);
    if (d0 <= radiusM) return MET;
    if (d0 > radiusM * 1.01 + 1) return MISSED;
    // … is within rounding of the rim: find the haversine minimum itself (unimodal along the segment)
    let lo = 0, hi = 1;
    for (let i = 0; i < 60 && hi - lo > 1e-12; i++) {
      const a = lo + (hi - lo) / 3, b = hi - (hi - lo) / 3;
      if (haversineM(cx, cy, x1 + a * dx, y1 + a * dy) <= haversineM(cx, cy, x1 + b * dx, y1 + b * dy)) hi = b; else lo = a;
    }
    const m = (lo + hi) / 2;
    return haversineM(cx, cy, x1 + m * dx, y1 + m * dy) <= radiusM ? MET : MISSED;
  }

  /**
   * A corridor segment a–b: rejected when clearly farther than `limitM` (half width + bulge) in
   * the local plane, else the exact test on the fence's arcs.
   */
  private corridorPartMet(ax: number, ay: number, bx: number, by: number, limitM: number, innerM: number, arc: number): number {
    const y0 = this.y1;
    if (Math.max(Math.abs(ay - y0), Math.abs(by - y0), Math.abs(this.y2 - y0)) < PLANAR_SPAN_DEG) {
      if (!this.planeReady) this.preparePlane();
      const k = this.k, x0 = this.x1, ux = (ax - x0) * k, uy = ay - y0, vx = (bx - x0) * k, vy = by - y0;
      const far = (limitM * PLANAR_SLACK + 1) / M_PER_DEG;
      // both ends beyond `far` on one side of the query's line, or before its start or past its end
      const dx = this.ux, dy = this.uy, na = dx * uy - dy * ux, nb = dx * vy - dy * vx;
      if ((na > far && nb > far) || (na < -far && nb < -far)) return MISSED;
      const ta = dx * ux + dy * uy, tb = dx * vx + dy * vy, len = this.len;
      if ((ta < -far && tb < -far) || (ta > len + far && tb > len + far)) return MISSED;
      if (segmentDistance2(ux, uy, vx, vy, 0, 0, this.ex, this.ey) > far * far) return MISSED;
      if (this.skipHolders && innerM > 0) { // an end clearly inside: the corridor holds it
        const near = Math.max(0, innerM / PLANAR_SLACK - 1) / M_PER_DEG, near2 = near * near;
        if (pointSegment2(0, 0, ux, uy, vx, vy) < near2 || pointSegment2(this.ex, this.ey, ux, uy, vx, vy) < near2) return HOLDS_END;
      }
    }
    return this.corridorSegmentMet(arc);
  }

  /**
   * Great-circle distance between the corridor segment of arc block `o` and the query arc ≤
   * half the width: MET, MISSED, or HOLDS_END when an end of the query is that close
   * (skipHolders only).
   */
  private corridorSegmentMet(o: number): number {
    if (!this.arcReady) this.prepareArc();
    const D = this.arcs, sinT = D[o + 9]!, chordT = D[o + 10]!;
    const ax = D[o]!, ay = D[o + 1]!, az = D[o + 2]!, bx = D[o + 3]!, by = D[o + 4]!, bz = D[o + 5]!;
    const cx = D[o + 6]!, cy = D[o + 7]!, cz = D[o + 8]!;
    const { px, py, pz, qx, qy, qz, nx, ny, nz } = this;
    if (nearArc(px, py, pz, ax, ay, az, bx, by, bz, cx, cy, cz, sinT, chordT) || nearArc(qx, qy, qz, ax, ay, az, bx, by, bz, cx, cy, cz, sinT, chordT)) {
      return this.skipHolders ? HOLDS_END : MET;
    }
    // the arcs cross: each one's ends on opposite sides of the other's plane (short arcs, same hemisphere)
    const sp = px * cx + py * cy + pz * cz, sq = qx * cx + qy * cy + qz * cz;
    const sa = ax * nx + ay * ny + az * nz, sb = bx * nx + by * ny + bz * nz;
    if (sp * sq <= 0 && sa * sb <= 0 && (cx !== 0 || cy !== 0 || cz !== 0) && (nx !== 0 || ny !== 0 || nz !== 0)
      && px * ax + py * ay + pz * az > 0) return MET;
    return nearArc(ax, ay, az, px, py, pz, qx, qy, qz, nx, ny, nz, sinT, chordT) || nearArc(bx, by, bz, px, py, pz, qx, qy, qz, nx, ny, nz, sinT, chordT) ? MET : MISSED;
  }

  private preparePlane(): void {
    this.k = Math.cos(this.y1 * DEG);
    this.ex = (this.x2 - this.x1) * this.k; this.ey = this.y2 - this.y1;
    this.len = Math.hypot(this.ex, this.ey);
    if (this.len > 0) { this.ux = this.ex / this.len; this.uy = this.ey / this.len; } else { this.ux = 1; this.uy = 0; }
    this.planeReady = true;
  }

  private prepareArc(): void {
    const la1 = this.y1 * DEG, lo1 = this.x1 * DEG, la2 = this.y2 * DEG, lo2 = this.x2 * DEG;
    this.px = Math.cos(la1) * Math.cos(lo1); this.py = Math.cos(la1) * Math.sin(lo1); this.pz = Math.sin(la1);
    this.qx = Math.cos(la2) * Math.cos(lo2); this.qy = Math.cos(la2) * Math.sin(lo2); this.qz = Math.sin(la2);
    let nx = this.py * this.qz - this.pz * this.qy, ny = this.pz * this.qx - this.px * this.qz, nz = this.px * this.qy - this.py * this.qx;
    const n = Math.hypot(nx, ny, nz);
    if (n > 0) { nx /= n; ny /= n; nz /= n; } else { nx = ny = nz = 0; }
    this.nx = nx; this.ny = ny; this.nz = nz;
    this.arcReady = true;
  }
}

/**
 * A bound (metres) on how far the great-circle arc a→b strays from the straight lon/lat segment
 * a–b (≈ L² · tan φ / 8R), with a factor 2 and a metre to spare; the grid is drawn in lon/lat.
 */
function arcBulgeM(x1: number, y1: number, x2: number, y2: number): number {
  const L = Math.hypot(x2 - x1, y2 - y1) * M_PER_DEG, tan = Math.tan(Math.min(89, Math.max(Math.abs(y1), Math.abs(y2))) * DEG);
  return (L * L * (1 + tan)) / (4 * EARTH_RADIUS_M) + 1;
}

/** Squared distance between segments a–b and c–d in the plane (0 when they cross). */
function segmentDistance2(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, dx: number, dy: number): number {
  const d1 = orient(ax, ay, bx, by, cx, cy), d2 = orient(ax, ay, bx, by, dx, dy);
  const d3 = orient(cx, cy, dx, dy, ax, ay), d4 = orient(cx, cy, dx, dy, bx, by);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return 0;
  return Math.min(pointSegment2(ax, ay, cx, cy, dx, dy), pointSegment2(bx, by, cx, cy, dx, dy), pointSegment2(cx, cy, ax, ay, bx, by), pointSegment2(dx, dy, ax, ay, bx, by));
}

function pointSegment2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = ax + t * dx - px, ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

/** Twice the signed area of (a, b, c): > 0 when c is left of a→b. */
const orient = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number => (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
/** c, known to be on the line a–b, lies within the segment's bbox. */
const within = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number): boolean =>
  cx >= Math.min(ax, bx) && cx <= Math.max(ax, bx) && cy >= Math.min(ay, by) && cy <= Math.max(ay, by);

/**
 * Whether unit vector P is within angle θ of arc A→B with unit normal N (zero N: a degenerate
 * arc, its ends only), given sin θ and the squared chord of θ: no trigonometry per test.
 */
function nearArc(
  px: number, py: number, pz: number, ax: number, ay: number, az: number, bx: number, by: number, bz: number,
  nx: number, ny: number, nz: number, sinT: number, chordT: number,
): boolean {
  if (nx !== 0 || ny !== 0 || nz !== 0) {
    const pn = px * nx + py * ny + pz * nz;
    const ix = px - pn * nx, iy = py - pn * ny, iz = pz - pn * nz;
    const afterA = (ay * iz - az * iy) * nx + (az * ix - ax * iz) * ny + (ax * iy - ay * ix) * nz;
    const beforeB = (iy * bz - iz * by) * nx + (iz * bx - ix * bz) * ny + (ix * by - iy * bx) * nz;
    if (afterA >= 0 && beforeB >= 0) return Math.abs(pn) <= sinT; // nearest to an interior point
  }
  const dax = px - ax, day = py - ay, daz = pz - az, dbx = px - bx, dby = py - by, dbz = pz - bz;
  return dax * dax + day * day + daz * daz <= chordT || dbx * dbx + dby * dby + dbz * dbz <= chordT;
}

/**
 * The parts of a fence's boundary: (part, a, b, reachM) — a polygon edge (part = offset of its
 * first vertex in the flat geometry), a rectangle edge (0–3), a corridor segment (its index,
 * reach = half width), or a circle (0, a = b = centre, reach = radius).
 */
function forEachPart(cf: CompiledFence, f: (part: number, x1: number, y1: number, x2: number, y2: number, reachM: number, marginM: number) => void): void {
  const D = cf.flat;
  switch (cf.shape) {
    case 'circle':
      f(0, D[0]!, D[1]!, D[0]!, D[1]!, D[2]!, 0);
      return;
    case 'rectangle': {
      const w = D[0]!, s = D[1]!, e = D[2]!, n = D[3]!;
      f(0, w, s, e, s, 0, 0); f(1, e, s, e, n, 0, 0); f(2, e, n, w, n, 0, 0); f(3, w, n, w, s, 0, 0);
      return;
    }
    case 'polygon': {
      let p = 1;
      for (let part = 0, parts = D[0]!; part < parts; part++) {
        for (let ring = 0, rings = D[p++]!; ring < rings; ring++) {
          const n = D[p++]!, end = p + 2 * n;
          for (let q = p; q + 2 < end; q += 2) f(q, D[q]!, D[q + 1]!, D[q + 2]!, D[q + 3]!, 0, 0);
          p = end;
        }
      }
      return;
    }
    case 'corridor': {
      const line = (cf.fence as { line: number[][] }).line;
      for (let i = 0; i + 1 < line.length; i++) {
        const [x1, y1] = line[i]! as [number, number], [x2, y2] = line[i + 1]! as [number, number];
        f(i, x1, y1, x2, y2, cf.reachM, arcBulgeM(x1, y1, x2, y2));
      }
    }
  }
}

/** [ix0, ix1, iy0, iy1]: the grid cells of segment a–b's bbox widened by r degrees (clamped to the globe). */
function cellRange(x1: number, y1: number, x2: number, y2: number, r: number): [number, number, number, number] {
  return [
    cellOf(Math.max(-180, Math.min(x1, x2) - r)), cellOf(Math.min(180, Math.max(x1, x2) + r)),
    cellOf(Math.max(-90, Math.min(y1, y2) - r)), cellOf(Math.min(90, Math.max(y1, y2) + r)),
  ];
}

/**
 * The cells of `range` that segment a–b widened by r degrees can touch, each with the mask of
 * its sub-cells the widened segment can touch (subCellMask; cells with none are left out).
 */
function forEachCellNear(x1: number, y1: number, x2: number, y2: number, r: number, range: readonly number[], f: (key: number, mask: number) => void): void {
  const [ix0, ix1, iy0, iy1] = range as [number, number, number, number];
  const reach = HALF_DIAG + r;
  for (let ix = ix0; ix <= ix1; ix++) {
    const cx = (ix + 0.5) * CELL_DEG;
    for (let iy = iy0; iy <= iy1; iy++) {
      const cy = (iy + 0.5) * CELL_DEG;
      if (pointSegment2(cx, cy, x1, y1, x2, y2) > reach * reach) continue;
      const mask = subCellMask(ix, iy, x1, y1, x2, y2, r);
      if (mask !== 0) f(cellKey(ix, iy), mask);
    }
  }
}

/**
 * Bit (sx + SUB · sy) for each sub-cell of cell (ix, iy) whose centre lies within half a
 * sub-cell diagonal (+ r) of segment a–b in the lon/lat plane: every point of the segment
 * widened by r that falls in the cell falls in one of those sub-cells.
 */
function subCellMask(ix: number, iy: number, x1: number, y1: number, x2: number, y2: number, r: number): number {
  const reach = SUB_HALF_DIAG + r, reach2 = reach * reach;
  let mask = 0;
  for (let sy = 0; sy < SUB; sy++) {
    const cy = iy * CELL_DEG + (sy + 0.5) * SUB_DEG;
    for (let sx = 0; sx < SUB; sx++) {
      if (pointSegment2(ix * CELL_DEG + (sx + 0.5) * SUB_DEG, cy, x1, y1, x2, y2) <= reach2) mask |= 1 << (sx + SUB * sy);
    }
  }
  return mask;
}

function growFloat(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

function growInt(a: Int32Array, size: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size).fill(fill);
  b.set(a);
  return b;
}
