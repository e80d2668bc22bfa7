import { describe, expect, it } from 'vitest';
import {
  CodecError, ErrorCode, Reader, Writer, bcd, bcdTime, bytes, field, list, readBcdTime, scaled, sized, struct, text,
  textNul, u16, u32, u8, type CodecContext, type FieldType,
} from '../src/codec/index.js';

const ctx = (edition = 2013): CodecContext => ({ edition, problems: undefined, services: undefined });
const hex = (h: string): Buffer => Buffer.from(h, 'hex');
function roundTrip<T>(t: FieldType<T>, h: string, edition = 2013): T {
  const buf = hex(h);
  const r = new Reader(buf);
  const v = t.read(r, ctx(edition), {});
  expect(r.pos).toBe(buf.length);
  const w = new Writer(1);
  t.write(w, v, ctx(edition), {});
  expect(w.result().toString('hex')).toBe(h);
  return v;
}

describe('primitives', () => {
  it('reads and writes big-endian integers', () => {
    expect(roundTrip(u8, 'ff')).toBe(255);
    expect(roundTrip(u16, '0102')).toBe(258);
    expect(roundTrip(u32, 'ffffffff')).toBe(4294967295);
  });
  it('scales without floating-point noise', () => {
    expect(roundTrip(scaled(u32, 10), '000004d2')).toBe(123.4);
    expect(roundTrip(scaled(u32, 1e6), '0260f0f4')).toBe(39.907572);
  });
  it('keeps BCD digits, leading zeros included', () => {
    expect(roundTrip(bcd(6), '013912344321')).toBe('013912344321');
  });
  it('converts BCD GMT+8 time to UTC, and an impossible date to null', () => {
    expect(roundTrip(bcdTime(), '240128113128')!.toISOString()).toBe('2024-01-28T03:31:28.000Z');
    expect(roundTrip(bcdTime('utc'), '240128113128')!.toISOString()).toBe('2024-01-28T11:31:28.000Z');
    expect(roundTrip(bcdTime(), '000000000000')).toBeNull();
    expect(Number.isNaN(readBcdTime(hex('18061b0f362e'), 0))).toBe(true);
  });
  it('reads GBK text: fixed (padding stripped), prefixed, to end, NUL-terminated', () => {
    expect(roundTrip(text(8), 'c2b34131323300' + '00')).toBe('鲁A123');
    expect(roundTrip(text(u8), '04c4e3bac3')).toBe('你好');
    expect(roundTrip(text('toEnd'), '414243')).toBe('ABC');
    expect(roundTrip(textNul, '41424300')).toBe('ABC');
    expect(roundTrip(text(8, { pad: 0x20 }), '6162632020202020')).toBe('abc');
  });
  it('tolerates a NUL-terminated string without its NUL at the end of the body', () => {
    expect(textNul.read(new Reader(hex('4142')), ctx(), {})).toBe('AB');
  });
  it('derives list counts on encode and honours count fields on decode', () => {
    expect(roundTrip(list(u8, u16), '0200010002')).toEqual([1, 2]);
    const s = struct([field('n', u8, { derive: (o) => (o.xs as unknown[]).length }), field('xs', list((o) => o.n as number, u8))]);
    expect(roundTrip(s, '030a0b0c')).toEqual({ n: 3, xs: [10, 11, 12] });
  });
  it('confines a sized part and jumps to its declared end', () => {
    const t = sized(u16, struct([field('a', u8)]));
    const r = new Reader(hex('0003aabbccdd'));
    expect(t.read(r, ctx(), {})).toEqual({ a: 0xaa });
    expect(r.pos).toBe(5);
  });
  it('picks fields per edition and by condition', () => {
    const s = struct([
      field('a', u8),
      field('b', { 2013: u8, 2019: u16 }),
      field('c', u8, { since: 2019 }),
      field('d', u8, { when: (o) => o.a === 1 }),
    ]);
    expect(roundTrip(s, '010203', 2013)).toEqual({ a: 1, b: 2, d: 3 });
    expect(roundTrip(s, '0002', 2013)).toEqual({ a: 0, b: 2 });
    expect(roundTrip(s, '000002ff', 2019)).toEqual({ a: 0, b: 2, c: 255 });
  });
  it('throws coded errors: truncated reads and bad values on encode', () => {
    expect(() => u32.read(new Reader(hex('0102')), ctx(), {})).toThrow(expect.objectContaining({ code: ErrorCode.TRUNCATED }));
    expect(() => u8.write(new Writer(), 256, ctx(), {})).toThrow(expect.objectContaining({ code: ErrorCode.ENCODE }));
    expect(() => bytes(4).write(new Writer(), Buffer.alloc(5), ctx(), {})).toThrow(CodecError);
    expect(() => struct([field('x', u8)]).write(new Writer(), {}, ctx(), {})).toThrow(/field "x"/);
  });
});
