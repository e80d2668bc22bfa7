/** A growable big-endian byte writer used by the encoders. */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Writes `b` into exactly n bytes: truncated, or padded with `pad` after it. */
  fixed(b: Uint8Array, n: number, pad = 0): void {
    this.ensure(n);
    const len = Math.min(b.length, n);
    this.buf.set(b.subarray(0, len), this.pos);
    this.buf.fill(pad, this.pos + len, this.pos + n);
    this.pos += n;
  }

  /** Reserves n bytes to be filled later (e.g. a length prefix); returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const p = this.pos;
    this.pos += n;
    return p;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
