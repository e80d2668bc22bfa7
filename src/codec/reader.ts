import { CodecError, ErrorCode, type Problem } from './errors.js';

/**
 * A cursor over one message body. Every read is bounds-checked against `end`, which may be
 * narrowed for a nested length-prefixed part (see `limit`).
 *
 * It also carries the decode context (edition, problems, services), so one decode allocates
 * one object for both: `decodeStruct(r, r)`. See CodecContext in types.ts.
 */
export class Reader {
  buf: Buffer;
  pos: number;
  end: number;
  edition = 0;
  problems: Problem[] | undefined = undefined;
  services: unknown = undefined;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what = 'field'): void {
    if (this.pos + n > this.end) {
      throw new CodecError(
        ErrorCode.TRUNCATED,
        `${what} needs ${n} byte(s) at offset ${this.pos}, ${this.end - this.pos} remain`,
      );
    }
  }

  u8(): number {
    if (this.pos + 1 > this.end) this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) this.need(2);
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) this.need(4);
    this.pos = p + 4;
    return this.buf[p]! * 0x1000000 + ((this.buf[p + 1]! << 16) | (this.buf[p + 2]! << 8) | this.buf[p + 3]!);
  }

  /** Advances over n bytes and returns their start offset. */
  take(n: number, what?: string): number {
    const p = this.pos;
    if (p + n > this.end) this.need(n, what);
    this.pos = p + n;
    return p;
  }

  /**
   * Runs `fn` with `end` narrowed to the next n bytes, then jumps to their end whatever `fn`
   * consumed: a nested part never reads past, nor leaves the cursor inside, its declared size.
   */
  limit<T>(n: number, fn: (r: Reader) => T, what?: string): T {
    const outerEnd = this.end;
    const innerEnd = this.pos + n;
    if (innerEnd > outerEnd) this.need(n, what);
    this.end = innerEnd;
    try {
      return fn(this);
    } finally {
      this.pos = innerEnd;
      this.end = outerEnd;
    }
  }
}
