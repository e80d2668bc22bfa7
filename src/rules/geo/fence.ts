/**
 * Geofences: what the supervision rules draw on the map (../shared/docs/domain.md, "Misuse
 * rules"): a unit's jurisdiction boundary, its depot or lot, forbidden places, free areas, and
 * route corridors. A fence has a shape (circle, rectangle, polygon with holes, corridor) and a
 * kind (what the rules do with it). Coordinates are WGS-84 `[lon, lat]` as in GeoJSON.
 *
 * Validation refuses what the index could not answer exactly: every problem is a `FenceError`
 * with a code (`FG_ERR_BAD_GEOMETRY` for the shape, `FG_ERR_BAD_FENCE` for the rest) and a
 * message naming the fence and the spot. Not checked (documented limits): polygons crossing the
 * antimeridian, holes nested in holes, parts of a MultiPolygon nested in other parts.
 */
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import { kinks } from '@turf/kinks';
import { windowProblem, type TimeWindow } from './time.js';

export type { TimeWindow, Weekday } from './time.js';
export { isActiveAt } from './time.js';

/** What the supervision rules use a fence for. */
export type FenceKind = 'jurisdiction' | 'depot' | 'forbidden' | 'area' | 'route';
export const FENCE_KINDS: readonly FenceKind[] = ['jurisdiction', 'depot', 'forbidden', 'area', 'route'];

/** `[lon, lat]` in degrees (WGS-84); a third value (altitude) is allowed and ignored. */
export type LonLat = Position;

interface FenceCommon {
  /** Unique in an index; the GeoJSON Feature's `id`. */
  id: string;
  name: string;
  kind: FenceKind;
  /** Owning unit (organisation id); rules read thresholds per organisation. */
  organisation?: string;
  /** When the fence applies (China time); none = always. */
  timeWindows?: TimeWindow[];
  /** Speed limit inside the fence, km/h. */
  speedLimitKmh?: number;
}

export interface CircleFence extends FenceCommon { shape: 'circle'; center: LonLat; radiusM: number }
export interface RectangleFence extends FenceCommon { shape: 'rectangle'; sw: LonLat; ne: LonLat }
/** A GeoJSON Polygon (first ring the shell, the others holes) or MultiPolygon. */
export interface PolygonFence extends FenceCommon { shape: 'polygon'; geometry: Polygon | MultiPolygon }

/** Per-segment settings of a corridor: segment i runs from line[i] to line[i + 1]. */
export interface CorridorSegment {
  /** Limit on this segment, km/h, while its time windows (if any) are active. */
  speedLimitKmh?: number;
  timeWindows?: TimeWindow[];
}

/** Everything within widthM / 2 of the polyline (great-circle distance). */
export interface CorridorFence extends FenceCommon {
  shape: 'corridor';
  line: LonLat[];
  widthM: number;
  /** One entry per segment (line.length − 1), null for a segment without its own settings. */
  segments?: (CorridorSegment | null)[];
}

export type Fence = CircleFence | RectangleFence | PolygonFence | CorridorFence;
export type FenceShape = Fence['shape'];

export const FenceErrorCode = {
  /** The geometry cannot be a fence: self-intersecting, unclosed, too few positions, out of range … */
  BAD_GEOMETRY: 'FG_ERR_BAD_GEOMETRY',
  /** Anything else: missing id or name, unknown kind, bad time window or speed limit. */
  BAD_FENCE: 'FG_ERR_BAD_FENCE',
} as const;
export type FenceErrorCode = (typeof FenceErrorCode)[keyof typeof FenceErrorCode];

export class FenceError extends Error {
  readonly code: FenceErrorCode;
  readonly fenceId: string | undefined;
  constructor(code: FenceErrorCode, message: string, fenceId?: string) {
    super(fenceId === undefined ? message : `fence ${JSON.stringify(fenceId)}: ${message}`);
    this.code = code;
    this.fenceId = fenceId;
    this.name = 'FenceError';
  }
}

const geometry = (msg: string, id?: string) => new FenceError(FenceErrorCode.BAD_GEOMETRY, msg, id);
const bad = (msg: string, id?: string) => new FenceError(FenceErrorCode.BAD_FENCE, msg, id);

/** The first problem of a fence, or null when the index can take it. */
export function validateFence(f: Fence): FenceError | null {
  const id = typeof f.id === 'string' ? f.id : undefined;
  if (typeof f.id !== 'string' || f.id === '') return bad('id must be a non-empty string');
  if (typeof f.name !== 'string') return bad('name must be a string', id);
  if (!FENCE_KINDS.includes(f.kind)) return bad(`kind must be one of ${FENCE_KINDS.join(', ')} (got ${JSON.stringify(f.kind)})`, id);
  if (f.organisation !== undefined && typeof f.organisation !== 'string') return bad('organisation must be a string', id);
  const limit = speedProblem(f.speedLimitKmh, 'speedLimitKmh');
  if (limit) return bad(limit, id);
  const windows = windowsProblem(f.timeWindows, 'timeWindows');
  if (windows) return bad(windows, id);
  const shape = shapeProblem(f);
  if (shape !== null) return geometry(shape, id);
  const segments = f.shape === 'corridor' ? segmentsProblem(f) : null;
  return segments === null ? null : bad(segments, id);
}

/** Throws the fence's FenceError, or returns the fence. */
export function assertValidFence<F extends Fence>(f: F): F {
  const e = validateFence(f);
  if (e) throw e;
  return f;
}

function speedProblem(v: unknown, what: string): string | null {
  if (v === undefined) return null;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : `${what} must be a positive number of km/h (got ${JSON.stringify(v)})`;
}

function windowsProblem(ws: unknown, what: string): string | null {
  if (ws === undefined) return null;
  if (!Array.isArray(ws)) return `${what} must be an array`;
  for (let i = 0; i < ws.length; i++) {
    const p = windowProblem(ws[i]);
    if (p) return `${what}[${i}]: ${p}`;
  }
  return null;
}

function shapeProblem(f: Fence): string | null {
  switch (f.shape) {
    case 'circle':
      return positionProblem(f.center, 'center')
        ?? (isPositive(f.radiusM) ? null : `radiusM must be a positive number of metres (got ${JSON.stringify(f.radiusM)})`);
    case 'rectangle': {
      const p = positionProblem(f.sw, 'sw') ?? positionProblem(f.ne, 'ne');
      if (p) return p;
      return f.sw[0]! < f.ne[0]! && f.sw[1]! < f.ne[1]! ? null
        : `rectangle sw ${JSON.stringify(f.sw)} must be south-west of ne ${JSON.stringify(f.ne)} (empty, or crossing the antimeridian)`;
    }
    case 'polygon':
      return polygonProblem(f.geometry);
    case 'corridor':
      return corridorProblem(f);
    default:
      return `shape must be circle, rectangle, polygon or corridor (got ${JSON.stringify((f as { shape: unknown }).shape)})`;
  }
}

function isPositive(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

function positionProblem(p: unknown, where: string): string | null {
  if (!Array.isArray(p) || p.length < 2 || p.length > 3 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return `${where}: a position must be [lon, lat] (finite numbers), got ${JSON.stringify(p)}`;
  }
  const [lon, lat] = p as number[];
  if (lon! < -180 || lon! > 180 || lat! < -90 || lat! > 90) {
    return `${where}: coordinate out of range ${JSON.stringify(p)} (lon must be within ±180, lat within ±90)`;
  }
  return null;
}

function polygonProblem(g: Polygon | MultiPolygon): string | null {
  if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon') || !Array.isArray(g.coordinates)) {
    return `geometry must be a GeoJSON Polygon or MultiPolygon`;
  }
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  if (polys.length === 0) return 'MultiPolygon has no polygons';
  for (let pi = 0; pi < polys.length; pi++) {
    const rings = polys[pi];
    const at = g.type === 'Polygon' ? '' : `polygon ${pi} `;
    if (!Array.isArray(rings) || rings.length === 0) return `${at}has no rings`;
    for (let ri = 0; ri < rings.length; ri++) {
      const p = ringProblem(rings[ri], `${at}${ri === 0 ? 'shell' : `hole ${ri}`}`);
      if (p) return p;
    }
  }
  const crossings = kinks(g).features;
  if (crossings.length > 0) {
    const at = crossings[0]!.geometry.coordinates;
    return `self-intersecting polygon: ${crossings.length} crossing(s) of its edges, the first at [${at[0]}, ${at[1]}]`;
  }
  for (let pi = 0; pi < polys.length; pi++) {
    const [shell, ...holes] = polys[pi]!;
    const shellOnly: Polygon = { type: 'Polygon', coordinates: [shell!] };
    for (let hi = 0; hi < holes.length; hi++) {
      const out = holes[hi]!.find((v) => !booleanPointInPolygon(v, shellOnly));
      if (out) return `${g.type === 'Polygon' ? '' : `polygon ${pi} `}hole ${hi + 1} lies outside its shell (position ${JSON.stringify(out)})`;
    }
  }
  return null;
}

function ringProblem(ring: unknown, where: string): string | null {
  if (!Array.isArray(ring)) return `${where} must be an array of positions`;
  for (let i = 0; i < ring.length; i++) {
    const p = positionProblem(ring[i], `${where} position ${i}`);
    if (p) return p;
  }
  if (ring.length < 4) return `${where} has ${ring.length} positions; a ring needs at least 4 (three corners and the first repeated)`;
  const first = ring[0] as number[], last = ring[ring.length - 1] as number[];
  if (first[0] !== last[0] || first[1] !== last[1]) {
    return `${where} is not closed: it starts at ${JSON.stringify(first)} and ends at ${JSON.stringify(last)}`;
  }
  if (collinear(ring as Position[])) return `${where} has zero area (all positions on one line)`;
  return null;
}

/** Every position on the line through the first two distinct ones (or all the same point). */
function collinear(ring: Position[]): boolean {
  const [x0, y0] = ring[0]!;
  const second = ring.find((p) => p[0] !== x0 || p[1] !== y0);
  if (!second) return true;
  const dx = second[0]! - x0!, dy = second[1]! - y0!;
  return ring.every((p) => dx * (p[1]! - y0!) - dy * (p[0]! - x0!) === 0);
}

function corridorProblem(f: CorridorFence): string | null {
  if (!Array.isArray(f.line) || f.line.length === 0) return 'empty corridor: line has no positions';
  for (let i = 0; i < f.line.length; i++) {
    const p = positionProblem(f.line[i], `line position ${i}`);
    if (p) return p;
  }
  if (f.line.length < 2) return 'empty corridor: line needs at least 2 positions';
  if (f.line.every((p) => p[0] === f.line[0]![0] && p[1] === f.line[0]![1])) return 'empty corridor: every position of the line is the same point';
  if (!isPositive(f.widthM)) return `widthM must be a positive number of metres (got ${JSON.stringify(f.widthM)})`;
  return null;
}

function segmentsProblem(f: CorridorFence): string | null {
  if (f.segments === undefined) return null;
  if (!Array.isArray(f.segments) || f.segments.length !== f.line.length - 1) {
    return `segments must have one entry per segment of the line (${f.line.length - 1}), got ${Array.isArray(f.segments) ? f.segments.length : typeof f.segments}`;
  }
  for (let i = 0; i < f.segments.length; i++) {
    const s = f.segments[i];
    if (s === null) continue;
    if (typeof s !== 'object') return `segments[${i}] must be an object or null`;
    const p = speedProblem(s.speedLimitKmh, `segments[${i}].speedLimitKmh`) ?? windowsProblem(s.timeWindows, `segments[${i}].timeWindows`);
    if (p) return p;
  }
  return null;
}
