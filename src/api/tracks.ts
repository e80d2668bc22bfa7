import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type BucketPoint, type TrackCursor, type TrackPage, type TrackPoint, type TrackTarget, bucketed, events, lastPositions, track } from '../store/queries.js';
import type { Sql } from '../store/sql.js';

/** Limits of the track API. */
export const TRACK_LIMITS = {
  maxRangeMs: 31 * 24 * 3600 * 1000,
  defaultLimit: 1000,
  maxLimit: 10_000,
  maxBucketSeconds: 24 * 3600,
  maxToleranceMetres: 100_000,
} as const;

const TERMINAL = /^[0-9]{1,20}$/;
const VEHICLE = /^[1-9][0-9]{0,14}$/;
const EVENT_KIND = /^[A-Za-z0-9_.:-]{1,64}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const EARTH_RADIUS_M = 6_371_008.8;

/** A caller's mistake: answered with `status` and `{ error: { code, message } }`. */
class RequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const bad = (code: string, message: string): RequestError => new RequestError(400, code, message);

export type Query = Record<string, unknown>;

/** ISO 8601 date or date-time; a date-time needs its offset (`Z` or `+08:00`), a date alone is UTC midnight. */
export function parseIsoTime(v: unknown): Date | undefined {
  const m = typeof v === 'string' ? ISO.exec(v) : null;
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x)));
  const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  const local = Date.UTC(y!, mo! - 1, d!, h, mi, s, ms);
  const check = new Date(local);
  // Date.UTC rolls 2024-02-30 over to March: refuse what does not come back unchanged.
  if (y! < 1970 || check.getUTCMonth() !== mo! - 1 || check.getUTCDate() !== d || check.getUTCHours() !== h || check.getUTCMinutes() !== mi || check.getUTCSeconds() !== s) return undefined;
  const zone = m[8];
  if (!zone || zone === 'Z') return check;
  const [, sign, oh, om] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  if (Number(oh) > 23 || Number(om) > 59) return undefined;
  return new Date(local - (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000);
}

export function parseRange(q: Query): { from: Date; to: Date } {
  const from = parseIsoTime(q.from);
  const to = parseIsoTime(q.to);
  if (!from || !to) throw bad('FG_ERR_BAD_RANGE', 'from and to are required ISO 8601 times with an offset, e.g. 2024-03-01T08:00:00Z');
  if (from.getTime() >= to.getTime()) throw bad('FG_ERR_BAD_RANGE', 'from must be before to');
  if (to.getTime() - from.getTime() > TRACK_LIMITS.maxRangeMs) throw bad('FG_ERR_BAD_RANGE', `the range is at most ${TRACK_LIMITS.maxRangeMs / 86_400_000} days`);
  return { from, to };
}

export function parseLimit(v: unknown): number {
  if (v === undefined) return TRACK_LIMITS.defaultLimit;
  const n = typeof v === 'string' && /^[0-9]{1,6}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= TRACK_LIMITS.maxLimit)) throw bad('FG_ERR_BAD_LIMIT', `limit is an integer from 1 to ${TRACK_LIMITS.maxLimit}`);
  return n;
}

/** A terminal id as stored — 12 BCD digits (20 in 2019), leading zeros kept — or undefined if it is not 1–20 digits. */
export function normaliseTerminal(v: unknown): string | undefined {
  return typeof v === 'string' && TERMINAL.test(v) ? v.padStart(v.length > 12 ? 20 : 12, '0') : undefined;
}

export function parseTerminal(v: unknown): string {
  const t = normaliseTerminal(v);
  if (t === undefined) throw bad('FG_ERR_BAD_TERMINAL', 'terminal id is 1–20 digits');
  return t;
}

/** `60`, `60s`, `5m`, `1h`, `1d` → seconds (1 s to 1 day). */
function parseBucket(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^([0-9]{1,6})(s|m|h|d)?$/.exec(v) : null;
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'] : NaN;
  if (!(seconds >= 1 && seconds <= TRACK_LIMITS.maxBucketSeconds)) throw bad('FG_ERR_BAD_BUCKET', 'bucket is a duration from 1s to 1d: 30s, 5m, 1h …');
  return seconds;
}

function parseTolerance(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : NaN;
  if (!(n > 0 && n <= TRACK_LIMITS.maxToleranceMetres)) throw bad('FG_ERR_BAD_TOLERANCE', `tolerance is in metres, above 0 and at most ${TRACK_LIMITS.maxToleranceMetres}`);
  return n;
}

function parseFlag(name: string, v: unknown): boolean {
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1' || v === '') return true;
  throw bad('FG_ERR_BAD_PARAM', `${name} is true or false`);
}

/** Opaque to callers: base64url of the last point's exact time and kind. */
export function encodeCursor(c: TrackCursor): string {
  return Buffer.from(`${c.time}|${c.kind}`).toString('base64url');
}

export function decodeCursor(v: unknown): TrackCursor | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === 'string' && /^[A-Za-z0-9_-]{1,80}$/.test(v) ? Buffer.from(v, 'base64url').toString() : '';
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|(\d{1,5})$/.exec(text);
  // Date.parse rolls 30 February over to March; the database would refuse it.
  const ms = m ? Date.parse(m[1]!) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== m[1]!.slice(0, 19)) throw bad('FG_ERR_BAD_CURSOR', 'cursor is the `next` value of a previous page');
  return { time: m[1]!, kind: Number(m[2]) };
}

function parseBbox(v: unknown): [number, number, number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = typeof v === 'string' ? v.split(',') : [];
  const n = parts.map((p) => (/^\s*-?[0-9]+(\.[0-9]+)?\s*$/.test(p) ? Number(p) : NaN));
  const [minLon, minLat, maxLon, maxLat] = n as [number, number, number, number];
  const ok = n.length === 4 && n.every(Number.isFinite) && minLon >= -180 && maxLon <= 180 && minLat >= -90 && maxLat <= 90 && minLon <= maxLon && minLat <= maxLat;
  if (!ok) throw bad('FG_ERR_BAD_BBOX', 'bbox is minLon,minLat,maxLon,maxLat in degrees, min ≤ max');
  return [minLon, minLat, maxLon, maxLat];
}

function optionalText(name: string, v: unknown, pattern: RegExp): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !pattern.test(v)) throw bad('FG_ERR_BAD_PARAM', `${name} is not valid`);
  return v;
}

/**
 * Douglas–Peucker simplification: the indices of the points to keep so that no dropped point is
 * farther than `toleranceMetres` from the kept polyline. Coordinates are [lon, lat] degrees,
 * projected equirectangularly around the middle of their bounding box (accurate to well under
 * 1 % over a city-sized track; not for tracks crossing the antimeridian). Distances are to the
 * segment, not its line, so a vehicle that turns back keeps its turning point. Iterative.
 */
export function douglasPeuckerIndices(coords: readonly (readonly [number, number])[], toleranceMetres: number): number[] {
  const n = coords.length;
  if (n <= 2) return coords.map((_, i) => i);
  let [minLon, minLat, maxLon, maxLat] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [lon, lat] of coords) [minLon, minLat, maxLon, maxLat] = [Math.min(minLon, lon), Math.min(minLat, lat), Math.max(maxLon, lon), Math.max(maxLat, lat)];
  const rad = Math.PI / 180;
  const lon0 = (minLon + maxLon) / 2;
  const lat0 = (minLat + maxLat) / 2;
  const kx = EARTH_RADIUS_M * rad * Math.cos(lat0 * rad);
  const ky = EARTH_RADIUS_M * rad;
  const xs = coords.map(([lon]) => (lon - lon0) * kx);
  const ys = coords.map(([, lat]) => (lat - lat0) * ky);
  const keep = new Uint8Array(n);
  keep[0] = keep[n - 1] = 1;
  const stack: [number, number][] = [[0, n - 1]];
  while (stack.length > 0) {
    const [a, b] = stack.pop()!;
    let far = -1;
    let farDist = toleranceMetres;
    for (let i = a + 1; i < b; i++) {
      const d = segmentDistance(xs[i]!, ys[i]!, xs[a]!, ys[a]!, xs[b]!, ys[b]!);
      if (d > farDist) [far, farDist] = [i, d];
    }
    if (far < 0) continue;
    keep[far] = 1;
    stack.push([a, far], [far, b]);
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(i);
  return out;
}

/** The simplified polyline itself (see douglasPeuckerIndices). */
export function douglasPeucker(coords: readonly (readonly [number, number])[], toleranceMetres: number): [number, number][] {
  return douglasPeuckerIndices(coords, toleranceMetres).map((i) => [coords[i]![0], coords[i]![1]]);
}

function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

const iso = (exact: string): string => new Date(exact).toISOString();

function pointProperties(p: TrackPoint | BucketPoint): Record<string, unknown> {
  const props: Record<string, unknown> = {
    time: iso(p.time), kind: p.kind, speed: p.speed, direction: p.direction, altitude: p.altitude, alarm: p.alarm, status: p.status, mileage: p.mileage,
  };
  if ('bucket' in p) Object.assign(props, { bucket: iso(p.bucket), count: p.count, maxSpeed: p.maxSpeed });
  return props;
}

interface TrackOptions {
  from: Date;
  to: Date;
  bucketSeconds?: number;
  tolerance?: number;
  points: boolean;
}

/** A page of a track as GeoJSON: one LineString Feature (null geometry under two points), then its Points if asked. */
function trackCollection(page: TrackPage<TrackPoint | BucketPoint>, o: TrackOptions): Record<string, unknown> {
  const coords = page.points.map((p): [number, number] => [p.longitude, p.latitude]);
  const kept = o.tolerance === undefined ? coords.map((_, i) => i) : douglasPeuckerIndices(coords, o.tolerance);
  const v = page.vehicle;
  const line = {
    type: 'Feature',
    geometry: kept.length >= 2 ? { type: 'LineString', coordinates: kept.map((i) => coords[i]) } : null,
    properties: {
      terminal: page.terminal,
      ...(v ? { vehicleId: v.id, plate: v.plate, plateColor: v.plateColor, organisation: v.organisation } : {}),
      from: o.from.toISOString(),
      to: o.to.toISOString(),
      points: kept.length,
      sourcePoints: coords.length,
      simplified: o.tolerance !== undefined,
      ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
      ...(o.bucketSeconds !== undefined ? { bucketSeconds: o.bucketSeconds } : {}),
      next: page.next ? encodeCursor(page.next) : null,
    },
  };
  const points = o.points
    ? kept.map((i) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: coords[i] }, properties: pointProperties(page.points[i]!) }))
    : [];
  return { type: 'FeatureCollection', features: [line, ...points] };
}

export type Handler = (req: FastifyRequest<{ Params: Record<string, string>; Querystring: Query }>, reply: FastifyReply) => Promise<unknown>;

/** Answers a RequestError with its status and coded body; anything else stays a 500. */
export function guarded(fn: Handler): Handler {
  return async (req, reply) => {
    try {
      return await fn(req, reply);
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    }
  };
}

/**
 * Read routes of the track store: a terminal's or vehicle's track as GeoJSON (paged, optionally
 * bucketed and simplified), last positions by bounding box and organisation, and events.
 */
export function registerTrackRoutes(app: FastifyInstance, deps: { sql: Sql }): void {
  const { sql } = deps;

  const trackRoute = (target: (params: Record<string, string>) => TrackTarget): Handler =>
    guarded(async (req) => {
      const who = target(req.params);
      const q = req.query;
      const range = parseRange(q);
      const limit = parseLimit(q.limit);
      const cursor = decodeCursor(q.cursor);
      const bucketSeconds = parseBucket(q.bucket);
      const tolerance = parseTolerance(q.tolerance);
      const points = parseFlag('points', q.points);
      const query = { ...who, ...range, limit, ...(cursor ? { cursor } : {}) };
      const page = bucketSeconds === undefined ? await track(sql, query) : await bucketed(sql, query, bucketSeconds);
      if (!page) throw new RequestError(404, 'FG_ERR_NOT_FOUND', `vehicle ${req.params.id} is unknown`);
      return trackCollection(page, { ...range, bucketSeconds, tolerance, points });
    });

  app.get('/api/terminals/:id/track', trackRoute((p) => ({ terminal: parseTerminal(p.id) })));

  app.get(
    '/api/vehicles/:id/track',
    trackRoute((p) => {
      if (!VEHICLE.test(p.id ?? '')) throw bad('FG_ERR_BAD_VEHICLE', 'vehicle id is a positive integer');
      return { vehicleId: Number(p.id) };
    }),
  );

  app.get(
    '/api/positions/last',
    guarded(async (req) => {
      const q = req.query;
      const bbox = parseBbox(q.bbox);
      const organisation = optionalText('organisation', q.organisation, /^.{1,200}$/u);
      const { positions, truncated } = await lastPositions(sql, { ...(bbox ? { bbox } : {}), ...(organisation !== undefined ? { organisation } : {}), limit: parseLimit(q.limit) });
      return {
        type: 'FeatureCollection',
        truncated,
        features: positions.map(({ longitude, latitude, time, receivedAt, ...rest }) => ({
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [longitude, latitude] },
          properties: { ...rest, time: iso(time), receivedAt: iso(receivedAt) },
        })),
      };
    }),
  );

  app.get(
    '/api/events',
    guarded(async (req) => {
      const q = req.query;
      const terminal = q.terminal === undefined ? undefined : parseTerminal(q.terminal);
      const range = parseRange(q);
      const kind = optionalText('kind', q.kind, EVENT_KIND);
      const rule = optionalText('rule', q.rule, EVENT_KIND);
      const late = q.late === undefined ? undefined : parseFlag('late', q.late);
      const open = parseFlag('open', q.open);
      const limit = parseLimit(q.limit);
      const res = await events(sql, {
        ...range, limit, open, ...(terminal ? { terminal } : {}), ...(kind ? { kind } : {}), ...(rule ? { rule } : {}), ...(late !== undefined ? { late } : {}),
      });
      return {
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        truncated: res.truncated,
        events: res.events.map((e) => ({ ...e, startedAt: iso(e.startedAt), endedAt: e.endedAt === null ? null : iso(e.endedAt) })),
      };
    }),
  );
}
