/**
 * Distances on the sphere used to classify H3 cells against fences. Radius and haversine are
 * turf's (6,371,008.8 m), so a cell classified here agrees with turf's exact tests; the margins
 * in cover.ts absorb the last-digit differences between these formulas and turf's.
 */

/** Mean earth radius, metres (turf's `earthRadius`). */
export const EARTH_RADIUS_M = 6_371_008.8;
const DEG = Math.PI / 180;
/** Metres per degree of latitude (and of longitude at the equator). */
export const M_PER_DEG = EARTH_RADIUS_M * DEG;

/** Great-circle distance, metres (turf's haversine formula). */
export function haversineM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dLat = (lat2 - lat1) * DEG, dLon = (lon2 - lon1) * DEG;
  const s1 = Math.sin(dLat / 2), s2 = Math.sin(dLon / 2);
  const a = s1 * s1 + s2 * s2 * Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG);
  return 2 * EARTH_RADIUS_M * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
}

/** A great-circle arc prepared for repeated distance queries. */
export interface Arc {
  ax: number; ay: number; az: number;
  bx: number; by: number; bz: number;
  /** Unit normal of the arc's plane (A × B normalised); zero for a degenerate arc. */
  nx: number; ny: number; nz: number;
  /** Midpoint (lon, lat and unit vector) and half the arc's length: every point of the arc is within halfM of it. */
  midLon: number; midLat: number; halfM: number;
  mx: number; my: number; mz: number;
  cosHalf: number; sinHalf: number;
}

export function unitVector(lon: number, lat: number): [number, number, number] {
  const la = lat * DEG, lo = lon * DEG;
  return [Math.cos(la) * Math.cos(lo), Math.cos(la) * Math.sin(lo), Math.sin(la)];
}

export function arc(a: readonly number[], b: readonly number[]): Arc {
  const [ax, ay, az] = unitVector(a[0]!, a[1]!);
  const [bx, by, bz] = unitVector(b[0]!, b[1]!);
  let nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
  const n = Math.hypot(nx, ny, nz);
  if (n > 0) { nx /= n; ny /= n; nz /= n; }
  let mx = ax + bx, my = ay + by, mz = az + bz;
  const m = Math.hypot(mx, my, mz);
  if (m > 0) { mx /= m; my /= m; mz /= m; } else { mx = ax; my = ay; mz = az; }
  const midLat = Math.asin(Math.max(-1, Math.min(1, mz))) / DEG, midLon = Math.atan2(my, mx) / DEG;
  const halfM = haversineM(a[0]!, a[1]!, b[0]!, b[1]!) / 2, halfAngle = halfM / EARTH_RADIUS_M;
  return { ax, ay, az, bx, by, bz, nx, ny, nz, midLon, midLat, halfM, mx, my, mz, cosHalf: Math.cos(halfAngle), sinHalf: Math.sin(halfAngle) };
}

function angle(px: number, py: number, pz: number, qx: number, qy: number, qz: number): number {
  const cx = py * qz - pz * qy, cy = pz * qx - px * qz, cz = px * qy - py * qx;
  return Math.atan2(Math.hypot(cx, cy, cz), px * qx + py * qy + pz * qz);
}

/** Great-circle distance (metres) from (lon, lat) to the arc: to its nearest interior point or endpoint. */
export function arcDistanceM(s: Arc, lon: number, lat: number): number {
  const [px, py, pz] = unitVector(lon, lat);
  return arcDistanceFromUnitM(s, px, py, pz);
}

/** arcDistanceM from the unit vector of the position. */
export function arcDistanceFromUnitM(s: Arc, px: number, py: number, pz: number): number {
  const pn = px * s.nx + py * s.ny + pz * s.nz;
  if (s.nx !== 0 || s.ny !== 0 || s.nz !== 0) {
    // projection of P on the arc's great circle lies between A and B?
    const ix = px - pn * s.nx, iy = py - pn * s.ny, iz = pz - pn * s.nz;
    const afterA = (s.ay * iz - s.az * iy) * s.nx + (s.az * ix - s.ax * iz) * s.ny + (s.ax * iy - s.ay * ix) * s.nz;
    const beforeB = (iy * s.bz - iz * s.by) * s.nx + (iz * s.bx - ix * s.bz) * s.ny + (ix * s.by - iy * s.bx) * s.nz;
    if (afterA >= 0 && beforeB >= 0) return Math.asin(Math.min(1, Math.abs(pn))) * EARTH_RADIUS_M;
  }
  return Math.min(angle(px, py, pz, s.ax, s.ay, s.az), angle(px, py, pz, s.bx, s.by, s.bz)) * EARTH_RADIUS_M;
}

/**
 * Distance (metres) from (lon0, lat0) to the straight lon/lat segment a–b, measured in the
 * equirectangular plane at lat0. Straight lon/lat lines stay straight there, so a point closer
 * to (lon0, lat0) than this (in the same metric) is on the same side of the segment as
 * turf's planar point-in-polygon sees it.
 */
export function planarSegmentDistanceM(lon0: number, lat0: number, cosLat0: number, aLon: number, aLat: number, bLon: number, bLat: number): number {
  const ax = (aLon - lon0) * cosLat0, ay = aLat - lat0;
  const bx = (bLon - lon0) * cosLat0, by = bLat - lat0;
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return Math.hypot(ax + t * dx, ay + t * dy) * M_PER_DEG;
}
