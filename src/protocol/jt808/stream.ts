import { ErrorCode, type CodecError } from '../../codec/index.js';
import { decodeFrameAt, type DecodeOptions, type DecodeResult } from './decoder.js';
import { FrameReader, type FrameSink } from './framing.js';

/**
 * Frame reader + decoder for one byte stream (one TCP connection): every chunk yields zero or
 * more results, each a message or a coded error; nothing in a chunk is dropped silently.
 */
export class Jt808StreamDecoder {
  private readonly frames: FrameReader;
  private onResult: (r: DecodeResult) => void = () => undefined;
  /** One sink for the life of the stream: no closure allocated per chunk. */
  private readonly sink: FrameSink = {
    frame: (buf, start, end) => {
      const r = this.decode(buf, start, end);
      this.onFrame?.(buf, start, end, r);
      this.onResult(r);
    },
    error: (e: CodecError) => this.onResult({ ok: false, error: { code: e.code, message: e.message } }),
  };

  constructor(
    public options: DecodeOptions = {},
    maxFrameBytes = 4096,
  ) {
    this.frames = new FrameReader(maxFrameBytes);
  }

  /**
   * Sees every frame before its result is handed on: its escaped bytes between the flags,
   * `buf[start, end)` (valid only during the call), and what they decoded to (the raw archive).
   */
  onFrame: ((buf: Buffer, start: number, end: number, r: DecodeResult) => void) | undefined;

  get pendingBytes(): number {
    return this.frames.pendingBytes;
  }

  /**
   * With `editionFallback`, a frame whose header edition bit lies (the other header fits exactly)
   * is decoded with the other edition, reported as a problem, and that edition sticks for this
   * stream: the device keeps lying the same way.
   */
  editionFallback = false;

  private decode(buf: Buffer, start: number, end: number): DecodeResult {
    const r = decodeFrameAt(buf, start, end, this.options);
    if (r.ok || !this.editionFallback || r.error.fitsEdition === undefined || this.options.edition !== undefined) return r;
    const retry = decodeFrameAt(buf, start, end, { ...this.options, edition: r.error.fitsEdition });
    if (!retry.ok) return r;
    this.options = { ...this.options, edition: r.error.fitsEdition };
    (retry.message.problems ??= []).push({
      code: ErrorCode.EDITION_MISMATCH,
      message: `header bit 14 says ${r.error.fitsEdition === 2013 ? '2019' : '2013'} but the frame is ${r.error.fitsEdition}; decoding this stream as ${r.error.fitsEdition}`,
    });
    return retry;
  }

  push(chunk: Buffer, onResult: (r: DecodeResult) => void): void {
    this.onResult = onResult;
    this.frames.push(chunk, this.sink);
  }

  reset(): void {
    this.frames.reset();
  }
}
