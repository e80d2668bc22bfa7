import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError } from '../config.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PositionRow } from './rows.js';

/**
 * The ClickHouse analytics sink: positions and events mirrored into MergeTree tables partitioned
 * by month. `push` only appends to a bounded in-memory queue (the oldest rows are dropped and
 * counted when it is full), and a background flusher per table inserts batches, retrying with
 * exponential back-off while ClickHouse is unreachable — so it never slows or blocks the
 * acknowledgement path. The SQL is kept to what ClickHouse 18.16 (Debian's package) accepts:
 * no DateTime64 (seconds plus a millisecond column), no LowCardinality, no JSON type, no
 * `{name:Type}` query parameters.
 */

/** One rule event (the `events` table), as mirrored to ClickHouse. Times are epoch milliseconds. */
export interface EventRow {
  terminal: string;
  kind: string;
  severity: number;
  startedAt: number;
  endedAt: number | null;
  late: boolean;
  /** Event details: JSON text, or an object serialised here. */
  data: string | Record<string, unknown> | null;
}

export interface ClickHouseSinkOptions {
  /** Database holding `positions` and `events` (default: the URL's path, else `fleetgate`). */
  database?: string;
  /** Rows per INSERT; a full batch is sent at once. */
  batchMaxRows?: number;
  /** A partial batch is sent after waiting this long. */
  flushIntervalMs?: number;
  /** Rows held per table while ClickHouse is slow or away; beyond it the oldest are dropped (counted). */
  maxQueuedRows?: number;
  /** First retry delay after a failed insert; doubles per failure up to `retryMaxMs` (±20 % jitter). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Attempts for a batch that ClickHouse itself refuses (not for outages, which are retried forever). */
  maxServerErrorAttempts?: number;
  requestTimeoutMs?: number;
}

const DEFAULTS: Required<Omit<ClickHouseSinkOptions, 'database'>> = {
  batchMaxRows: 10_000,
  flushIntervalMs: 1000,
  maxQueuedRows: 500_000,
  retryInitialMs: 500,
  retryMaxMs: 30_000,
  maxServerErrorAttempts: 5,
  requestTimeoutMs: 30_000,
};

export interface ClickHouseTableStats {
  /** Rows waiting, including the batch being inserted. */
  queued: number;
  inserted: number;
  /** Rows dropped from a full queue, or still queued when the sink closed. */
  dropped: number;
  /** Rows of batches ClickHouse refused `maxServerErrorAttempts` times. */
  rejected: number;
  /** Failed insert attempts (each is retried). */
  failures: number;
}

export interface ClickHouseSinkStats extends ClickHouseTableStats {
  /** Whether the last request to ClickHouse succeeded. */
  reachable: boolean;
  positions: ClickHouseTableStats;
  events: ClickHouseTableStats;
}

type Table = 'positions' | 'events';
type Record_ = Record<string, unknown>;

// ReplacingMergeTree (a MergeTree) keyed like the store's duplicate key (terminal, device time,
// kind): a batch retried after an ambiguous failure, or a terminal's resend, collapses on merge
// (`FINAL` gives exact counts before that). An event pushed again when it ends replaces the open one.
const schema = (db: string): string[] => [
  `CREATE DATABASE IF NOT EXISTS ${db}`,
  `CREATE TABLE IF NOT EXISTS ${db}.positions (
    terminal String, time DateTime, time_ms UInt16, kind UInt8, received_at DateTime,
    latitude Float64, longitude Float64, altitude Int32, speed Float32, direction UInt16,
    alarm UInt32, status UInt32, mileage Nullable(Float64), fuel Nullable(Float32), extras String
  ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (terminal, time, time_ms, kind)`,
  `CREATE TABLE IF NOT EXISTS ${db}.events (
    terminal String, kind String, severity UInt8, started_at DateTime, ended_at Nullable(DateTime),
    late UInt8, data String
  ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(started_at) ORDER BY (terminal, started_at, kind)`,
];

// DateTime is a UInt32 of seconds: device clocks outside 1970..2106 are clamped rather than
// failing the whole batch.
const MAX_DATETIME = 0xffff_ffff;
const seconds = (ms: number): number => (Number.isFinite(ms) ? Math.min(MAX_DATETIME, Math.max(0, Math.floor(ms / 1000))) : 0);
const millis = (ms: number): number => (Number.isFinite(ms) && ms >= 0 && ms < (MAX_DATETIME + 1) * 1000 ? Math.floor(ms) % 1000 : 0);
const finite = (v: number): number => (Number.isFinite(v) ? v : 0);
const int = (v: number, min: number, max: number): number => (Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : 0);
const orNull = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

function positionRecord(r: PositionRow): Record_ {
  return {
    terminal: r.terminal, time: seconds(r.time), time_ms: millis(r.time), kind: int(r.kind, 0, 255),
    received_at: seconds(r.receivedAt), latitude: finite(r.latitude), longitude: finite(r.longitude),
    altitude: int(r.altitude, -0x8000_0000, 0x7fff_ffff), speed: finite(r.speed), direction: int(r.direction, 0, 0xffff),
    alarm: r.alarm >>> 0, status: r.status >>> 0, mileage: orNull(r.mileage), fuel: orNull(r.fuel), extras: r.extras ?? '',
  };
}

function eventRecord(e: EventRow): Record_ {
  return {
    terminal: e.terminal, kind: e.kind, severity: int(e.severity, 0, 255), started_at: seconds(e.startedAt),
    ended_at: e.endedAt === null ? null : seconds(e.endedAt), late: e.late ? 1 : 0,
    data: e.data === null ? '' : typeof e.data === 'string' ? e.data : JSON.stringify(e.data),
  };
}

interface SinkMetrics {
  rows: Counter<'table' | 'result'>;
  failures: Counter<'table'>;
  queued: Gauge<'table'>;
}

/** Registered once per registry (several sinks, e.g. in tests, share the series). */
function sinkMetrics(registry: Registry): SinkMetrics {
  const get = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const registers = [registry];
  return {
    rows: get('fleetgate_clickhouse_rows_total', () => new Counter({ name: 'fleetgate_clickhouse_rows_total', help: 'Rows mirrored to ClickHouse, by table and result (inserted, dropped, rejected)', labelNames: ['table', 'result'] as const, registers })),
    failures: get('fleetgate_clickhouse_insert_failures_total', () => new Counter({ name: 'fleetgate_clickhouse_insert_failures_total', help: 'Failed ClickHouse insert attempts (retried)', labelNames: ['table'] as const, registers })),
    queued: get('fleetgate_clickhouse_queue_rows', () => new Gauge({ name: 'fleetgate_clickhouse_queue_rows', help: 'Rows waiting for ClickHouse, by table', labelNames: ['table'] as const, registers })),
  };
}

/** What a table's flusher needs from the sink. */
interface SinkCore {
  readonly opts: Required<Omit<ClickHouseSinkOptions, 'database'>>;
  readonly log: Log;
  readonly m: SinkMetrics;
  insert(table: Table, values: Record_[]): Promise<void>;
}

/** One table's bounded queue and its flusher loop (one batch in flight at a time, in order). */
class TableQueue<T> {
  readonly stats: ClickHouseTableStats = { queued: 0, inserted: 0, dropped: 0, rejected: 0, failures: 0 };
  readonly done: Promise<void>;
  private rows: T[] = [];
  private head = 0;
  private inflight: Record_[] = [];
  private reportedQueued = 0;
  private urgent = false;
  private stopped = false;
  private warnedDrop = false;
  private wake: (() => void) | null = null;
  private wakeOnPush = false;
  private idle = false;
  private readonly drainWaiters = new Set<() => void>();

  constructor(private readonly core: SinkCore, readonly table: Table, private readonly toRecord: (row: T) => Record_) {
    this.done = this.loop();
  }

  private get pending(): number {
    return this.rows.length - this.head;
  }

  push(rows: readonly T[]): void {
    for (const r of rows) this.rows.push(r);
    // The batch in flight is bounded by batchMaxRows ≤ maxQueuedRows, so the excess is always pending.
    const excess = this.pending + this.inflight.length - this.core.opts.maxQueuedRows;
    if (excess > 0) this.drop(excess, 'ClickHouse queue full: dropping the oldest rows');
    this.compact();
    this.report();
    // The loop waits for the first row of a batch (to start its interval) and for a full batch.
    if (this.wakeOnPush && (this.idle || this.pending >= this.core.opts.batchMaxRows)) this.wake?.();
  }

  /** Resolves true once nothing is queued, false after timeoutMs. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.pending + this.inflight.length === 0) return Promise.resolve(true);
    this.urgent = true;
    if (this.wakeOnPush) this.wake?.();
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.drainWaiters.delete(onDrain);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.drainWaiters.add(onDrain);
    });
  }

  /** Ends the loop (an insert in flight finishes or fails on its own). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Counts whatever is still queued as dropped (at close). */
  abandon(): void {
    const left = this.pending + this.inflight.length;
    if (left > 0) this.core.log.warn({ table: this.table, rows: left }, 'ClickHouse sink closed with rows not inserted');
    this.count('dropped', this.inflight.length);
    this.inflight = [];
    this.drop(this.pending, '');
    this.report();
  }

  private async loop(): Promise<void> {
    const o = this.core.opts;
    let batchOpenedAt = Date.now();
    let failuresInRow = 0;
    let serverErrors = 0;
    while (!this.stopped) {
      if (this.inflight.length === 0) {
        if (this.pending === 0) {
          this.urgent = false;
          for (const w of [...this.drainWaiters]) w();
          this.idle = true;
          await this.sleep(Infinity, true);
          this.idle = false;
          batchOpenedAt = Date.now();
          continue;
        }
        const wait = batchOpenedAt + o.flushIntervalMs - Date.now();
        if (this.pending < o.batchMaxRows && !this.urgent && wait > 0) {
          await this.sleep(wait, true);
          continue;
        }
        const n = Math.min(this.pending, o.batchMaxRows);
        this.inflight = this.rows.slice(this.head, this.head + n).map(this.toRecord);
        this.head += n;
        this.compact();
        batchOpenedAt = Date.now();
      }
      try {
        await this.core.insert(this.table, this.inflight);
        if (this.stopped) return;
        if (failuresInRow > 0) this.core.log.info({ table: this.table, failures: failuresInRow }, 'ClickHouse inserts succeed again');
        this.count('inserted', this.inflight.length);
        this.inflight = [];
        failuresInRow = serverErrors = 0;
        this.warnedDrop = false;
      } catch (err) {
        if (this.stopped) return;
        this.stats.failures++;
        this.core.m.failures.inc({ table: this.table });
        const refused = err instanceof ClickHouseError;
        if (refused) serverErrors++;
        const fields = { table: this.table, rows: this.inflight.length, queued: this.pending + this.inflight.length, err: errorText(err) };
        if (failuresInRow++ === 0) this.core.log.warn(fields, 'ClickHouse insert failed; retrying with back-off');
        else this.core.log.debug(fields, 'ClickHouse insert failed again');
        if (refused && serverErrors >= o.maxServerErrorAttempts) {
          this.core.log.error(fields, 'ClickHouse refused a batch repeatedly; it is discarded');
          this.count('rejected', this.inflight.length);
          this.inflight = [];
          serverErrors = 0;
        }
        await this.sleep(backoff(o.retryInitialMs, o.retryMaxMs, failuresInRow - 1), false);
      }
      this.report();
    }
  }

  /** Waits ms (Infinity: until woken); an idle wait also ends when rows arrive or a flush is asked. */
  private sleep(ms: number, wakeOnPush: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.wake?.(), ms) : undefined;
      timer?.unref();
      this.wakeOnPush = wakeOnPush;
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        this.wakeOnPush = false;
        resolve();
      };
    });
  }

  private drop(n: number, message: string): void {
    if (n <= 0) return;
    this.head += n;
    this.count('dropped', n);
    if (message && !this.warnedDrop) {
      this.warnedDrop = true;
      this.core.log.warn({ table: this.table, maxQueuedRows: this.core.opts.maxQueuedRows }, message);
    }
  }

  private count(result: 'inserted' | 'dropped' | 'rejected', n: number): void {
    this.stats[result] += n;
    this.core.m.rows.inc({ table: this.table, result }, n);
  }

  /** Keeps `push` O(1) amortised: the consumed front is cut off once it is half the array. */
  private compact(): void {
    if (this.head === this.rows.length) {
      this.rows = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 >= this.rows.length) {
      this.rows = this.rows.slice(this.head);
      this.head = 0;
    }
  }

  private report(): void {
    const q = this.pending + this.inflight.length;
    this.stats.queued = q;
    const delta = q - this.reportedQueued;
    if (delta > 0) this.core.m.queued.inc({ table: this.table }, delta);
    else if (delta < 0) this.core.m.queued.dec({ table: this.table }, -delta);
    this.reportedQueued = q;
  }
}

export class ClickHouseSink implements SinkCore {
  readonly opts: Required<Omit<ClickHouseSinkOptions, 'database'>>;
  readonly m: SinkMetrics;
  /** The database the tables live in. */
  readonly database: string;
  private readonly client: ClickHouseClient;
  private readonly endpoint: string;
  private readonly positions: TableQueue<PositionRow>;
  private readonly events: TableQueue<EventRow>;
  private schemaReady: Promise<void> | null = null;
  private reachable = false;
  private closed = false;

  private constructor(url: string, readonly log: Log, metrics: Metrics, opts: ClickHouseSinkOptions) {
    const o = { ...DEFAULTS, ...opts };
    if (o.batchMaxRows > o.maxQueuedRows) throw new ConfigError(`clickhouse: batchMaxRows (${o.batchMaxRows}) exceeds maxQueuedRows (${o.maxQueuedRows})`);
    this.opts = Object.freeze(o);
    const u = new URL(url);
    // The client would send the URL's path as the session database, which fails before CREATE DATABASE.
    this.database = opts.database ?? (u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : 'fleetgate');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(this.database)) throw new ConfigError(`clickhouse: invalid database name "${this.database}"`);
    u.pathname = '/';
    this.endpoint = `${u.protocol}//${u.host}`;
    this.client = createClient({
      url: u.toString(),
      request_timeout: o.requestTimeoutMs,
      compression: { request: false, response: false },
      log: { level: ClickHouseLogLevel.OFF }, // failures are logged here, once per outage
    });
    this.m = sinkMetrics(metrics.registry);
    this.positions = new TableQueue(this, 'positions', positionRecord);
    this.events = new TableQueue(this, 'events', eventRecord);
  }

  /**
   * Connects and creates the database and tables if missing. When ClickHouse is unreachable the
   * sink is returned anyway (rows queue; the tables are created when it answers); when it answers
   * with an error (e.g. bad credentials) this rejects.
   */
  static async open(url: string, log: Log, metrics: Metrics, opts: ClickHouseSinkOptions = {}): Promise<ClickHouseSink> {
    const sink = new ClickHouseSink(url, log, metrics, opts);
    try {
      await sink.ensureSchema();
    } catch (err) {
      if (err instanceof ClickHouseError) {
        await sink.close(0);
        throw new Error(`ClickHouse at ${sink.endpoint} refused the schema: ${err.message}`, { cause: err });
      }
      log.warn({ clickhouse: sink.endpoint, err: errorText(err) }, 'ClickHouse unreachable at start-up; rows queue until it answers');
    }
    return sink;
  }

  /** Queues position rows for insertion. Never blocks, never throws. */
  push(rows: readonly PositionRow[]): void {
    this.enqueue(this.positions, rows);
  }

  /** Queues events for insertion. Never blocks, never throws. */
  pushEvents(rows: readonly EventRow[]): void {
    this.enqueue(this.events, rows);
  }

  /** Sends what is queued now; resolves true once both queues are empty, false after timeoutMs. */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const [a, b] = await Promise.all([this.positions.flush(timeoutMs), this.events.flush(timeoutMs)]);
    return a && b;
  }

  /** Flushes for up to timeoutMs, then stops; rows still queued are counted as dropped. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (timeoutMs > 0) await this.flush(timeoutMs);
    const queues = [this.positions, this.events];
    for (const q of queues) q.stop();
    await Promise.race([Promise.all(queues.map((q) => q.done)), delay(1000)]);
    for (const q of queues) q.abandon();
    await this.client.close();
  }

  get stats(): ClickHouseSinkStats {
    const p = { ...this.positions.stats };
    const e = { ...this.events.stats };
    const sum = (k: keyof ClickHouseTableStats): number => p[k] + e[k];
    return {
      queued: sum('queued'), inserted: sum('inserted'), dropped: sum('dropped'), rejected: sum('rejected'),
      failures: sum('failures'), reachable: this.reachable, positions: p, events: e,
    };
  }

  /** @internal used by the table queues. */
  async insert(table: Table, values: Record_[]): Promise<void> {
    try {
      await this.ensureSchema();
      await this.client.insert({ table: `${this.database}.${table}`, values, format: 'JSONEachRow' });
      this.reachable = true;
    } catch (err) {
      this.reachable = err instanceof ClickHouseError;
      // 60 UNKNOWN_TABLE, 81 UNKNOWN_DATABASE: dropped behind our back; create them again.
      if (err instanceof ClickHouseError && (err.code === '60' || err.code === '81')) this.schemaReady = null;
      throw err;
    }
  }

  private enqueue<T>(queue: TableQueue<T>, rows: readonly T[]): void {
    if (rows.length === 0) return;
    try {
      if (this.closed) {
        queue.stats.dropped += rows.length;
        this.m.rows.inc({ table: queue.table, result: 'dropped' }, rows.length);
        return;
      }
      queue.push(rows);
    } catch (err) {
      // Nothing above is expected to throw; the acknowledgement path must never see it if it does.
      this.log.error({ err: errorText(err), table: queue.table }, 'ClickHouse sink push failed');
    }
  }

  private ensureSchema(): Promise<void> {
    this.schemaReady ??= (async () => {
      for (const query of schema(this.database)) await this.client.command({ query });
      this.reachable = true;
    })().catch((err: unknown) => {
      this.schemaReady = null;
      throw err;
    });
    return this.schemaReady;
  }
}

function backoff(initialMs: number, maxMs: number, attempt: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorText(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ${err.message}` : err.message;
  return String(err);
}
