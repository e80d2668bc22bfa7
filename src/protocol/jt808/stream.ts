import type { CodecError } from '../../codec/index.js';
import { decodeFrame, type DecodeOptions, type DecodeResult } from './decoder.js';
import { FrameReader } from './framing.js';

/**
 * Frame reader + decoder for one byte stream (one TCP connection): every chunk yields zero or
 * more results, each a message or a coded error; nothing in a chunk is dropped silently.
 */
export class Jt808StreamDecoder {
  private readonly frames: FrameReader;

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
    this.frames.push(chunk, {
      frame: (content) => onResult(decodeFrame(content, this.options)),
      error: (e: CodecError) => onResult({ ok: false, error: { code: e.code, message: e.message } }),
    });
  }

  reset(): void {
    this.frames.reset();
  }
}
