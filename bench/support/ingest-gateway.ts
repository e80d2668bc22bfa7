/**
 * The gateway under test, in its own process: `startFleetgate` as `fleetgate serve` runs it —
 * embedded MQTT broker with the normal PublishPipeline behind the store, the SQL terminal store,
 * the batched position writer — on free ports, log silent, per-connection frame rate raised.
 * INGEST_CONFIG='{"rules":{"enabled":false}}' adds config sections (gateway, mqtt, http, store and
 * log stay the bench's own), to measure what a part costs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startFleetgate, type Fleetgate } from '../../src/app.js';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { silentLog } from '../../src/log.js';
import { PostgresSql } from '../../src/store/sql.js';
import { serveIngestRequests } from './ingest-proc.js';

export interface IngestGatewayArgs {
  /** PostgreSQL URL; unset = PGlite under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /** store.* overrides (batch size, in-flight batches …). */
  store?: ConfigInput['store'];
}

export interface IngestGatewayStats {
  writer: { inserted: number; duplicates: number; spooled: number; rejected: number; replayed: number };
  pendingRows: number;
  sessions: number;
  busBuffered: number;
  busDropped: number;
  /** Event-loop delay since the last 'stats' (ms); null when the monitor recorded nothing. */
  loopDelayMs: { p50: number; p99: number; max: number } | null;
  /** Batches committed and their mean duration since start (ms), from the store metric. */
  batches: { count: number; meanMs: number; meanRows: number };
  /** node-postgres pool: connections open, idle, and queries waiting for one (PostgreSQL only). */
  pool?: { total: number; idle: number; waiting: number };
}

export function runIngestGateway(): void {
  let app: Fleetgate | undefined;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  serveIngestRequests({
    start: async (raw) => {
      const a = raw as IngestGatewayArgs;
      const extra = process.env.INGEST_CONFIG ? (JSON.parse(process.env.INGEST_CONFIG) as ConfigInput) : {};
      const config = loadConfig({
        ...extra,
        gateway: { host: '127.0.0.1', port: 0, maxFramesPerSecond: 10_000 },
        mqtt: { embeddedPort: 0, clientId: `fg-ingest-${process.pid}` },
        http: { host: '127.0.0.1', port: 0 },
        store: { kind: 'database', dataDir: a.dataDir, ...(a.databaseUrl ? { databaseUrl: a.databaseUrl } : {}), ...a.store },
        log: { level: 'silent' },
      });
      app = await startFleetgate(config, silentLog());
      loop.enable();
      return { port: app.ports.gateway, store: config.store };
    },
    stats: async (): Promise<IngestGatewayStats> => {
      if (!app) throw new Error('not started');
      const w = app.storage!.writer;
      const batch = (await app.metrics.storeBatchSeconds.get()).values;
      const sum = batch.find((v) => v.metricName === 'fleetgate_store_batch_seconds_sum')?.value ?? 0;
      const count = batch.find((v) => v.metricName === 'fleetgate_store_batch_seconds_count')?.value ?? 0;
      const out: IngestGatewayStats = {
        writer: { ...w.counts },
        pendingRows: w.pendingRows,
        sessions: app.gateway.online().length,
        busBuffered: app.bus.stats.buffered,
        busDropped: app.bus.stats.dropped,
        // No samples at all means the loop never got round to the monitor's timer: report that, not zeros.
        loopDelayMs: loop.count === 0 ? null : { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        batches: { count, meanMs: count ? (sum / count) * 1000 : 0, meanRows: count ? (w.counts.inserted + w.counts.duplicates) / count : 0 },
      };
      const sql = app.storage!.sql;
      if (sql instanceof PostgresSql) out.pool = { total: sql.pool.totalCount, idle: sql.pool.idleCount, waiting: sql.pool.waitingCount };
      loop.reset();
      return out;
    },
    exit: async () => {
      await app?.close();
      app = undefined;
    },
  });
}
