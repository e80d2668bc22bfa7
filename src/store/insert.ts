import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import type { PositionRow } from './rows.js';
import type { Sql, SqlTx } from './sql.js';

const COLUMNS = 'terminal, time, kind, received_at, latitude, longitude, altitude, speed, direction, alarm, status, mileage, fuel, extras';

// Newest position per terminal in the batch; older rows never overwrite a newer last position.
const UPSERT_LAST = `
  insert into last_positions (terminal, time, received_at, latitude, longitude, altitude, speed, direction, alarm, status, mileage, fuel)
  select distinct on (terminal) terminal, time, received_at, latitude, longitude, altitude, speed, direction, alarm, status, mileage, fuel
  from %SOURCE% order by terminal, time desc
  on conflict (terminal) do update set
    time = excluded.time, received_at = excluded.received_at, latitude = excluded.latitude, longitude = excluded.longitude,
    altitude = excluded.altitude, speed = excluded.speed, direction = excluded.direction, alarm = excluded.alarm,
    status = excluded.status, mileage = excluded.mileage, fuel = excluded.fuel
  where excluded.time > last_positions.time`;

/** COPY text format: backslash, tab, newline and carriage return escaped; \N for null. */
export function copyField(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

const DIGITS = /^[0-9]+$/;

/** The batch as COPY text, one line per row (terminal ids are digits: no escaping to look for). */
function copyText(rows: readonly PositionRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${DIGITS.test(r.terminal) ? r.terminal : copyField(r.terminal)}\t${new Date(r.time).toISOString()}\t${r.kind}\t${new Date(r.receivedAt).toISOString()}` +
      `\t${r.latitude}\t${r.longitude}\t${r.altitude}\t${r.speed}\t${r.direction}\t${r.alarm}\t${r.status}` +
      `\t${copyField(r.mileage)}\t${copyField(r.fuel)}\t${copyField(r.extras)}\n`;
  }
  return out;
}

/**
 * Inserts a batch in one transaction: duplicates (a terminal resending what was stored but not
 * acknowledged) are dropped on (terminal, time, kind), and last positions move forward only.
 * PostgreSQL: COPY into a per-connection staging table, then INSERT … ON CONFLICT DO NOTHING.
 * PGlite (no COPY from a stream): one INSERT over unnest()ed arrays. Returns rows inserted.
 */
export async function insertPositions(sql: Sql, rows: readonly PositionRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return sql.tx((q) => (q.pgClient ? copyInsert(q, rows) : unnestInsert(q, rows)));
}

async function copyInsert(q: SqlTx, rows: readonly PositionRow[]): Promise<number> {
  const client = q.pgClient!;
  await client.query('create temp table if not exists positions_stage (like positions including defaults) on commit delete rows');
  await pipeline(Readable.from([copyText(rows)]), client.query(copyStreams.from(`copy positions_stage (${COLUMNS}) from stdin`)));
  const ins = await client.query(`insert into positions (${COLUMNS}) select ${COLUMNS} from positions_stage on conflict do nothing`);
  await client.query(UPSERT_LAST.replace('%SOURCE%', 'positions_stage'));
  return ins.rowCount ?? 0;
}

async function unnestInsert(q: SqlTx, rows: readonly PositionRow[]): Promise<number> {
  const col = <T>(f: (r: PositionRow) => T): T[] => rows.map(f);
  const params = [
    col((r) => r.terminal), col((r) => new Date(r.time).toISOString()), col((r) => r.kind), col((r) => new Date(r.receivedAt).toISOString()),
    col((r) => r.latitude), col((r) => r.longitude), col((r) => r.altitude), col((r) => r.speed), col((r) => r.direction),
    col((r) => r.alarm), col((r) => r.status), col((r) => r.mileage), col((r) => r.fuel), col((r) => r.extras),
  ];
  const source = `unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::timestamptz[], $5::float8[], $6::float8[], $7::int[],
    $8::real[], $9::smallint[], $10::bigint[], $11::bigint[], $12::float8[], $13::real[], $14::jsonb[]) as s(${COLUMNS})`;
  const inserted = await q.query<{ n: number }>(
    `with ins as (insert into positions (${COLUMNS}) select * from ${source} on conflict do nothing returning 1) select count(*)::int as n from ins`,
    params,
  );
  await q.query(UPSERT_LAST.replace('%SOURCE%', `(select * from ${source}) s2`), params);
  return inserted[0]?.n ?? 0;
}
