import type { Sql } from './sql.js';

/**
 * The read side of the track store: tracks, time-bucketed tracks, last positions and events.
 * Every query is parameterised and runs unchanged on PostgreSQL (with or without TimescaleDB)
 * and PGlite. Times cross the boundary as text with microseconds, so a paging cursor names a
 * stored row exactly (a JS Date would round it to milliseconds).
 */

/** A stored time as exact ISO 8601 UTC text with microseconds, e.g. `2024-03-01T08:00:00.000000Z`. */
const TIME_TEXT = (col: string): string => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Where a page of a track ends: the last point's exact time and kind. */
export interface TrackCursor {
  time: string;
  kind: number;
}

export interface TrackRange {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Points per page (the caller bounds it). */
  limit: number;
  /** Continue after this point (from the previous page's `next`). */
  cursor?: TrackCursor;
}

/** Whose track: a terminal directly, or a vehicle through `vehicles.terminal`. */
export type TrackTarget = { terminal: string } | { vehicleId: number };

export interface TrackPoint {
  /** Exact device time, see TIME_TEXT. */
  time: string;
  kind: number;
  latitude: number;
  longitude: number;
  altitude: number | null;
  speed: number | null;
  direction: number | null;
  alarm: number;
  status: number;
  mileage: number | null;
}

/** The last point of a time bucket, with the bucket's figures. */
export interface BucketPoint extends TrackPoint {
  /** Start of the bucket (buckets are aligned to the Unix epoch). */
  bucket: string;
  /** Points in the bucket (one per device time). */
  count: number;
  maxSpeed: number | null;
}

export interface VehicleRef {
  id: number;
  plate: string;
  plateColor: number | null;
  organisation: string | null;
  terminal: string | null;
}

export interface TrackPage<P extends TrackPoint> {
  /** The terminal read; null for a vehicle with no terminal fitted (its page is empty). */
  terminal: string | null;
  vehicle?: VehicleRef;
  points: P[];
  /** Cursor for the next page; null when this page reached the end of the range. */
  next: TrackCursor | null;
}

const POINT_COLUMNS = `${TIME_TEXT('time')} as time, kind, latitude, longitude, altitude, speed, direction,
  alarm::float8 as alarm, status::float8 as status, mileage`;

/**
 * One point per device time: the same time may be stored under several kinds (a live 0x0200 and
 * the same fix resent in a 0x0704 batch); the lowest kind wins, so a live point is preferred.
 * Parameters: $1 terminal, $2 from, $3 to, $4 cursor time (null for the first page).
 */
const DEDUPED = `
  select distinct on (time) time, kind, latitude, longitude, altitude, speed, direction, alarm, status, mileage
  from positions
  where terminal = $1 and time >= $2::timestamptz and time < $3::timestamptz
    and ($4::timestamptz is null or time > $4::timestamptz)
  order by time, kind`;

/** The vehicle with this id, or undefined. */
export async function vehicleById(sql: Sql, id: number): Promise<VehicleRef | undefined> {
  const rows = await sql.query<VehicleRef>(
    `select id::float8 as id, plate, plate_color as "plateColor", organisation, terminal from vehicles where id = $1`,
    [id],
  );
  return rows[0];
}

type Resolved = { terminal: string | null; vehicle?: VehicleRef } | undefined;

async function resolve(sql: Sql, target: TrackTarget): Promise<Resolved> {
  if ('terminal' in target) return { terminal: target.terminal };
  const vehicle = await vehicleById(sql, target.vehicleId);
  return vehicle && { terminal: vehicle.terminal, vehicle };
}

/**
 * Pages of `limit` rows, fetching one more to learn whether another page follows. Paging is by
 * time alone because a page holds one point per time: the next page starts after the cursor's
 * time (its kind is carried so the cursor names the row, not used for ordering).
 */
async function page<P extends TrackPoint>(sql: Sql, target: TrackTarget, range: TrackRange, text: string, extra: unknown[]): Promise<TrackPage<P> | undefined> {
  const who = await resolve(sql, target);
  if (!who) return undefined;
  const base = { terminal: who.terminal, ...(who.vehicle ? { vehicle: who.vehicle } : {}) };
  if (who.terminal === null) return { ...base, points: [], next: null };
  const params = [who.terminal, range.from.toISOString(), range.to.toISOString(), range.cursor?.time ?? null, range.limit + 1, ...extra];
  const rows = await sql.query<P>(text, params);
  const more = rows.length > range.limit;
  const points = more ? rows.slice(0, range.limit) : rows;
  const last = points[points.length - 1];
  return { ...base, points, next: more && last ? { time: last.time, kind: last.kind } : null };
}

/** A track in time order, one point per device time, `range.limit` points per page; undefined for an unknown vehicle. */
export function track(sql: Sql, q: TrackTarget & TrackRange): Promise<TrackPage<TrackPoint> | undefined> {
  const text = `select ${POINT_COLUMNS} from (${DEDUPED}) d order by d.time limit $5`;
  return page<TrackPoint>(sql, q, q, text, []);
}

/**
 * A track reduced to one point per `bucketSeconds` bucket: the bucket's last point, with the
 * number of points and the highest speed in it, all computed in SQL. `range.limit` counts
 * buckets; a cursor (the last bucket's last point) continues with the following bucket, since
 * every point of the earlier buckets is at or before it.
 */
export function bucketed(sql: Sql, q: TrackTarget & TrackRange, bucketSeconds: number): Promise<TrackPage<BucketPoint> | undefined> {
  const text = `
    select ${POINT_COLUMNS}, ${TIME_TEXT('bucket')} as bucket, n as count, max_speed as "maxSpeed"
    from (
      select distinct on (bucket) b.*,
        count(*) over (partition by bucket)::int as n,
        max(speed) over (partition by bucket) as max_speed
      from (select date_bin($6::int * interval '1 second', d.time, timestamptz '1970-01-01 00:00:00+00') as bucket, d.*
            from (${DEDUPED}) d) b
      order by bucket, time desc
    ) x
    order by bucket limit $5`;
  return page<BucketPoint>(sql, q, q, text, [bucketSeconds]);
}

export interface LastPosition {
  terminal: string;
  time: string;
  receivedAt: string;
  latitude: number;
  longitude: number;
  altitude: number | null;
  speed: number | null;
  direction: number | null;
  alarm: number;
  status: number;
  mileage: number | null;
  fuel: number | null;
  vehicleId: number | null;
  plate: string | null;
  plateColor: number | null;
  organisation: string | null;
}

export interface LastPositionsQuery {
  /** [minLon, minLat, maxLon, maxLat], edges included. */
  bbox?: readonly [number, number, number, number];
  organisation?: string;
  limit: number;
}

/** Each terminal's last position (by terminal id), with its vehicle when one is bound; `truncated` when `limit` cut the list. */
export async function lastPositions(sql: Sql, q: LastPositionsQuery): Promise<{ positions: LastPosition[]; truncated: boolean }> {
  const where: string[] = [];
  const params: unknown[] = [];
  // Only constant SQL fragments are joined; every value goes in as a parameter.
  if (q.bbox) {
    params.push(...q.bbox);
    where.push('lp.longitude between $1 and $3', 'lp.latitude between $2 and $4');
  }
  if (q.organisation !== undefined) {
    params.push(q.organisation);
    where.push(`v.organisation = $${params.length}`);
  }
  params.push(q.limit + 1);
  const rows = await sql.query<LastPosition>(
    `select lp.terminal, ${TIME_TEXT('lp.time')} as time, ${TIME_TEXT('lp.received_at')} as "receivedAt",
       lp.latitude, lp.longitude, lp.altitude, lp.speed, lp.direction, lp.alarm::float8 as alarm, lp.status::float8 as status,
       lp.mileage, lp.fuel, v.id::float8 as "vehicleId", v.plate, v.plate_color as "plateColor", v.organisation
     from last_positions lp left join vehicles v on v.terminal = lp.terminal
     ${where.length ? `where ${where.join(' and ')}` : ''}
     order by lp.terminal limit $${params.length}`,
    params,
  );
  const truncated = rows.length > q.limit;
  return { positions: truncated ? rows.slice(0, q.limit) : rows, truncated };
}

export interface EventRow {
  id: number;
  /** The rule engine's id of the event (start and end share it); null for events from elsewhere. */
  eventId: string | null;
  terminal: string;
  rule: string | null;
  kind: string;
  severity: number;
  startedAt: string;
  endedAt: string | null;
  late: boolean;
  data: unknown;
}

export interface EventsQuery {
  terminal?: string;
  /** Events that started in [from, to). */
  from: Date;
  to: Date;
  kind?: string;
  rule?: string;
  late?: boolean;
  /** Only events not ended yet. */
  open?: boolean;
  limit: number;
}

/** Events that started in the range, oldest first; `truncated` when `limit` cut the list. */
export async function events(sql: Sql, q: EventsQuery): Promise<{ events: EventRow[]; truncated: boolean }> {
  const params: unknown[] = [q.from.toISOString(), q.to.toISOString()];
  const where = ['started_at >= $1::timestamptz', 'started_at < $2::timestamptz'];
  if (q.terminal !== undefined) {
    params.push(q.terminal);
    where.push(`terminal = $${params.length}`);
  }
  if (q.kind !== undefined) {
    params.push(q.kind);
    where.push(`kind = $${params.length}`);
  }
  if (q.rule !== undefined) {
    params.push(q.rule);
    where.push(`rule = $${params.length}`);
  }
  if (q.late !== undefined) {
    params.push(q.late);
    where.push(`late = $${params.length}`);
  }
  if (q.open) where.push('ended_at is null');
  params.push(q.limit + 1);
  const rows = await sql.query<EventRow>(
    `select id::float8 as id, event_key as "eventId", terminal, rule, kind, severity, ${TIME_TEXT('started_at')} as "startedAt",
       case when ended_at is null then null else ${TIME_TEXT('ended_at')} end as "endedAt", late, data
     from events where ${where.join(' and ')}
     order by started_at, id limit $${params.length}`,
    params,
  );
  const truncated = rows.length > q.limit;
  return { events: truncated ? rows.slice(0, q.limit) : rows, truncated };
}

export interface RawFrameRow {
  /** Exact time text (microseconds) as stored. */
  receivedAt: string;
  direction: 'up' | 'down';
  msgId: number;
  frame: Buffer;
}

/** A terminal's archived frames (`store.rawFrames`) in the range, in the order they passed. */
export async function rawFrames(sql: Sql, q: { terminal: string; from: Date; to: Date; limit: number }): Promise<{ frames: RawFrameRow[]; truncated: boolean }> {
  const rows = await sql.query<RawFrameRow>(
    `select ${TIME_TEXT('received_at')} as "receivedAt", direction, msg_id as "msgId", frame
     from raw_frames where terminal = $1 and received_at >= $2::timestamptz and received_at < $3::timestamptz
     order by received_at limit $4`,
    [q.terminal, q.from.toISOString(), q.to.toISOString(), q.limit + 1],
  );
  const truncated = rows.length > q.limit;
  const frames = (truncated ? rows.slice(0, q.limit) : rows).map((r) => ({ ...r, frame: Buffer.from(r.frame) }));
  return { frames, truncated };
}
