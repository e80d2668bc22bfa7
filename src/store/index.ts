import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { migrate, type MigrateResult } from './migrations.js';
import { Spool } from './spool.js';
import { SqlTerminalStore } from './sql-store.js';
import { RawFrameArchive } from './raw-frames.js';
import { PgliteSql, PostgresSql, type Sql } from './sql.js';
import { PositionWriter } from './writer.js';

export interface Storage {
  sql: Sql;
  terminals: SqlTerminalStore;
  writer: PositionWriter;
  migration: MigrateResult;
  /** The raw-frame archive, when `store.rawFrames` is on. */
  archive: RawFrameArchive | undefined;
  close(): Promise<void>;
}

/** Opens the configured database (PostgreSQL or PGlite), applying migrations. */
export async function openSql(cfg: Config['store']): Promise<Sql> {
  if (cfg.databaseUrl) return new PostgresSql(cfg.databaseUrl, { max: cfg.maxConnections });
  mkdirSync(cfg.dataDir, { recursive: true });
  return PgliteSql.open(join(cfg.dataDir, 'pglite'));
}

/**
 * The track store: migrations at start-up, the terminal store, the batched position writer
 * with its spool, the optional raw-frame archive, and daily partition upkeep. A spool an earlier run left is replayed by
 * `writer.recover()`, which the caller runs once whatever consumes committed rows (the rules,
 * the ClickHouse mirror) is attached, so those rows reach them too.
 */
export async function openStorage(cfg: Config['store'], log: Log, metrics: Metrics): Promise<Storage> {
  const sql = await openSql(cfg);
  const migration = await migrate(sql);
  if (migration.applied.length) log.info({ applied: migration.applied, timescale: migration.timescale }, 'migrations applied');
  const spool = new Spool(join(cfg.dataDir, 'spool'), cfg.spoolMaxBytes);
  // Positions get connections of their own: a batch must not queue behind the terminal store's
  // queries, which fill a shared pool when thousands of terminals register at once.
  const positionsSql = cfg.databaseUrl ? new PostgresSql(cfg.databaseUrl, { max: cfg.maxInFlightBatches }) : sql;
  const writer = new PositionWriter(positionsSql, spool, {
    batchMaxRows: cfg.batchMaxRows, batchMaxMs: cfg.batchMaxMs, maxInFlight: cfg.maxInFlightBatches, probeEveryMs: cfg.probeEveryMs,
  }, log, metrics);
  const upkeep = async (): Promise<void> => {
    try {
      await sql.query('select fleetgate_ensure_partitions(1, 7)');
      await sql.query('select fleetgate_drop_partitions($1)', [cfg.retentionDays]);
      await sql.query('select fleetgate_drop_raw_partitions($1)', [cfg.rawFramesRetentionDays]);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'partition upkeep failed; will retry');
    }
  };
  await upkeep();
  const archive = cfg.rawFrames
    ? new RawFrameArchive(sql, { batchMaxRows: 5000, flushEveryMs: 1000, maxBuffered: cfg.rawFramesMaxBuffered }, log, metrics)
    : undefined;
  const timer = setInterval(() => void upkeep(), 3600_000);
  timer.unref();
  return {
    sql, terminals: new SqlTerminalStore(sql), writer, migration, archive,
    async close() {
      clearInterval(timer);
      await writer.close();
      await archive?.close();
      if (positionsSql !== sql) await positionsSql.close();
      await sql.close();
    },
  };
}
