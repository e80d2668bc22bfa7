import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { insertPositions } from './insert.js';
import type { PositionRow } from './rows.js';
import { SpoolFullError, type Spool } from './spool.js';
import type { Sql } from './sql.js';

export interface WriterOptions {
  /** A batch is written when it holds this many rows… */
  batchMaxRows: number;
  /** …or when its oldest row has waited this long, whichever comes first. */
  batchMaxMs: number;
  /** Batches being written at once (pool connections used). */
  maxInFlight: number;
  /** How often to try the database again during an outage. */
  probeEveryMs: number;
}

interface Waiting {
  rows: PositionRow[];
  resolve: () => void;
  reject: (e: Error) => void;
}

/** SQLSTATE classes and socket errors that mean "the database is not there", not "bad data". */
function unavailable(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  const code = err.code ?? '';
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) ||
    /terminat|timeout|connect|closed|ended/i.test(err.message ?? '');
}

/**
 * Batches position rows into the database and says when each caller's rows are durable:
 * committed, or — while the database is unreachable — fsynced to the spool. Spooled batches are
 * replayed in order once the database answers again (and at start-up); until the spool is empty
 * new batches queue behind it. A full spool refuses, so nothing is acknowledged that could be
 * lost. A batch the database rejects as data is split to find the bad rows, which are logged
 * and counted rather than blocking the rest.
 */
export class PositionWriter {
  private waiting: Waiting[] = [];
  private waitingRows = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private outage = false;
  private probing: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  private closed = false;
  /** Rows inserted, duplicates dropped, rows spooled (for metrics and tests). */
  readonly counts = { inserted: 0, duplicates: 0, spooled: 0, rejected: 0, replayed: 0 };
  onCommitted: (rows: readonly PositionRow[]) => void = () => undefined;

  constructor(
    private readonly sql: Sql,
    private readonly spool: Spool,
    private readonly opts: WriterOptions,
    private readonly log: Log,
    private readonly metrics: Metrics,
  ) {}

  /** Rows accepted and not yet durable. */
  get pendingRows(): number {
    return this.waitingRows;
  }

  get inOutage(): boolean {
    return this.outage;
  }

  /** Resolves when the rows are durable; rejects when they cannot be made so (spool full). */
  write(rows: PositionRow[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('writer closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      this.waitingRows += rows.length;
      if (this.waitingRows >= this.opts.batchMaxRows) this.kick();
      else this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.opts.batchMaxMs);
    });
  }

  /** Replays what an earlier run left in the spool (call at start-up). */
  async recover(): Promise<void> {
    if (!this.spool.empty) await this.replaySpool();
  }

  private kick(): void {
    while (this.inFlight < this.opts.maxInFlight && this.waiting.length > 0) {
      let k = 0;
      let n = 0;
      while (k < this.waiting.length && (n === 0 || n + this.waiting[k]!.rows.length <= this.opts.batchMaxRows)) n += this.waiting[k++]!.rows.length;
      // One splice per batch: shift() per caller moves the whole queue each time once it is long
      // (tens of thousands of one-row callers under load), which made batching quadratic.
      const batch = this.waiting.splice(0, k);
      this.waitingRows -= n;
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.kick();
      });
    }
    if (this.waiting.length > 0 && this.timer === undefined && this.inFlight === 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.opts.batchMaxMs);
    }
  }

  private async commit(batch: Waiting[]): Promise<void> {
    const rows = batch.flatMap((w) => w.rows);
    if (this.outage || !this.spool.empty) return this.toSpool(batch, rows);
    const t0 = performance.now();
    try {
      const inserted = await insertPositions(this.sql, rows);
      this.counts.inserted += inserted;
      this.counts.duplicates += rows.length - inserted;
      this.metrics.storeRows.inc({ result: 'inserted' }, inserted);
      if (rows.length > inserted) this.metrics.storeRows.inc({ result: 'duplicate' }, rows.length - inserted);
      this.metrics.storeBatchSeconds.observe((performance.now() - t0) / 1000);
      for (const w of batch) w.resolve();
      this.onCommitted(rows);
    } catch (e) {
      if (unavailable(e)) {
        this.log.warn({ err: (e as Error).message }, 'database unreachable: spooling positions');
        this.enterOutage();
        return this.toSpool(batch, rows);
      }
      await this.isolateBadRows(batch, e as Error);
    }
  }

  private toSpool(batch: Waiting[], rows: PositionRow[]): void {
    try {
      this.spool.append(Buffer.from(JSON.stringify(rows)));
      this.counts.spooled += rows.length;
      this.metrics.storeRows.inc({ result: 'spooled' }, rows.length);
      for (const w of batch) w.resolve();
    } catch (e) {
      if (e instanceof SpoolFullError) this.metrics.errors.inc({ code: e.code });
      this.log.error({ err: (e as Error).message }, 'positions not durable: not acknowledging');
      for (const w of batch) w.reject(e as Error);
    }
    this.metrics.spoolBytes.set(this.spool.bytes);
  }

  /** A data error: write each caller's rows alone, then row by row, to set the bad ones aside. */
  private async isolateBadRows(batch: Waiting[], first: Error): Promise<void> {
    this.log.error({ err: first.message }, 'batch rejected by the database; isolating bad rows');
    for (const w of batch) {
      for (const r of w.rows) {
        try {
          this.counts.inserted += await insertPositions(this.sql, [r]);
        } catch (e) {
          if (unavailable(e)) {
            this.enterOutage();
            this.toSpool([w], w.rows);
            break;
          }
          this.counts.rejected++;
          this.metrics.storeRows.inc({ result: 'rejected' });
          this.log.error({ row: r, err: (e as Error).message }, 'position rejected by the database');
        }
      }
      w.resolve();
    }
  }

  private enterOutage(): void {
    if (this.outage) return;
    this.outage = true;
    this.metrics.storeOutage.set(1);
    this.probe();
  }

  private probe(): void {
    if (this.closed) return;
    this.probing = setTimeout(async () => {
      try {
        await this.sql.query('select 1');
      } catch {
        return this.probe();
      }
      this.log.info({ spoolBytes: this.spool.bytes }, 'database reachable again: replaying the spool');
      await this.replaySpool();
      if (this.outage) this.probe();
    }, this.opts.probeEveryMs);
  }

  private replaySpool(): Promise<void> {
    this.replaying ??= (async () => {
      try {
        // Batches keep arriving in the spool while it replays: go round until it is empty.
        while (!this.spool.empty) {
          await this.spool.replay(async (payload) => {
            const rows = JSON.parse(payload.toString('utf8')) as PositionRow[];
            const inserted = await insertPositions(this.sql, rows);
            this.counts.replayed += rows.length;
            this.counts.inserted += inserted;
            this.counts.duplicates += rows.length - inserted;
            this.onCommitted(rows);
          });
          this.metrics.spoolBytes.set(this.spool.bytes);
        }
        this.outage = false;
        this.metrics.storeOutage.set(0);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'spool replay interrupted; will retry');
      } finally {
        this.replaying = undefined;
      }
    })();
    return this.replaying;
  }

  /** Writes what is waiting (or spools it), then stops. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.kick();
    while (this.inFlight > 0 || this.waiting.length > 0) {
      await new Promise((r) => setTimeout(r, 10));
      this.kick();
    }
    this.closed = true;
    clearTimeout(this.probing);
    await this.replaying;
    this.spool.close();
  }
}
