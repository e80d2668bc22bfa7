/**
 * Exact tests: the answer the index must reproduce. A fence is compiled once (flat geometry,
 * turf features, arcs, windows); `exactHit` then decides a position with turf's point-in-polygon
 * (polygons — replayed on the flat rings wherever turf's own fast path decides, turf itself on
 * and next to an edge; rectangles by their lon/lat bounds, the same planar rule), haversine
 * (circles) and great-circle distance to the corridor's segments (the math of turf's
 * point-to-line distance; turf itself within 1 cm of the corridor's edge). The tests check the
 * replayed answers against turf's. `locateExact` runs every fence: the brute-force
 * reference for tests and the benchmark's baseline.
 */
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import { lineString } from '@turf/helpers';
import { pointToLineDistance } from '@turf/point-to-line-distance';
import type { Fence, FenceShape } from './fence.js';
import { circleContains, flatten, nearestSegmentFlat, polygonContainsFast, rectangleContains } from './flat.js';
import { arc, haversineM, unitVector, type Arc } from './sphere.js';
import { chinaClock, compileWindows, windowsActive, type CompiledWindows } from './time.js';

/** A position inside a fence. */
export interface FenceHit {
  readonly fence: Fence;
  /** Corridors: the segment nearest the position (line[i] → line[i + 1]; lowest index on a tie). */
  readonly segment: number | undefined;
  /** Corridors: the segment's limit when it has one (and, given a time, its windows are active); otherwise the fence's. */
  readonly speedLimitKmh: number | undefined;
}

/** A fence prepared for exact tests and for covering with cells (one hidden class for every shape). */
export class CompiledFence {
  readonly fence: Fence;
  readonly shape: FenceShape;
  /** [minLon, minLat, maxLon, maxLat] of the shape's coordinates (corridor and circle not widened). */
  readonly bbox: [number, number, number, number];
  /** A cap holding the whole fence: centre and radius in metres. */
  readonly capLon: number;
  readonly capLat: number;
  readonly capRadiusM: number;
  readonly windows: CompiledWindows | null;
  /** The hit of a non-corridor fence (shared by every answer). */
  readonly hit: FenceHit;
  /** Circle radius or corridor half width, metres. */
  readonly reachM: number;
  /** Polygons for turf, with the bbox so turf can reject early. */
  readonly polygon: Feature<Polygon | MultiPolygon> | null;
  /** The geometry as flat.ts lays it out. */
  readonly flat: Float64Array;
  /** Corridors: the hit of each segment when its limit applies regardless of time (segment without windows). */
  readonly segmentHits: (FenceHit | null)[];
  readonly segmentWindows: (CompiledWindows | null)[];

  constructor(fence: Fence) {
    this.fence = fence;
    this.shape = fence.shape;
    this.windows = fence.timeWindows && fence.timeWindows.length > 0 ? compileWindows(fence.timeWindows) : null;
    this.hit = { fence, segment: undefined, speedLimitKmh: fence.speedLimitKmh };
    this.polygon = null;
    this.flat = flatten(fence);
    this.segmentHits = [];
    this.segmentWindows = [];
    this.reachM = 0;
    let points: number[][];
    switch (fence.shape) {
      case 'circle':
        points = [fence.center];
        this.reachM = fence.radiusM;
        break;
      case 'rectangle': {
        const [w, s] = fence.sw, [e, n] = fence.ne;
        points = [[w!, s!], [e!, s!], [e!, n!], [w!, n!], [w!, s!]];
        break;
      }
      case 'polygon': {
        const polys = fence.geometry.type === 'Polygon' ? [fence.geometry.coordinates] : fence.geometry.coordinates;
        points = polys.flat(2).map((p) => [p[0]!, p[1]!]);
        this.polygon = { type: 'Feature', properties: {}, geometry: fence.geometry };
        break;
      }
      case 'corridor':
        points = fence.line;
        this.reachM = fence.widthM / 2;
        for (let i = 0; i + 1 < fence.line.length; i++) {
          const w = fence.segments?.[i]?.timeWindows;
          this.segmentWindows.push(w && w.length > 0 ? compileWindows(w) : null);
          const own = fence.segments?.[i]?.speedLimitKmh;
          this.segmentHits.push(w && w.length > 0 && own !== undefined ? null : { fence, segment: i, speedLimitKmh: own ?? fence.speedLimitKmh });
        }
        break;
    }
    const lons = points.map((p) => p[0]!), lats = points.map((p) => p[1]!);
    this.bbox = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
    if (this.polygon) this.polygon.bbox = this.bbox;
    this.capLon = (this.bbox[0] + this.bbox[2]) / 2;
    this.capLat = (this.bbox[1] + this.bbox[3]) / 2;
    let r = 0;
    for (const p of points) r = Math.max(r, haversineM(this.capLon, this.capLat, p[0]!, p[1]!));
    this.capRadiusM = r + this.reachM;
  }

  /** Whether the fence applies at a packed chinaClock value. */
  activeAt(clock: number): boolean {
    return this.windows === null || windowsActive(this.windows, clock);
  }

  /** Exact containment (boundary counts as inside). */
  contains(lon: number, lat: number): boolean {
    switch (this.shape) {
      case 'circle': return circleContains(this.flat, 0, lon, lat);
      case 'rectangle': return rectangleContains(this.flat, 0, lon, lat);
      case 'polygon': {
        const fast = polygonContainsFast(this.flat, 0, lon, lat);
        return fast >= 0 ? fast === 1 : this.polygonContainsByTurf(lon, lat);
      }
      default: return this.nearestSegment(lon, lat, null, 0, 0, false) >= 0;
    }
  }

  /** turf's own point-in-polygon, for positions on or next to an edge. */
  polygonContainsByTurf(lon: number, lat: number): boolean {
    return booleanPointInPolygon([lon, lat], this.polygon!);
  }

  /**
   * The corridor segment nearest the position, or −1 when it is farther than widthM / 2 from
   * the line (see nearestSegmentFlat; `candidates[start … start + count)` may restrict the search,
   * `inside` says the position is known to be in the corridor).
   */
  nearestSegment(lon: number, lat: number, candidates: ArrayLike<number> | null, start: number, count: number, inside: boolean): number {
    return this.settle(nearestSegmentFlat(this.flat, 0, Float64Array.from(unitVector(lon, lat)), candidates, start, count, inside), lon, lat);
  }

  /** A nearestSegmentFlat result with the edge cases (−2 − segment) decided by turf's point-to-line distance. */
  settle(result: number, lon: number, lat: number): number {
    if (result > -2) return result;
    const seg = -2 - result, line = (this.fence as { line: number[][] }).line;
    const a = line[seg]!, b = line[seg + 1]!;
    return pointToLineDistance([lon, lat], lineString([[a[0]!, a[1]!], [b[0]!, b[1]!]]), { units: 'meters' }) <= this.reachM ? seg : -1;
  }

  /** Every ring edge as [lonA, latA, lonB, latB] (polygons and rectangles), for covering. */
  edges(): Float64Array {
    const f = this.fence;
    if (f.shape === 'rectangle') {
      const [w, s] = f.sw, [e, n] = f.ne;
      return Float64Array.of(w!, s!, e!, s!, e!, s!, e!, n!, e!, n!, w!, n!, w!, n!, w!, s!);
    }
    if (f.shape !== 'polygon') return new Float64Array(0);
    const rings = f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates.flat(1);
    const out: number[] = [];
    for (const ring of rings) for (let i = 0; i + 1 < ring.length; i++) out.push(ring[i]![0]!, ring[i]![1]!, ring[i + 1]![0]!, ring[i + 1]![1]!);
    return Float64Array.from(out);
  }

  /** The corridor's segments as great-circle arcs, for covering. */
  arcs(): Arc[] {
    const f = this.fence;
    if (f.shape !== 'corridor') return [];
    return f.line.slice(1).map((b, i) => arc(f.line[i]!, b));
  }

  /** The hit for segment `seg` of a corridor; `clock` (chinaClock) applies segment windows. */
  segmentHit(seg: number, clock: number | undefined): FenceHit {
    const fixed = this.segmentHits[seg];
    if (fixed) return fixed;
    const f = this.fence as Extract<Fence, { shape: 'corridor' }>;
    const own = f.segments?.[seg]?.speedLimitKmh;
    const w = this.segmentWindows[seg];
    const applies = own !== undefined && (clock === undefined || !w || windowsActive(w, clock));
    return { fence: f, segment: seg, speedLimitKmh: applies ? own : f.speedLimitKmh };
  }
}

/** The exact answer for one fence: its hit or null. */
export function exactHit(cf: CompiledFence, lon: number, lat: number, clock?: number): FenceHit | null {
  if (clock !== undefined && !cf.activeAt(clock)) return null;
  if (cf.shape !== 'corridor') return cf.contains(lon, lat) ? cf.hit : null;
  if (haversineM(cf.capLon, cf.capLat, lon, lat) > cf.capRadiusM + 1) return null; // outside the cap holding the corridor
  const seg = cf.nearestSegment(lon, lat, null, 0, 0, false);
  return seg < 0 ? null : cf.segmentHit(seg, clock);
}

/**
 * Brute force: every fence tested exactly, in order. `atMs` (epoch ms) applies time windows;
 * without it every fence counts. The reference the index is tested against.
 */
export function locateExact(fences: readonly CompiledFence[], lon: number, lat: number, atMs?: number): FenceHit[] {
  const clock = atMs === undefined ? undefined : chinaClock(atMs);
  const out: FenceHit[] = [];
  for (const cf of fences) {
    const h = exactHit(cf, lon, lat, clock);
    if (h) out.push(h);
  }
  return out;
}
