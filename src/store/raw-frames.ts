import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { copyField } from './insert.js';
import type { Sql } from './sql.js';

/** Where a session hands the bytes it read and wrote (the gateway holds one, or none). */
export interface FrameArchive {
  /**
   * One frame as it travelled: `bytes[start, end)` are its escaped bytes between the 0x7e flags
   * (copied here: the caller's buffer is reused). `msgId` -1 when the header could not be read.
   */
  frame(terminal: string, direction: 'up' | 'down', msgId: number, bytes: Buffer, start: number, end: number): void;
}

interface RawRow {
  terminal: string;
  receivedAt: number;
  direction: 'up' | 'down';
  msgId: number;
  /** The frame with its flags, as on the wire. */
  frame: Buffer;
  /** Order of arrival: what a write took out is known even if the buffer overflowed meanwhile. */
  seq: number;
}

export interface RawFrameOptions {
  /** Rows written per COPY at most; a flush also happens every `flushEveryMs`. */
  batchMaxRows: number;
  flushEveryMs: number;
  /** Rows held while the database is slow or away; past it the oldest tenth is dropped, counted. */
  maxBuffered: number;
}

/**
 * The optional raw-frame archive (`store.rawFrames`): every frame read from a terminal and every
 * frame written to one, byte for byte with its flags, into `raw_frames` (daily partitions, its own
 * retention), for forensic replay — `GET /api/terminals/{id}/frames` and `fleetgate frames`
 * decode them again with today's decoder. It is not on the acknowledgement path: rows are buffered
 * and written with COPY every second; while the database is away they wait (bounded, the oldest
 * tenth dropped when full, counted in `fleetgate_raw_frames_total{result="dropped"}`) and go in when it returns.
 */
export class RawFrameArchive implements FrameArchive {
  private rows: RawRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  private seq = 0;

  constructor(
    private readonly sql: Sql,
    private readonly opts: RawFrameOptions,
    private readonly log: Log,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushEveryMs);
    this.timer.unref();
  }

  get buffered(): number {
    return this.rows.length;
  }

  frame(terminal: string, direction: 'up' | 'down', msgId: number, bytes: Buffer, start: number, end: number): void {
    if (this.closed) return;
    const frame = Buffer.allocUnsafe(end - start + 2);
    frame[0] = 0x7e;
    bytes.copy(frame, 1, start, end);
    frame[frame.length - 1] = 0x7e;
    this.rows.push({ terminal, receivedAt: this.now(), direction, msgId, frame, seq: this.seq++ });
    if (this.rows.length > this.opts.maxBuffered) {
      // A tenth at once: dropping one row per frame would move the whole buffer every time.
      const drop = Math.max(1, this.rows.length - Math.floor(this.opts.maxBuffered * 0.9));
      this.rows.splice(0, drop);
      this.metrics.rawFrames.inc({ result: 'dropped' }, drop);
    }
    if (this.rows.length >= this.opts.batchMaxRows) void this.flush();
  }

  /** Writes what is buffered (one COPY per batchMaxRows); resolves when done or failed. */
  flush(): Promise<void> {
    this.writing ??= (async () => {
      try {
        while (this.rows.length > 0) {
          const batch = this.rows.slice(0, this.opts.batchMaxRows);
          try {
            await this.write(batch);
          } catch (e) {
            this.log.warn({ err: (e as Error).message, buffered: this.rows.length }, 'raw frames not archived yet; will retry');
            return;
          }
          // Rows pushed meanwhile stay; rows dropped meanwhile (buffer full) are gone from the front already.
          const last = batch[batch.length - 1]!.seq;
          let k = 0;
          while (k < this.rows.length && this.rows[k]!.seq <= last) k++;
          this.rows.splice(0, k);
          this.metrics.rawFrames.inc({ result: 'stored' }, batch.length);
        }
      } finally {
        this.writing = undefined;
      }
    })();
    return this.writing;
  }

  private async write(rows: RawRow[]): Promise<void> {
    await this.sql.tx(async (q) => {
      if (q.pgClient) {
        // COPY text: bytea as \x hex, the backslash itself escaped.
        let text = '';
        for (const r of rows) text += `${copyField(r.terminal)}\t${new Date(r.receivedAt).toISOString()}\t${r.msgId}\t${r.direction}\t\\\\x${r.frame.toString('hex')}\n`;
        await pipeline(Readable.from([text]), q.pgClient.query(copyStreams.from('copy raw_frames (terminal, received_at, msg_id, direction, frame) from stdin')));
      } else {
        await q.query(
          `insert into raw_frames (terminal, received_at, msg_id, direction, frame)
           select * from unnest($1::text[], $2::timestamptz[], $3::int[], $4::text[], $5::bytea[])`,
          [rows.map((r) => r.terminal), rows.map((r) => new Date(r.receivedAt).toISOString()), rows.map((r) => r.msgId),
            rows.map((r) => r.direction), rows.map((r) => r.frame)],
        );
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    await this.flush();
    this.closed = true;
  }
}
