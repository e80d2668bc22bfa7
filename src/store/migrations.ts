import type { Sql } from './sql.js';

/**
 * Versioned schema migrations, applied in order by `fleetgate migrate` and at start-up, each in
 * its own transaction and recorded in schema_migrations. The same SQL runs on PostgreSQL and
 * PGlite; where TimescaleDB is present, positions become a hypertable with compression,
 * retention and an hourly continuous aggregate, and otherwise a table partitioned by day.
 * Both paths expose the same tables and views to the rest of the code.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQL for each backend flavour; `common` runs everywhere. */
  common?: string;
  timescale?: string;
  native?: string;
}

// kind: 0 live 0x0200, 1 batch 0x0704 type 0, 2 blind-area 0x0704 type 1, 3 location in a reply.
// The primary key is the duplicate key: a resent position is dropped on (terminal, time, kind).
const POSITION_COLUMNS = `terminal text not null,
        time timestamptz not null,
        kind smallint not null,
        received_at timestamptz not null,
        latitude double precision not null,
        longitude double precision not null,
        altitude integer, speed real, direction smallint,
        alarm bigint not null, status bigint not null,
        mileage double precision, fuel real,
        extras jsonb,
        primary key (terminal, time, kind)`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'terminals, vehicles, commands',
    common: `
      create table terminals (
        terminal text primary key,
        auth_code text not null,
        edition smallint not null,
        edition_override smallint,
        accept_bad_checksum boolean not null default false,
        province integer, city integer, maker_id text, model text, device_id text,
        plate_color smallint, plate text,
        registered_at timestamptz not null default now()
      );
      -- The minimal vehicle binding: which plate (and organisation) a terminal is fitted to.
      create table vehicles (
        id bigserial primary key,
        plate text not null,
        plate_color smallint,
        organisation text,
        terminal text unique references terminals (terminal) on delete set null,
        created_at timestamptz not null default now(),
        unique (plate, plate_color)
      );
      create index vehicles_organisation on vehicles (organisation);
      -- Offline command queue: commands wait here until their terminal authenticates.
      create table command_queue (
        id uuid primary key,
        terminal text not null,
        msg_id integer not null,
        body jsonb,
        request_id text,
        created_at timestamptz not null,
        expires_at timestamptz not null
      );
      create index command_queue_terminal on command_queue (terminal, created_at);
      -- Every downlink command and its outcome.
      create table command_log (
        id uuid primary key,
        terminal text not null,
        msg_id integer not null,
        status text not null,
        attempts integer not null default 0,
        serials integer[] not null default '{}',
        result smallint,
        reply jsonb,
        error text,
        created_at timestamptz not null,
        sent_at timestamptz,
        finished_at timestamptz
      );
      create index command_log_terminal on command_log (terminal, created_at);
    `,
  },
  {
    version: 2,
    name: 'positions, last positions, events, raw frames',
    common: `
      create table last_positions (
        terminal text primary key,
        time timestamptz not null,
        received_at timestamptz not null,
        latitude double precision not null,
        longitude double precision not null,
        altitude integer, speed real, direction smallint,
        alarm bigint not null, status bigint not null,
        mileage double precision, fuel real
      );
      -- Alarms and events with a beginning and an end (the rules fill in the rest).
      create table events (
        id bigserial primary key,
        terminal text not null,
        kind text not null,
        severity smallint not null default 0,
        started_at timestamptz not null,
        ended_at timestamptz,
        late boolean not null default false,
        data jsonb
      );
      create index events_terminal_time on events (terminal, started_at);
      create index events_time on events (started_at);
    `,
    native: `
      create table positions (
        ${POSITION_COLUMNS}
      ) partition by range (time);
      -- Devices with broken clocks report any date: they land here instead of failing a batch.
      create table positions_default partition of positions default;
      create index positions_time_brin on positions using brin (time);
      create table raw_frames (
        terminal text not null,
        received_at timestamptz not null,
        msg_id integer not null,
        frame bytea not null
      ) partition by range (received_at);
      create table raw_frames_default partition of raw_frames default;

      -- Daily partitions around today; positions_default only catches far-off device clocks.
      create function fleetgate_ensure_partitions(days_back integer, days_ahead integer) returns integer
      language plpgsql as $$
      declare d date; made integer := 0; t text;
      begin
        for d in select generate_series(current_date - days_back, current_date + days_ahead, interval '1 day')::date loop
          foreach t in array array['positions', 'raw_frames'] loop
            if to_regclass(format('%s_%s', t, to_char(d, 'YYYYMMDD'))) is null then
              begin
                execute format('create table %I partition of %I for values from (%L) to (%L)',
                  t || '_' || to_char(d, 'YYYYMMDD'), t, d::timestamptz, (d + 1)::timestamptz);
                made := made + 1;
              exception when others then
                -- rows for that day already sit in the default partition: leave them there
                null;
              end;
            end if;
          end loop;
        end loop;
        return made;
      end $$;

      -- Retention: drop whole daily partitions older than keep_days.
      create function fleetgate_drop_partitions(keep_days integer) returns integer
      language plpgsql as $$
      declare r record; dropped integer := 0;
      begin
        for r in
          select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname in ('positions', 'raw_frames') and c.relname ~ '_[0-9]{8}$'
            and to_date(right(c.relname, 8), 'YYYYMMDD') < current_date - keep_days
        loop
          execute format('drop table %I', r.relname);
          dropped := dropped + 1;
        end loop;
        return dropped;
      end $$;
      select fleetgate_ensure_partitions(1, 7);

      -- Same columns as the TimescaleDB continuous aggregate, computed on demand.
      create view positions_hourly as
        select terminal, date_trunc('hour', time) as bucket, count(*) as points, max(speed) as max_speed,
               max(mileage) - min(mileage) as distance_km,
               count(*) filter (where speed > 0) as moving_points
        from positions group by terminal, date_trunc('hour', time);
    `,
    timescale: `
      create table positions (
        ${POSITION_COLUMNS}
      );
      select create_hypertable('positions', 'time', chunk_time_interval => interval '1 day');
      alter table positions set (timescaledb.compress, timescaledb.compress_segmentby = 'terminal', timescaledb.compress_orderby = 'time desc');
      select add_compression_policy('positions', interval '7 days');
      select add_retention_policy('positions', interval '400 days');
      create table raw_frames (terminal text not null, received_at timestamptz not null, msg_id integer not null, frame bytea not null);
      select create_hypertable('raw_frames', 'received_at', chunk_time_interval => interval '1 day');
      select add_retention_policy('raw_frames', interval '30 days');
      create materialized view positions_hourly with (timescaledb.continuous) as
        select terminal, time_bucket(interval '1 hour', time) as bucket, count(*) as points, max(speed) as max_speed,
               max(mileage) - min(mileage) as distance_km,
               count(*) filter (where speed > 0) as moving_points
        from positions group by terminal, time_bucket(interval '1 hour', time)
        with no data;
      select add_continuous_aggregate_policy('positions_hourly', start_offset => interval '3 hours',
        end_offset => interval '1 hour', schedule_interval => interval '30 minutes');
      -- Kept for a uniform interface: chunks are created by TimescaleDB itself.
      create function fleetgate_ensure_partitions(days_back integer, days_ahead integer) returns integer
        language sql as $$ select 0 $$;
      create function fleetgate_drop_partitions(keep_days integer) returns integer
        language sql as $$ select 0 $$;
    `,
  },
  {
    version: 3,
    name: 'rules: events with stable ids, rule state checkpoints, thresholds, geofences, vehicle groups',
    common: `
      -- A rule event is emitted at its start and again at its end; the key makes both one row.
      alter table events add column event_key text, add column rule text, add column updated_at timestamptz;
      create unique index events_key on events (event_key);
      create index events_kind_time on events (kind, started_at);
      -- Per-vehicle rule state, checkpointed by the engine (resumed after a restart, or by another process).
      create table rule_state (
        terminal text primary key,
        watermark timestamptz not null,
        state jsonb not null,
        updated_at timestamptz not null default now()
      );
      -- Threshold overrides per organisation, vehicle group or vehicle (terminal id).
      create table rule_thresholds (
        scope text not null check (scope in ('organisation', 'group', 'vehicle')),
        id text not null,
        thresholds jsonb not null,
        updated_at timestamptz not null default now(),
        primary key (scope, id)
      );
      -- Geofences as GeoJSON Features (the rules' FenceIndex is built from them at start-up).
      create table geofences (
        id text primary key,
        kind text not null,
        feature jsonb not null,
        updated_at timestamptz not null default now()
      );
      alter table vehicles add column vehicle_group text;
    `,
  },
  {
    version: 4,
    name: 'raw-frame archive: direction, lookup by terminal and time, its own retention',
    common: `
      alter table raw_frames add column direction text not null default 'up' check (direction in ('up', 'down'));
      create index raw_frames_terminal_time on raw_frames (terminal, received_at);
    `,
    native: `
      -- Raw frames are kept for days, positions for a year or more: the raw partitions go sooner.
      create function fleetgate_drop_raw_partitions(keep_days integer) returns integer
      language plpgsql as $$
      declare r record; dropped integer := 0;
      begin
        for r in
          select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname = 'raw_frames' and c.relname ~ '_[0-9]{8}$'
            and to_date(right(c.relname, 8), 'YYYYMMDD') < current_date - keep_days
        loop
          execute format('drop table %I', r.relname);
          dropped := dropped + 1;
        end loop;
        return dropped;
      end $$;
    `,
    timescale: `
      -- The retention policy of migration 1 (30 days) drops raw_frames chunks.
      create function fleetgate_drop_raw_partitions(keep_days integer) returns integer
        language sql as $$ select 0 $$;
    `,
  },
];

/** Whether TimescaleDB can be used: installed already, or available to install. */
export async function detectTimescale(sql: Sql): Promise<boolean> {
  if (sql.kind === 'pglite') return false;
  const rows = await sql.query<{ name: string }>(`select name from pg_available_extensions where name = 'timescaledb'`);
  return rows.length > 0;
}

export interface MigrateResult {
  applied: { version: number; name: string }[];
  timescale: boolean;
  current: number;
}

/** Applies the migrations not yet applied. Safe to run again (and concurrently: an advisory lock serialises it). */
export async function migrate(sql: Sql): Promise<MigrateResult> {
  const timescale = await detectTimescale(sql);
  const applied: { version: number; name: string }[] = [];
  await sql.tx(async (q) => {
    if (sql.kind === 'postgres') await q.query('select pg_advisory_xact_lock(808808)');
    await q.exec(`create table if not exists schema_migrations (
      version integer primary key, name text not null, flavour text not null, applied_at timestamptz not null default now())`);
    if (timescale) await q.query('create extension if not exists timescaledb');
    const done = new Set((await q.query<{ version: number }>('select version from schema_migrations')).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const part of [m.common, timescale ? m.timescale : m.native]) if (part) await q.exec(part);
      await q.query('insert into schema_migrations (version, name, flavour) values ($1, $2, $3)', [m.version, m.name, timescale ? 'timescale' : 'native']);
      applied.push({ version: m.version, name: m.name });
    }
  });
  return { applied, timescale, current: MIGRATIONS[MIGRATIONS.length - 1]!.version };
}
