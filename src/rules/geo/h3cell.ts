/**
 * Point → H3 cell on the hot path, without leaving JavaScript.
 *
 * h3-js answers `latLngToCell` in ≈ 2 µs, most of it spent outside the geometry (two mallocs,
 * an array per call, a 15-character hex string). The geofence index needs one cell per position
 * at 250k+ positions/s, so this module does the projection itself, following the published H3
 * algorithm: nearest icosahedron face, gnomonic projection about its centre, the hexagonal
 * lattice of the resolution (Class III resolutions rotated by the aperture-7 angle), then the
 * digits by walking up the aperture-7 hierarchy.
 *
 * Nothing is copied from the H3 sources: the face centres and axes are derived at start-up from
 * h3-js itself (the 12 resolution-0 pentagons are the icosahedron's vertices), and the base
 * cell and digit rotation of each (face, resolution-0 coordinate, leading digit) — H3's large
 * lookup table — are learnt lazily by asking h3-js once and comparing digit strings. Anything
 * this module cannot prove it gets right (a point within a hair of a lattice edge on a first
 * visit, an unexpected face coordinate) is answered by h3-js itself.
 *
 * Cells are numbers, not strings: `baseCell · 8^res + digits` (digit 1 most significant), so the
 * ancestor at resolution r of a cell is `floor(key / 8^(res − r))`.
 */
import { getIcosahedronFaces, getPentagons, cellToLatLng, h3IndexToSplitLong, latLngToCell } from 'h3-js';

const DEG = Math.PI / 180;
const TWO_PI = 2 * Math.PI;
const SQRT3_2 = Math.sqrt(3) / 2;
/** Rotation between a Class II grid and the Class III grid one resolution finer (aperture 7). */
const AP7_ROT_RADS = Math.atan(Math.sqrt(3) / 5);
/** 1 / gnomonic length of a resolution-0 unit: a face's vertices lie 2 units from its centre. */
const INV_RES0_U_GNOMONIC = (3 + Math.sqrt(5)) / 2;

interface Face {
  id: number;
  x: number; y: number; z: number;
  /** Azimuth (rad) from the face centre to the vertex taken as this face's i axis. */
  axisAz: number;
  /** Tangent-plane axes at the centre: Class II x and y, and Class III x and y (turned by the aperture-7 angle). */
  axes: Float64Array;
}

function unit(latDeg: number, lngDeg: number): [number, number, number] {
  const la = latDeg * DEG, lo = lngDeg * DEG;
  return [Math.cos(la) * Math.cos(lo), Math.cos(la) * Math.sin(lo), Math.sin(la)];
}

function azimuth(lat1: number, lng1: number, lat2: number, lng2: number): number {
  return Math.atan2(Math.cos(lat2) * Math.sin(lng2 - lng1),
    Math.cos(lat1) * Math.sin(lat2) - Math.sin(lat1) * Math.cos(lat2) * Math.cos(lng2 - lng1));
}

function posAngle(a: number): number { // [0, 2π)
  const t = a < 0 ? a + TWO_PI : a;
  return t >= TWO_PI ? t - TWO_PI : t;
}

/**
 * The 20 faces: each face's centre is the normalised sum of its three vertices (the pentagons
 * h3-js lists on that face). Which vertex gives the i axis does not matter: the lattice is the
 * same under a 120° turn, and the learnt rotations absorb the relabelling.
 */
function deriveFaces(): Face[] {
  const verts = new Map<number, [number, number, number][]>();
  for (const p of getPentagons(0)) {
    const [la, lo] = cellToLatLng(p);
    for (const f of getIcosahedronFaces(p)) {
      const list = verts.get(f) ?? [];
      list.push(unit(la, lo));
      verts.set(f, list);
    }
  }
  const faces: Face[] = [];
  for (const [id, vs] of [...verts.entries()].sort((a, b) => a[0] - b[0])) {
    if (vs.length !== 3) throw new Error(`h3-js: face ${id} has ${vs.length} vertices`);
    let x = 0, y = 0, z = 0;
    for (const v of vs) { x += v[0]; y += v[1]; z += v[2]; }
    const n = Math.hypot(x, y, z);
    x /= n; y /= n; z /= n;
    const lat = Math.asin(z), lng = Math.atan2(y, x);
    const v0 = vs[0]!;
    const axisAz = posAngle(azimuth(lat, lng, Math.asin(v0[2]), Math.atan2(v0[1], v0[0])));
    faces.push({ id, x, y, z, axisAz, axes: tangentAxes(lat, lng, axisAz) });
  }
  if (faces.length !== 20) throw new Error(`h3-js: ${faces.length} icosahedron faces`);
  return faces;
}

/**
 * H3 measures θ counter-clockwise from the face's i axis, with θ = axisAz − azimuth; the
 * gnomonic image of p is p/(p·c) − c = tan(r)·(cos az·N + sin az·E). So tan(r)·cos θ is its dot
 * product with d(axisAz) and tan(r)·sin θ with sin(axisAz)·N − cos(axisAz)·E: no trigonometry
 * per position beyond the point's own sines and cosines.
 */
function tangentAxes(lat: number, lng: number, axisAz: number): Float64Array {
  const north = [-Math.sin(lat) * Math.cos(lng), -Math.sin(lat) * Math.sin(lng), Math.cos(lat)];
  const east = [-Math.sin(lng), Math.cos(lng), 0];
  const out = new Float64Array(12);
  for (const [slot, turn] of [[0, 0], [6, -AP7_ROT_RADS]] as const) {
    const t = axisAz + turn; // Class III: θ − β = (axisAz − β) − azimuth
    for (let c = 0; c < 3; c++) {
      out[slot + c] = Math.cos(t) * north[c]! + Math.sin(t) * east[c]!;
      out[slot + 3 + c] = Math.sin(t) * north[c]! - Math.cos(t) * east[c]!;
    }
  }
  return out;
}

/** Digit of each normalised unit ijk vector (H3: 0 centre, 1 k, 2 j, 3 jk, 4 i, 5 ik, 6 ij). */
function unitToDigit(i: number, j: number, k: number): number {
  return (i << 2) | (j << 1) | k;
}

/**
 * Digit of a unit step (di, dj) in ij coordinates, indexed (di + 1) · 3 + (dj + 1):
 * k = (−1,−1), jk = (−1,0), ik = (0,−1), j = (0,1), i = (1,0), ij = (1,1); 7 = not a unit step.
 */
const STEP_DIGIT = Int8Array.from([1, 3, 7, 5, 0, 2, 7, 4, 6]);

/** ROT[n * 8 + d]: digit d turned n × 60° counter-clockwise (i→ij, j→jk, k→ik). */
const ROT = (() => {
  const t = new Int8Array(48);
  const once = (d: number): number => {
    const i = (d >> 2) & 1, j = (d >> 1) & 1, k = d & 1;
    let a = i + k, b = i + j, c = j + k; // i ↦ (1,1,0), j ↦ (0,1,1), k ↦ (1,0,1)
    const m = Math.min(a, b, c);
    a -= m; b -= m; c -= m;
    return unitToDigit(a, b, c);
  };
  for (let d = 0; d < 8; d++) {
    let x = d;
    for (let n = 0; n < 6; n++) { t[n * 8 + d] = d === 7 ? 7 : x; x = d === 7 ? 7 : once(x); }
  }
  return t;
})();

const FACES = deriveFaces();

/** Counters: positions answered by the projection, by a first-visit h3-js call, or by h3-js because unprovable. */
export interface H3LocatorStats { fast: number; learnt: number; fallback: number }

export class H3PointLocator {
  readonly res: number;
  /** 8^res: the key of a cell is baseCell · unitsPerBase + digits. */
  readonly unitsPerBase: number;
  readonly stats: H3LocatorStats = { fast: 0, learnt: 0, fallback: 0 };
  /** (face, i, j, k of the resolution-0 cell, leading digit) → baseCell · 8 + rotations + 1; 0 = not learnt yet. */
  private readonly memo = new Int32Array(20 * 4 * 4 * 4 * 8);
  private readonly scale: number;
  private readonly classIII: boolean;
  // scratch for the ijk walk
  private ci = 0; private cj = 0; private ck = 0;

  constructor(res: number) {
    if (!Number.isInteger(res) || res < 1 || res > 10) throw new RangeError('H3PointLocator: res must be 1..10');
    this.res = res;
    this.unitsPerBase = 8 ** res;
    this.scale = INV_RES0_U_GNOMONIC * Math.sqrt(7) ** res;
    this.classIII = res % 2 === 1;
  }

  /** The key of the resolution-`res` cell holding (lat, lng) in degrees (finite, |lat| ≤ 90). */
  cellOf(latDeg: number, lngDeg: number): number {
    const lat = latDeg * DEG, lng = lngDeg * DEG;
    const cosLat = Math.cos(lat);
    const px = cosLat * Math.cos(lng), py = cosLat * Math.sin(lng), pz = Math.sin(lat);
    let face = FACES[0]!, best = -2;
    for (let f = 0; f < 20; f++) {
      const c = FACES[f]!;
      const dot = c.x * px + c.y * py + c.z * pz; // the nearest centre has the largest dot product
      if (dot > best) { best = dot; face = c; }
    }
    const ax = face.axes, o = this.classIII ? 6 : 0, k = this.scale / best;
    const x = k * (px * ax[o]! + py * ax[o + 1]! + pz * ax[o + 2]!);
    const y = k * (px * ax[o + 3]! + py * ax[o + 4]! + pz * ax[o + 5]!);
    // nearest lattice point: axial (a, b) with p = a·i + b·j, rounded as cube (a, −b, b − a)
    const b = y / SQRT3_2, a = x + 0.5 * b;
    let q = Math.round(a), r2 = Math.round(-b), s2 = Math.round(b - a);
    const eq = Math.abs(q - a), er = Math.abs(r2 + b), es = Math.abs(s2 - b + a);
    if (eq > er && eq > es) q = -r2 - s2; else if (er > es) r2 = -q - s2;
    const li = q, lj = -r2;
    // residual to the hexagon centre: < 0.45 lattice units means well inside (inradius 0.5)
    const cx = li - 0.5 * lj, cy = lj * SQRT3_2;
    const safe = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 0.45 * 0.45;
    this.ci = li; this.cj = lj;
    const digits = this.walkUp();
    const bi = this.ci, bj = this.cj, bk = this.ck;
    if (bi > 3 || bj > 3 || bk > 3) { this.stats.fallback++; return this.askH3(latDeg, lngDeg); }
    const lead = leadingDigit(digits, this.res);
    const slot = ((((face.id * 4 + bi) * 4 + bj) * 4 + bk) << 3) | lead;
    const known = this.memo[slot]!;
    if (known > 0) {
      this.stats.fast++;
      const rots = (known - 1) & 7, baseCell = (known - 1) >> 3;
      return baseCell * this.unitsPerBase + rotateDigits(digits, rots, this.res);
    }
    const truth = this.askH3(latDeg, lngDeg);
    if (safe) {
      const baseCell = Math.floor(truth / this.unitsPerBase), want = truth - baseCell * this.unitsPerBase;
      for (let n = 0; n < 6; n++) {
        if (rotateDigits(digits, n, this.res) === want) { this.memo[slot] = baseCell * 8 + n + 1; this.stats.learnt++; return truth; }
      }
    }
    this.stats.fallback++;
    return truth;
  }

  /**
   * Walk up from the lattice cell (ci, cj) in ij coordinates (k = 0) to resolution 0, leaving the
   * base cell's normalised ijk in (ci, cj, ck) and returning digits 1..res. Per step: the parent
   * is the nearest centre on the coarser grid (rounding has no ties: 2·(3a − b) is even and 7
   * times an odd number is not), and the digit is the unit step from the parent's centre child.
   */
  private walkUp(): number {
    let a = this.ci | 0, b = this.cj | 0, digits = 0;
    const res = this.res;
    for (let r = res - 1; r >= 0; r--) {
      let pi: number, pj: number, di: number, dj: number;
      if ((r & 1) === 0) { // child at odd (Class III) resolution r + 1: counter-clockwise aperture 7
        pi = Math.floor((3 * a - b + 3) / 7) | 0; pj = Math.floor((a + 2 * b + 3) / 7) | 0; // round(x/7)
        di = a - 2 * pi - pj; dj = b - 3 * pj + pi;
      } else {
        pi = Math.floor((2 * a + b + 3) / 7) | 0; pj = Math.floor((3 * b - a + 3) / 7) | 0;
        di = a - 3 * pi + pj; dj = b - pi - 2 * pj;
      }
      digits |= STEP_DIGIT[(di * 3 + dj + 4) | 0]! << (3 * (res - 1 - r));
      a = pi; b = pj;
    }
    const m = a < b ? (a < 0 ? a : 0) : (b < 0 ? b : 0);
    this.ci = a - m; this.cj = b - m; this.ck = -m;
    return digits;
  }

  private askH3(latDeg: number, lngDeg: number): number {
    return cellKey(latLngToCell(latDeg, lngDeg, this.res));
  }
}

function leadingDigit(digits: number, res: number): number {
  for (let s = 3 * (res - 1); s >= 0; s -= 3) {
    const d = (digits >> s) & 7;
    if (d !== 0) return d;
  }
  return 0;
}

function rotateDigits(digits: number, n: number, res: number): number {
  if (n === 0) return digits;
  let out = 0;
  for (let s = 0; s < 3 * res; s += 3) out |= ROT[(n << 3) | ((digits >> s) & 7)]! << s;
  return out;
}

const TWO_32 = 2 ** 32;

/** Numeric key of an h3-js cell string: baseCell · 8^res + digits 1..res (res ≤ 10). */
export function cellKey(cell: string): number {
  const [lo, hi] = h3IndexToSplitLong(cell);
  const res = (hi >>> 20) & 0xf, baseCell = (hi >>> 13) & 0x7f;
  const field = (hi & 0x1fff) * TWO_32 + (lo >>> 0); // digits 1..15, 3 bits each
  return baseCell * 8 ** res + Math.floor(field / 2 ** (45 - 3 * res));
}

/** The h3-js cell string of a key at resolution `res` (inverse of cellKey). */
export function keyToCell(key: number, res: number): string {
  const unitsPerBase = 8 ** res, baseCell = Math.floor(key / unitsPerBase), digits = key - baseCell * unitsPerBase;
  const tail = 2 ** (45 - 3 * res);
  const field = digits * tail + (tail - 1); // unused digits are 7
  const hi = (1 << 27) | (res << 20) | (baseCell << 13) | Math.floor(field / TWO_32);
  const lo = field % TWO_32;
  return hi.toString(16) + lo.toString(16).padStart(8, '0');
}
