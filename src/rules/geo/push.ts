/**
 * Fences as JT/T 808 downlink commands (0x8600–0x8607), so a terminal can watch a fence itself
 * and raise the area/route alarms (0x0200 alarm bits 20/21, items 0x12/0x13) on its own.
 *
 * | shape     | set                                   | delete |
 * | --------- | ------------------------------------- | ------ |
 * | circle    | 0x8600 (setting type 1, append)       | 0x8601 |
 * | rectangle | 0x8602 (setting type 1, append)       | 0x8603 |
 * | polygon   | 0x8604 (one polygon, its shell ring)  | 0x8605 |
 * | corridor  | 0x8606 route, one turning point per line position, segment width = widthM | 0x8607 |
 *
 * What the terminal's copy cannot say, and what we do about it:
 * - **Ids.** Terminal area ids are DWORDs (1…0xFFFFFFFF), ours are strings: the area id is the
 *   32-bit FNV-1a hash of the fence id's UTF-8 bytes (0 becomes 1), so it is stable across
 *   processes and restarts without a mapping table. Two fences of the same shape can collide
 *   (≈ 1 % at 10 000 fences): `areaIdConflict` finds the other fence so the caller can refuse
 *   the push instead of overwriting the other fence on the terminal.
 * - **Time windows.** JT/T 808 §4.8.1 bit 0 allows one absolute start/end time; our windows are
 *   weekly schedules. No time attribute is set: the terminal's area is always active, and the
 *   platform (the rule engine) is what enforces windows. A corridor segment whose own limit has
 *   time windows gets the fence's all-day limit (or none) on the terminal for the same reason.
 * - **Holes and MultiPolygons.** 0x8604 carries one ring. A polygon with holes is refused
 *   (`FG_ERR_NOT_PUSHABLE`) unless the caller passes `outerRingOnly: true`, which pushes the shell
 *   (the terminal's area then includes the holes). A MultiPolygon of one part is that polygon;
 *   one of several parts is always refused: there is no single outer ring to choose.
 * - **Hemispheres.** Coordinates are unsigned with one south/west bit per area (bits 6/7), so an
 *   area straddling the equator or the prime meridian is refused; route points carry their own
 *   bits (segment attribute bits 2/3).
 * - **Speed.** A limit sets bit 1 with `overspeedDurationS` (default 10 s) and, for 2019
 *   terminals, a night limit equal to the day limit (we hold no separate night limit).
 * - **Segment width** is a BYTE: a corridor wider than 255 m is refused.
 *
 * Bodies carry the fields of every edition (2011 counts, 2019 names and night limits); the
 * encoder takes those of the terminal's edition, so one body serves any terminal.
 */
import type { Fence, FenceKind, FenceShape, LonLat, PolygonFence, CorridorFence } from './fence.js';

/** A downlink the command service accepts: `commands.submit({ terminal, ...command })`. */
export interface FenceCommand {
  msgId: number;
  body: Record<string, unknown>;
}

/** What setting a fence on a terminal takes. */
export interface FencePush {
  fenceId: string;
  /** The area (or route) id on the terminal: `areaIdOf(fenceId)`. */
  areaId: number;
  shape: FenceShape;
  commands: FenceCommand[];
}

export interface PushOptions {
  /** Push the shell of a polygon with holes instead of refusing it (the holes become inside). */
  outerRingOnly?: boolean;
  /** How long the speed must stay over the limit before the terminal alarms, s (default 10). */
  overspeedDurationS?: number;
  /** Alarm bits 2–5 (§4.8.1 / §4.8.2) instead of the ones for the fence's kind. */
  alarms?: number;
  /** 0x8600/0x8602 setting type (§4.8.4): 0 replace every area of the shape, 1 append (default), 2 modify. */
  settingType?: 0 | 1 | 2;
}

export const FencePushErrorCode = {
  /** A valid fence that a JT/T 808 area or route cannot express. */
  NOT_PUSHABLE: 'FG_ERR_NOT_PUSHABLE',
} as const;
export type FencePushErrorCode = (typeof FencePushErrorCode)[keyof typeof FencePushErrorCode];

export class FencePushError extends Error {
  readonly code: FencePushErrorCode = FencePushErrorCode.NOT_PUSHABLE;
  constructor(message: string, readonly fenceId: string) {
    super(`fence ${JSON.stringify(fenceId)}: ${message}`);
    this.name = 'FencePushError';
  }
}

/** JT/T 808 §4.8.1 area attribute bits (route attribute §4.8.2 shares bits 0 and 2–5). */
export const AreaAttribute = {
  TIME: 1 << 0,
  SPEED: 1 << 1,
  ENTER_DRIVER: 1 << 2,
  ENTER_PLATFORM: 1 << 3,
  LEAVE_DRIVER: 1 << 4,
  LEAVE_PLATFORM: 1 << 5,
  SOUTH: 1 << 6,
  WEST: 1 << 7,
} as const;

/** §4.8.3 route segment attribute bits. */
export const SegmentAttribute = { TIME: 1 << 0, SPEED: 1 << 1, SOUTH: 1 << 2, WEST: 1 << 3 } as const;

const ALARM_BITS = 0b111100;

/** Which crossing the platform wants to hear about, by what the fence is for. */
export const ALARMS_BY_KIND: Readonly<Record<FenceKind, number>> = {
  forbidden: AreaAttribute.ENTER_PLATFORM,
  jurisdiction: AreaAttribute.LEAVE_PLATFORM,
  route: AreaAttribute.LEAVE_PLATFORM,
  depot: AreaAttribute.ENTER_PLATFORM | AreaAttribute.LEAVE_PLATFORM,
  area: AreaAttribute.ENTER_PLATFORM | AreaAttribute.LEAVE_PLATFORM,
};

const SET: Record<FenceShape, number> = { circle: 0x8600, rectangle: 0x8602, polygon: 0x8604, corridor: 0x8606 };
const DELETE: Record<FenceShape, number> = { circle: 0x8601, rectangle: 0x8603, polygon: 0x8605, corridor: 0x8607 };
/** 0x8601 family: at most 125 ids per message. */
const MAX_DELETE_IDS = 125;
const DEFAULT_OVERSPEED_S = 10;

/** The terminal's id for a fence: 32-bit FNV-1a of the id's UTF-8 bytes, never 0. */
export function areaIdOf(fenceId: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(fenceId, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h === 0 ? 1 : h;
}

/** Another fence that would take the same id on the terminal (same shape, same area id), if any. */
export function areaIdConflict(fence: Fence, others: Iterable<Fence>): Fence | undefined {
  const id = areaIdOf(fence.id);
  for (const o of others) if (o.id !== fence.id && o.shape === fence.shape && areaIdOf(o.id) === id) return o;
  return undefined;
}

/** The command(s) that set the fence on a terminal; throws FencePushError when it cannot be expressed. */
export function fencePushCommands(fence: Fence, opts: PushOptions = {}): FencePush {
  const areaId = areaIdOf(fence.id);
  return { fenceId: fence.id, areaId, shape: fence.shape, commands: [setCommand(fence, areaId, opts)] };
}

/** The command that removes the fence from a terminal. */
export function fenceDeleteCommand(fence: Pick<Fence, 'id' | 'shape'>): FenceCommand {
  return { msgId: DELETE[fence.shape], body: { ids: [areaIdOf(fence.id)] } };
}

/** Deletes of many areas of one shape, 125 ids a message; no ids = delete every area of the shape. */
export function deleteAreasCommands(shape: FenceShape, areaIds: readonly number[]): FenceCommand[] {
  if (areaIds.length === 0) return [{ msgId: DELETE[shape], body: { ids: [] } }];
  const out: FenceCommand[] = [];
  for (let i = 0; i < areaIds.length; i += MAX_DELETE_IDS) out.push({ msgId: DELETE[shape], body: { ids: areaIds.slice(i, i + MAX_DELETE_IDS) } });
  return out;
}

function setCommand(fence: Fence, areaId: number, opts: PushOptions): FenceCommand {
  const alarms = (opts.alarms ?? ALARMS_BY_KIND[fence.kind]) & ALARM_BITS;
  const settingType = opts.settingType ?? 1;
  switch (fence.shape) {
    case 'circle': {
      const [lon, lat] = fence.center;
      const area = {
        areaId, attribute: alarms | hemisphere(fence, [fence.center]) | speedBit(fence.speedLimitKmh),
        latitude: Math.abs(lat!), longitude: Math.abs(lon!), radius: Math.max(1, Math.round(fence.radiusM)),
        ...speedFields(fence, fence.speedLimitKmh, opts), name: fence.name,
      };
      return { msgId: SET.circle, body: { settingType, totalCount: 1, areas: [area] } };
    }
    case 'rectangle': {
      const [w, s] = fence.sw, [e, n] = fence.ne;
      // Top-left is the north-west corner, bottom-right the south-east one (unsigned, §4.8.1 bits 6/7).
      const area = {
        areaId, attribute: alarms | hemisphere(fence, [fence.sw, fence.ne]) | speedBit(fence.speedLimitKmh),
        topLeftLatitude: Math.abs(n!), topLeftLongitude: Math.abs(w!), bottomRightLatitude: Math.abs(s!), bottomRightLongitude: Math.abs(e!),
        ...speedFields(fence, fence.speedLimitKmh, opts), name: fence.name,
      };
      return { msgId: SET.rectangle, body: { settingType, totalCount: 1, areas: [area] } };
    }
    case 'polygon': {
      const ring = shellOf(fence, opts);
      const vertices = ring.slice(0, -1).map(([lon, lat]) => ({ latitude: Math.abs(lat!), longitude: Math.abs(lon!) }));
      return {
        msgId: SET.polygon,
        body: {
          areaId, attribute: alarms | hemisphere(fence, ring) | speedBit(fence.speedLimitKmh),
          ...speedFields(fence, fence.speedLimitKmh, opts), totalVertices: vertices.length, vertices, name: fence.name,
        },
      };
    }
    case 'corridor':
      return { msgId: SET.corridor, body: routeBody(fence, areaId, alarms, opts) };
  }
}

/** The ring 0x8604 can carry (closing position included), or a refusal. */
function shellOf(fence: PolygonFence, opts: PushOptions): LonLat[] {
  const g = fence.geometry;
  if (g.type === 'MultiPolygon' && g.coordinates.length > 1) {
    throw new FencePushError(`a MultiPolygon of ${g.coordinates.length} parts cannot be one JT/T 808 polygon area (0x8604 carries one ring); split it into one fence per part`, fence.id);
  }
  const rings = g.type === 'Polygon' ? g.coordinates : g.coordinates[0]!;
  if (rings.length > 1 && !opts.outerRingOnly) {
    throw new FencePushError(`a polygon with ${rings.length - 1} hole(s) cannot be a JT/T 808 polygon area (0x8604 carries one ring); pass outerRingOnly to push its shell, holes included in the area`, fence.id);
  }
  return rings[0]!;
}

function routeBody(fence: CorridorFence, routeId: number, alarms: number, opts: PushOptions): Record<string, unknown> {
  const width = Math.round(fence.widthM);
  if (width < 1 || width > 0xff) {
    throw new FencePushError(`corridor width ${fence.widthM} m does not fit the 1–255 m of a JT/T 808 segment width (BYTE)`, fence.id);
  }
  const last = fence.line.length - 1;
  const points = fence.line.map(([lon, lat], i) => {
    // Point i starts segment i; the last point ends the route and carries no limit of its own.
    const limit = i < last ? segmentLimit(fence, i) : undefined;
    const hemi = (lat! < 0 ? SegmentAttribute.SOUTH : 0) | (lon! < 0 ? SegmentAttribute.WEST : 0);
    return {
      pointId: i + 1, segmentId: i + 1, latitude: Math.abs(lat!), longitude: Math.abs(lon!), segmentWidth: width,
      segmentAttribute: hemi | (limit === undefined ? 0 : SegmentAttribute.SPEED), ...speedFields(fence, limit, opts),
    };
  });
  return { routeId, attribute: alarms, totalPoints: points.length, points, name: fence.name };
}

/** The limit a terminal can hold for segment i: its own when not time-windowed, else the fence's. */
function segmentLimit(fence: CorridorFence, i: number): number | undefined {
  const s = fence.segments?.[i];
  if (s && s.speedLimitKmh !== undefined && !(s.timeWindows && s.timeWindows.length > 0)) return s.speedLimitKmh;
  return fence.speedLimitKmh;
}

function speedBit(limit: number | undefined): number {
  return limit === undefined ? 0 : AreaAttribute.SPEED;
}

function speedFields(fence: Fence, limit: number | undefined, opts: PushOptions): Record<string, number> {
  if (limit === undefined) return {};
  const maxSpeed = Math.max(1, Math.round(limit));
  if (maxSpeed > 0xffff) throw new FencePushError(`speed limit ${limit} km/h does not fit a WORD`, fence.id);
  const overspeedDuration = opts.overspeedDurationS ?? DEFAULT_OVERSPEED_S;
  if (!Number.isInteger(overspeedDuration) || overspeedDuration < 0 || overspeedDuration > 0xff) {
    throw new FencePushError(`overspeedDurationS must be an integer of 0–255 s (got ${overspeedDuration})`, fence.id);
  }
  return { maxSpeed, overspeedDuration, nightMaxSpeed: maxSpeed };
}

/** Bits 6/7 for positions that must all lie in one hemisphere per axis (zero fits either). */
function hemisphere(fence: Fence, positions: readonly LonLat[]): number {
  let south = false, north = false, west = false, east = false;
  for (const [lon, lat] of positions) {
    south ||= lat! < 0;
    north ||= lat! > 0;
    west ||= lon! < 0;
    east ||= lon! > 0;
  }
  if (south && north) throw new FencePushError('the area straddles the equator; a JT/T 808 area has one south/north bit (§4.8.1 bit 6)', fence.id);
  if (west && east) throw new FencePushError('the area straddles the prime meridian; a JT/T 808 area has one east/west bit (§4.8.1 bit 7)', fence.id);
  return (south ? AreaAttribute.SOUTH : 0) | (west ? AreaAttribute.WEST : 0);
}
