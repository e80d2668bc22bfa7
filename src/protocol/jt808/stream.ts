import type { CodecError } from '../../codec/index.js';
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
    frame: (buf, start, end) => this.onResult(decodeFrameAt(buf, start, end, this.options)),
    error: (e: CodecError) => this.onResult({ ok: false, error: { code: e.code, message: e.message } }),
  };

  constructor(
    public options: DecodeOptions = {},
    maxFrameBytes = 4096,
  ) {
    this.frames = new FrameReader(maxFrameBytes);
  }

  get pendingBytes(): number {
    return this.frames.pendingBytes;
  }

  push(chunk: Buffer, onResult: (r: DecodeResult) => void): void {
    this.onResult = onResult;
    this.frames.push(chunk, this.sink);
  }

  reset(): void {
    this.frames.reset();
  }
}
