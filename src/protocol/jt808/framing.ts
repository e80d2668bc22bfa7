import { CodecError, ErrorCode } from '../../codec/index.js';

/**
 * JT/T 808 §1 framing: `0x7E | escaped content | 0x7E`, with 0x7E → 0x7D 0x02 and
 * 0x7D → 0x7D 0x01 inside. The checksum is the XOR of the unescaped header and body.
 */
export const FLAG = 0x7e;
export const ESC = 0x7d;

/** Unescapes `content` (the bytes between two flags). Returns the same buffer when nothing is escaped. */
export function unescape(content: Buffer): Buffer {
  let i = content.indexOf(ESC);
  if (i < 0) return content;
  const out = Buffer.allocUnsafe(content.length);
  content.copy(out, 0, 0, i);
  let o = i;
  const n = content.length;
  while (i < n) {
    const b = content[i]!;
    if (b !== ESC) {
      out[o++] = b;
      i++;
      continue;
    }
    const next = content[i + 1];
    if (next === 0x02) out[o++] = FLAG;
    else if (next === 0x01) out[o++] = ESC;
    else {
      throw new CodecError(
        ErrorCode.ESCAPE,
        next === undefined ? `0x7d at the end of the frame (offset ${i})` : `0x7d followed by 0x${next.toString(16).padStart(2, '0')} at offset ${i}`,
      );
    }
    i += 2;
  }
  return out.subarray(0, o);
}

/** XOR of buf[start, end). */
export function xor(buf: Buffer, start: number, end: number): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= buf[i]!;
  return x;
}

/** Escapes header+body+checksum and adds the two flags. */
export function escapeFrame(raw: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < raw.length; i++) if (raw[i] === FLAG || raw[i] === ESC) extra++;
  const out = Buffer.allocUnsafe(raw.length + extra + 2);
  out[0] = FLAG;
  if (extra === 0) {
    raw.copy(out, 1);
  } else {
    let o = 1;
    for (let i = 0; i < raw.length; i++) {
      const b = raw[i]!;
      if (b === FLAG) {
        out[o++] = ESC;
        out[o++] = 0x02;
      } else if (b === ESC) {
        out[o++] = ESC;
        out[o++] = 0x01;
      } else out[o++] = b;
    }
  }
  out[out.length - 1] = FLAG;
  return out;
}

export interface FrameSink {
  /**
   * The escaped bytes between two flags, buf[start, end) (never empty): a range of the pushed
   * chunk (no copy, no view allocated) or of a joined buffer. Valid only during the call.
   */
  frame(buf: Buffer, start: number, end: number): void;
  /** Bytes that could not be a frame: before the first flag, or a frame over the size limit. */
  error(err: CodecError): void;
}

/**
 * Cuts a TCP byte stream into frames. Chunks may split a frame anywhere (also between 0x7D and
 * its partner: unescaping waits for the whole frame), carry several frames, or carry garbage.
 * Every flag is a boundary, so both `7E A 7E 7E B 7E` and the shared-flag `7E A 7E B 7E` work,
 * and bytes between frames come out as a frame that fails to decode — reported, never silent.
 * A frame longer than `maxFrameBytes` is reported and dropped up to the next flag (resync).
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private started = false;
  private discarding = false;

  constructor(readonly maxFrameBytes = 4096) {}

  /** Bytes of an unfinished frame held between chunks (for partial-frame timeouts and memory caps). */
  get pendingBytes(): number {
    return this.partsLength;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let pos = 0;
    const n = chunk.length;
    if (!this.started) {
      const first = chunk.indexOf(FLAG);
      if (first < 0) {
        sink.error(new CodecError(ErrorCode.GARBAGE, `${n} byte(s) before any 0x7e flag`));
        return;
      }
      if (first > 0) sink.error(new CodecError(ErrorCode.GARBAGE, `${first} byte(s) before the first 0x7e flag`));
      this.started = true;
      pos = first + 1;
    }
    while (pos < n) {
      const idx = chunk.indexOf(FLAG, pos);
      if (idx < 0) {
        this.hold(chunk.subarray(pos), sink);
        return;
      }
      if (this.discarding) {
        this.discarding = false;
      } else if (this.partsLength === 0) {
        if (idx > pos) this.emit(chunk, pos, idx, sink);
      } else {
        this.hold(chunk.subarray(pos, idx), sink);
        if (!this.discarding) {
          const content = Buffer.concat(this.parts, this.partsLength);
          this.parts = [];
          this.partsLength = 0;
          this.emit(content, 0, content.length, sink);
        }
        this.discarding = false;
      }
      pos = idx + 1;
    }
  }

  /** Drops a held partial frame (after a partial-frame timeout). */
  reset(): void {
    this.parts = [];
    this.partsLength = 0;
    this.discarding = false;
  }

  private emit(buf: Buffer, start: number, end: number, sink: FrameSink): void {
    if (end - start > this.maxFrameBytes) {
      sink.error(new CodecError(ErrorCode.FRAME_TOO_LONG, `frame of ${end - start} bytes exceeds ${this.maxFrameBytes}`));
      return;
    }
    sink.frame(buf, start, end);
  }

  private hold(piece: Buffer, sink: FrameSink): void {
    if (this.discarding || piece.length === 0) return;
    if (this.partsLength + piece.length > this.maxFrameBytes) {
      sink.error(new CodecError(ErrorCode.FRAME_TOO_LONG, `frame exceeds ${this.maxFrameBytes} bytes before its closing flag`));
      this.parts = [];
      this.partsLength = 0;
      this.discarding = true;
      return;
    }
    // Copy: the socket may reuse the chunk's memory after this call returns.
    this.parts.push(Buffer.from(piece));
    this.partsLength += piece.length;
  }
}
