import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The local spool: while the database is unreachable, each batch of rows is appended here and
 * fsynced before its terminals are acknowledged, then replayed in order when the database comes
 * back (and at start-up). Records are `[u32 length][u32 crc32][payload]` in numbered segment
 * files; a record torn by `kill -9` mid-write fails its length or CRC and ends that segment's
 * replay there (it was never acknowledged). Bounded: past `maxBytes`, append refuses, so the
 * gateway stops acknowledging and terminals keep their data.
 */
export class Spool {
  private fd: number | undefined;
  private segment = 0;
  private segmentBytes = 0;
  private totalBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly maxSegmentBytes = 64 * 1024 * 1024,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const f of this.segments()) {
      this.totalBytes += statSync(join(dir, f)).size;
      this.segment = Math.max(this.segment, segmentNumber(f));
    }
  }

  /** Bytes held (what is waiting for replay). */
  get bytes(): number {
    return this.totalBytes;
  }

  get empty(): boolean {
    return this.totalBytes === 0;
  }

  get full(): boolean {
    return this.totalBytes >= this.maxBytes;
  }

  /** Appends one record and fsyncs it. Throws SpoolFullError when over the bound. */
  append(payload: Buffer): void {
    const need = payload.length + 8;
    if (this.totalBytes + need > this.maxBytes) throw new SpoolFullError(this.totalBytes, this.maxBytes);
    if (this.fd === undefined || this.segmentBytes + need > this.maxSegmentBytes) this.rotate();
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32BE(payload.length, 0);
    head.writeUInt32BE(crc32(payload), 4);
    writeSync(this.fd!, Buffer.concat([head, payload]));
    fsyncSync(this.fd!);
    this.segmentBytes += need;
    this.totalBytes += need;
  }

  /**
   * Replays every record, oldest first, through `apply` (which must be idempotent: a crash mid
   * replay replays again). A segment is deleted once all its records were applied; an error
   * from `apply` stops the replay there, keeping the rest for next time.
   */
  async replay(apply: (payload: Buffer) => Promise<void>): Promise<{ records: number; torn: number }> {
    this.closeSegment();
    let records = 0;
    let torn = 0;
    for (const f of this.segments()) {
      const path = join(this.dir, f);
      const data = readFileSync(path);
      let p = 0;
      while (p + 8 <= data.length) {
        const len = data.readUInt32BE(p);
        const crc = data.readUInt32BE(p + 4);
        if (p + 8 + len > data.length) break;
        const payload = data.subarray(p + 8, p + 8 + len);
        if (crc32(payload) !== crc) break;
        await apply(payload);
        records++;
        p += 8 + len;
      }
      if (p < data.length) torn++;
      unlinkSync(path);
      this.totalBytes -= data.length;
    }
    this.totalBytes = Math.max(0, this.totalBytes);
    return { records, torn };
  }

  close(): void {
    this.closeSegment();
  }

  private segments(): string[] {
    return readdirSync(this.dir).filter((f) => /^spool-\d{8}\.log$/.test(f)).sort();
  }

  private rotate(): void {
    this.closeSegment();
    this.segment++;
    this.fd = openSync(join(this.dir, `spool-${String(this.segment).padStart(8, '0')}.log`), 'a');
    this.segmentBytes = 0;
  }

  private closeSegment(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class SpoolFullError extends Error {
  readonly code = 'FG_ERR_SPOOL_FULL';
  constructor(held: number, max: number) {
    super(`spool full (${held} of ${max} bytes): not acknowledging until the database is back`);
  }
}

function segmentNumber(f: string): number {
  return Number(f.slice(6, 14));
}
