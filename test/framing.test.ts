import { describe, expect, it } from 'vitest';
import { CodecError, ErrorCode } from '../src/codec/index.js';
import { FrameReader, escapeFrame, unescape, xor } from '../src/protocol/jt808/index.js';

function collect(chunks: Buffer[], max?: number): (string | { error: string })[] {
  const out: (string | { error: string })[] = [];
  const r = new FrameReader(max);
  for (const c of chunks) r.push(c, { frame: (f, s, e) => out.push(f.toString('hex', s, e)), error: (e: CodecError) => out.push({ error: e.code }) });
  return out;
}
const b = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

describe('escaping (JT/T 808 §1)', () => {
  it('maps 7e→7d02 and 7d→7d01, the example of all three texts', () => {
    // 30 7E 08 7D 55 is sent as 7E 30 7D 02 08 7D 01 55 7E
    expect(escapeFrame(b('307e087d55')).toString('hex')).toBe('7e307d02087d01557e');
    expect(unescape(b('307d02087d0155')).toString('hex')).toBe('307e087d55');
  });
  it('returns the input itself when nothing is escaped (no copy)', () => {
    const x = b('0102030405');
    expect(unescape(x)).toBe(x);
  });
  it('rejects 0x7d followed by anything but 01/02, and a trailing 0x7d', () => {
    expect(() => unescape(b('307d0355'))).toThrow(expect.objectContaining({ code: ErrorCode.ESCAPE }));
    expect(() => unescape(b('307d'))).toThrow(expect.objectContaining({ code: ErrorCode.ESCAPE }));
  });
  it('computes the XOR over a range', () => {
    expect(xor(b('01020408'), 0, 4)).toBe(0x0f);
    expect(xor(b('ff01'), 1, 2)).toBe(0x01);
  });
});

describe('FrameReader', () => {
  it('finds several frames in one chunk, with or without shared flags', () => {
    expect(collect([b('7e01027e7e03047e')])).toEqual(['0102', '0304']);
    expect(collect([b('7e01027e03047e')])).toEqual(['0102', '0304']);
  });
  it('joins a frame split between 0x7d and its partner', () => {
    expect(collect([b('7e017d'), b('02037e')])).toEqual(['017d0203']);
  });
  it('joins a frame split over many one-byte chunks', () => {
    const frame = b('7e0102037d01047e');
    expect(collect([...frame].map((x) => Buffer.from([x])))).toEqual(['0102037d0104']);
  });
  it('reports garbage before the first flag and still reads the frame after it', () => {
    expect(collect([b('aabbcc7e01027e')])).toEqual([{ error: ErrorCode.GARBAGE }, '0102']);
    expect(collect([b('aabb'), b('7e01027e')])).toEqual([{ error: ErrorCode.GARBAGE }, '0102']);
  });
  it('emits garbage between frames as its own (failing) frame, losing neither neighbour', () => {
    expect(collect([b('7e01027e ffee 7e03047e')])).toEqual(['0102', 'ffee', '0304']);
  });
  it('drops a frame over the size limit up to the next flag, then resynchronises', () => {
    const long = Buffer.concat([b('7e'), Buffer.alloc(50, 1), b('7e0a0b7e')]);
    expect(collect([long], 16)).toEqual([{ error: ErrorCode.FRAME_TOO_LONG }, '0a0b']);
    // The same when the long frame arrives in pieces.
    const pieces = [b('7e'), Buffer.alloc(10, 1), Buffer.alloc(10, 1), Buffer.alloc(10, 1), b('7e0a0b7e')];
    expect(collect(pieces, 16)).toEqual([{ error: ErrorCode.FRAME_TOO_LONG }, '0a0b']);
  });
  it('holds an unfinished frame and reports its size', () => {
    const r = new FrameReader();
    const sink = { frame: () => undefined, error: () => undefined };
    r.push(b('7e010203'), sink);
    expect(r.pendingBytes).toBe(3);
    r.reset();
    expect(r.pendingBytes).toBe(0);
  });
  it('copies held bytes, so a reused chunk buffer cannot corrupt a frame', () => {
    const out: string[] = [];
    const r = new FrameReader();
    const sink = { frame: (f: Buffer, s: number, e: number) => out.push(f.toString('hex', s, e)), error: () => undefined };
    const chunk = b('7e0102');
    r.push(chunk, sink);
    chunk.fill(0xee);
    r.push(b('037e'), sink);
    expect(out).toEqual(['010203']);
  });
  it('throws nothing for any byte sequence: errors are values', () => {
    expect(() => collect([b('7d7d7d7e7e7e7d'), b('')])).not.toThrow();
    expect(new CodecError(ErrorCode.GARBAGE, 'x').code).toBe('FG_ERR_GARBAGE');
  });
});
