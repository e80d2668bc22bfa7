import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** [longitude, latitude] in degrees, WGS-84 (what a GNSS terminal reports). */
export type LonLat = readonly [number, number];

/** One driving route of `fixtures/routes/*.json`: a polyline along real roads and its vehicles' base. */
export interface RouteFixture {
  id: string;
  name: string;
  nameCn?: string;
  /** Typical cruising speed on this road, km/h. */
  speedKmh: number;
  depot: { name: string; nameCn?: string; point: LonLat };
  points: LonLat[];
}

export interface RoutePosition {
  longitude: number;
  latitude: number;
  /** Degrees from north, clockwise, in the direction of travel. */
  heading: number;
}

/** Where a vehicle is on its path: metres from the path's start, and which way it is going. */
export interface RouteCursor {
  distanceM: number;
  reverse: boolean;
}

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Metres between two points (equirectangular: exact enough over the few hundred metres of a segment). */
export function distanceM(a: LonLat, b: LonLat): number {
  const x = (b[0] - a[0]) * RAD * Math.cos(((a[1] + b[1]) / 2) * RAD);
  const y = (b[1] - a[1]) * RAD;
  return Math.hypot(x, y) * EARTH_RADIUS_M;
}

/** Initial bearing from a to b, degrees from north, clockwise. */
export function bearingDeg(a: LonLat, b: LonLat): number {
  const x = (b[0] - a[0]) * Math.cos(((a[1] + b[1]) / 2) * RAD);
  const y = b[1] - a[1];
  return (Math.atan2(x, y) / RAD + 360) % 360;
}

/**
 * A route prepared for driving: the depot, then the road's points. Built once per route and
 * shared by every vehicle on it, so a vehicle carries only its cursor (a number and a flag).
 */
export class RoutePath {
  readonly lengthM: number;
  private readonly points: LonLat[];
  /** cumM[i] = metres from the start to points[i]. */
  private readonly cumM: Float64Array;
  /** bearing[i] = heading of the segment points[i] → points[i + 1]. */
  private readonly bearing: Float64Array;

  constructor(readonly route: RouteFixture) {
    // Vehicles leave from and return to their base: the path starts at the depot.
    this.points = [route.depot.point, ...route.points];
    const n = this.points.length;
    this.cumM = new Float64Array(n);
    this.bearing = new Float64Array(Math.max(1, n - 1));
    for (let i = 1; i < n; i++) {
      this.cumM[i] = this.cumM[i - 1]! + distanceM(this.points[i - 1]!, this.points[i]!);
      this.bearing[i - 1] = bearingDeg(this.points[i - 1]!, this.points[i]!);
    }
    this.lengthM = this.cumM[n - 1]!;
  }

  /** Index of the segment holding distance d (binary search: routes have tens of points). */
  private segmentAt(d: number): number {
    let lo = 0;
    let hi = this.points.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cumM[mid]! <= d) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The point at a cursor, with the heading of travel. */
  at(c: RouteCursor): RoutePosition {
    const d = Math.min(Math.max(c.distanceM, 0), this.lengthM);
    const i = this.segmentAt(d);
    const a = this.points[i]!;
    const b = this.points[i + 1] ?? a;
    const span = this.cumM[i + 1]! - this.cumM[i]!;
    const f = span > 0 ? (d - this.cumM[i]!) / span : 0;
    const forward = this.bearing[i]!;
    return {
      longitude: a[0] + (b[0] - a[0]) * f,
      latitude: a[1] + (b[1] - a[1]) * f,
      heading: c.reverse ? (forward + 180) % 360 : forward,
    };
  }

  /**
   * The sharpest change of heading (degrees, 0–180) at the vertices within `aheadM` metres in the
   * direction of travel: drivers slow down before a turn, not after it.
   */
  turnAhead(c: RouteCursor, aheadM: number): number {
    const from = c.reverse ? c.distanceM - aheadM : c.distanceM;
    const to = c.reverse ? c.distanceM : c.distanceM + aheadM;
    let sharpest = 0;
    for (let v = 1; v < this.points.length - 1; v++) {
      const at = this.cumM[v]!;
      if (at < from || at > to) continue;
      const delta = Math.abs(this.bearing[v]! - this.bearing[v - 1]!) % 360;
      sharpest = Math.max(sharpest, delta > 180 ? 360 - delta : delta);
    }
    return sharpest;
  }

  /**
   * Moves the cursor `metres` along the path. At either end the vehicle stops there and turns
   * round (it loops back and forth); returns true when an end was reached, so the caller can park.
   */
  advance(c: RouteCursor, metres: number): boolean {
    const next = c.distanceM + (c.reverse ? -metres : metres);
    if (next >= this.lengthM) {
      c.distanceM = this.lengthM;
      c.reverse = true;
      return true;
    }
    if (next <= 0) {
      c.distanceM = 0;
      c.reverse = false;
      return true;
    }
    c.distanceM = next;
    return false;
  }
}

function isLonLat(v: unknown): v is LonLat {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number'
    && Math.abs(v[0]) <= 180 && Math.abs(v[1]) <= 90;
}

/** Checks a parsed routes file; throws naming the first bad route. */
export function parseRoutes(doc: unknown): RouteFixture[] {
  const routes = (doc as { routes?: unknown } | null)?.routes;
  if (!Array.isArray(routes) || routes.length === 0) throw new Error('routes file: "routes" must be a non-empty array');
  return routes.map((r: Partial<RouteFixture>, i) => {
    const where = `routes[${i}]${typeof r.id === 'string' ? ` (${r.id})` : ''}`;
    if (typeof r.id !== 'string' || typeof r.name !== 'string') throw new Error(`${where}: id and name are required`);
    if (typeof r.speedKmh !== 'number' || r.speedKmh <= 0) throw new Error(`${where}: speedKmh must be positive`);
    if (!isLonLat(r.depot?.point)) throw new Error(`${where}: depot.point must be [lon, lat]`);
    if (!Array.isArray(r.points) || r.points.length < 2 || !r.points.every(isLonLat)) {
      throw new Error(`${where}: points must be at least two [lon, lat] pairs`);
    }
    return r as RouteFixture;
  });
}

/**
 * The bundled Jinan routes (`fixtures/routes/jinan.json`), or another routes file. The fixture
 * sits at the repository root, which is two levels up from src/ and three from dist/src/.
 */
export function loadRoutes(file?: string): RouteFixture[] {
  let path = file;
  if (path === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let up = 0; up < 5 && path === undefined; up++, dir = dirname(dir)) {
      const candidate = join(dir, 'fixtures', 'routes', 'jinan.json');
      if (existsSync(candidate)) path = candidate;
    }
    if (path === undefined) throw new Error('fixtures/routes/jinan.json not found next to the package');
  }
  return parseRoutes(JSON.parse(readFileSync(path, 'utf8')));
}
