import { bcdDigitsToBytes, readBcdDigits, readBcdTime, TIME_ZONE_GMT8_MS, writeBcdTime } from './bcd.js';
import { CodecError, ErrorCode } from './errors.js';
import type { Reader } from './reader.js';
import { decodeGbk, encodeGbk, trimPadding } from './text.js';
import { addProblem, checkUint, encodeError, type FieldType, type Fields } from './types.js';
import type { Writer } from './writer.js';

/** BYTE: unsigned 8-bit. */
export const u8: FieldType<number> = {
  wire: 'BYTE',
  read: (r) => r.u8(),
  write: (w, v) => w.u8(checkUint(v, 0xff, 'BYTE')),
};

/** WORD: unsigned 16-bit big-endian. */
export const u16: FieldType<number> = {
  wire: 'WORD',
  read: (r) => r.u16(),
  write: (w, v) => w.u16(checkUint(v, 0xffff, 'WORD')),
};

/** DWORD: unsigned 32-bit big-endian. */
export const u32: FieldType<number> = {
  wire: 'DWORD',
  read: (r) => r.u32(),
  write: (w, v) => w.u32(checkUint(v, 0xffffffff, 'DWORD')),
};

/**
 * An integer on the wire scaled to a unit: the value is raw / divisor (e.g. 1/10 km → km).
 * Division (not multiplication by 0.1) keeps results like 123.4 exact.
 */
export function scaled(base: FieldType<number>, divisor: number): FieldType<number> {
  return {
    wire: `${base.wire} ÷${divisor}`,
    read: (r, ctx, p) => base.read(r, ctx, p) / divisor,
    write: (w, v, ctx, p) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw encodeError(base.wire, v, 'a number');
      base.write(w, Math.round(v * divisor), ctx, p);
    },
  };
}

/** BCD[n] as its digit string (leading zeros kept). */
export function bcd(n: number): FieldType<string> {
  return {
    wire: `BCD[${n}]`,
    read: (r) => readBcdDigits(r.buf, r.take(n, `BCD[${n}]`), n),
    write: (w, v) => {
      if (typeof v !== 'string') throw encodeError(`BCD[${n}]`, v, 'a digit string');
      w.bytes(bcdDigitsToBytes(v, n));
    },
  };
}

/**
 * BCD[6] date-time YYMMDDhhmmss as a Date, converted from the zone the terminal writes in
 * (GMT+8; 0x8004 is UTC). A value that is not a date (all zeros before a first fix) is null.
 */
export function bcdTime(zone: 'gmt8' | 'utc' = 'gmt8'): FieldType<Date | null> {
  const offset = zone === 'utc' ? 0 : TIME_ZONE_GMT8_MS;
  return {
    wire: 'BCD[6] time',
    read: (r) => {
      const ms = readBcdTime(r.buf, r.take(6, 'BCD[6] time'), offset);
      return Number.isNaN(ms) ? null : new Date(ms);
    },
    write: (w, v) => {
      const ms = v === null ? NaN : v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
      if (v !== null && Number.isNaN(ms)) throw encodeError('BCD[6] time', v, 'a Date, an ISO time or null');
      const at = w.reserve(6);
      writeBcdTime(ms, w.buf, at, offset);
    },
  };
}

type Length = number | FieldType<number> | 'toEnd';

function lengthWire(len: Length): string {
  return typeof len === 'number' ? `[${len}]` : len === 'toEnd' ? ' to end' : ` len=${len.wire}`;
}

/** Reads a length (fixed, prefixed or to the end of the enclosing part) and returns [start, end]. */
function readSpan(r: Reader, len: Length, ctx: Parameters<FieldType['read']>[1], p: Parameters<FieldType['read']>[2], what: string): number {
  const n = typeof len === 'number' ? len : len === 'toEnd' ? r.remaining : len.read(r, ctx, p);
  return r.take(n, what);
}

function writeSized(w: Writer, data: Buffer, len: Length, pad: number, ctx: Parameters<FieldType['write']>[2], p: Parameters<FieldType['write']>[3]): void {
  if (typeof len === 'number') {
    if (data.length > len) throw new CodecError(ErrorCode.ENCODE, `${data.length} bytes do not fit in ${len}`);
    w.fixed(data, len, pad);
  } else {
    if (len !== 'toEnd') len.write(w, data.length, ctx, p);
    w.bytes(data);
  }
}

/** Raw bytes (fixed, length-prefixed, or to the end), kept as a Buffer copy. */
export function bytes(len: Length): FieldType<Buffer> {
  const wire = `BYTE${lengthWire(len)}`;
  return {
    wire,
    read: (r, ctx, p) => {
      const start = readSpan(r, len, ctx, p, wire);
      return Buffer.from(r.buf.subarray(start, r.pos));
    },
    write: (w, v, ctx, p) => {
      // JSON bodies (HTTP, MQTT) carry bytes as hex strings, the form they are printed in.
      const data = typeof v === 'string' && /^([0-9a-fA-F]{2})*$/.test(v) ? Buffer.from(v, 'hex') : v;
      if (!Buffer.isBuffer(data)) throw encodeError(wire, v, 'a Buffer or a hex string');
      writeSized(w, data, len, 0, ctx, p);
    },
  };
}

export interface TextOptions {
  /** Padding stripped at both ends on decode, written after the text on encode (default 0x00). */
  pad?: 0 | 0x20;
}

/** GBK STRING: fixed n bytes (padded), length-prefixed, or to the end of the enclosing part. */
export function text(len: Length, opts: TextOptions = {}): FieldType<string> {
  const pad = opts.pad ?? 0;
  const wire = `STRING${lengthWire(len)}`;
  return {
    wire,
    read: (r, ctx, p) => {
      const start = readSpan(r, len, ctx, p, wire);
      // Fixed fields are padded (both ends tolerated, §7 row 21); devices also NUL-pad variable text.
      let [s, e] = typeof len === 'number' ? trimPadding(r.buf, start, r.pos, pad === 0x20) : [start, r.pos];
      if (typeof len !== 'number') while (e > s && r.buf[e - 1] === 0) e--;
      return decodeGbk(r.buf, s, e);
    },
    write: (w, v, ctx, p) => {
      if (typeof v !== 'string') throw encodeError(wire, v, 'a string');
      writeSized(w, encodeGbk(v), len, pad, ctx, p);
    },
  };
}

/** 2011 STRING: NUL-terminated (an empty string is one 0x00); tolerates a missing NUL at the end. */
export const textNul: FieldType<string> = {
  wire: 'STRING NUL-terminated',
  read: (r) => {
    const start = r.pos;
    let i = start;
    while (i < r.end && r.buf[i] !== 0) i++;
    r.pos = i < r.end ? i + 1 : i;
    return decodeGbk(r.buf, start, i);
  },
  write: (w, v) => {
    if (typeof v !== 'string') throw encodeError('STRING', v, 'a string');
    w.bytes(encodeGbk(v));
    w.u8(0);
  },
};

/** Where a list's item count comes from: a prefix, a fixed number, an earlier field, or 'toEnd'. */
export type Count = number | FieldType<number> | 'toEnd' | ((parent: Fields) => number);

export interface ListOptions {
  /**
   * On a malformed item: report it, stop, and keep the items before it (for batches where one
   * bad item must not cost the others, e.g. 0x0704).
   */
  tolerant?: boolean;
}

/**
 * A repeated item. A prefix count is derived from the array on encode; a count held in an
 * earlier field (`(o) => o.count`) is that field's business (see FieldSpec.derive).
 */
export function list<T>(count: Count, item: FieldType<T>, opts: ListOptions = {}): FieldType<T[]> {
  const countWire = typeof count === 'number' ? String(count) : count === 'toEnd' ? 'to end' : typeof count === 'function' ? 'count field' : count.wire;
  const wire = `${item.wire}×${countWire}`;
  return {
    wire,
    read: (r, ctx, p) => {
      const out: T[] = [];
      const n = count === 'toEnd' ? Infinity : typeof count === 'number' ? count : typeof count === 'function' ? count(p) : count.read(r, ctx, p);
      // Every item takes at least one byte: a count beyond the bytes left is malformed, and
      // saying so now keeps a corrupt count from growing the array.
      if (n !== Infinity && n > r.remaining) {
        const err = new CodecError(ErrorCode.TRUNCATED, `list declares ${n} item(s) but only ${r.remaining} byte(s) remain`);
        if (!opts.tolerant) throw err;
        addProblem(ctx, err.code, err.message);
      }
      for (let i = 0; i < n && (n !== Infinity || r.pos < r.end); i++) {
        const before = r.pos;
        if (!opts.tolerant) {
          out.push(item.read(r, ctx, p));
        } else {
          try {
            out.push(item.read(r, ctx, p));
          } catch (e) {
            if (!(e instanceof CodecError)) throw e;
            addProblem(ctx, e.code, `item ${i + 1} of ${n === Infinity ? 'the list' : n}: ${e.message}`);
            r.pos = r.end;
            break;
          }
        }
        if (r.pos === before) {
          throw new CodecError(ErrorCode.BAD_VALUE, `list item ${i + 1} of ${wire} took no bytes: its count or layout is wrong`);
        }
      }
      return out;
    },
    write: (w, v, ctx, p) => {
      if (!Array.isArray(v)) throw encodeError(wire, v, 'an array');
      if (typeof count === 'number') {
        if (v.length !== count) throw encodeError(wire, v.length, `${count} items`);
      } else if (typeof count === 'object') {
        count.write(w, v.length, ctx, p);
      }
      for (const x of v) item.write(w, x, ctx, p);
    },
  };
}

/**
 * An item whose layout is picked by an earlier field (e.g. 0x0608 items by query type). An
 * unlisted selector value takes the rest of the part as raw bytes.
 */
export function switchOn<T>(selector: (parent: Fields) => number, cases: Record<number, FieldType<T>>): FieldType<T | Buffer> {
  const rest = bytes('toEnd');
  return {
    wire: `one of {${Object.keys(cases).join(', ')}}`,
    read: (r, ctx, p) => (cases[selector(p)] ?? rest).read(r, ctx, p),
    write: (w, v, ctx, p) => {
      const t = cases[selector(p)];
      if (t) t.write(w, v as T, ctx, p);
      else rest.write(w, v as Buffer, ctx, p);
    },
  };
}

/**
 * An inner type preceded by its byte length (e.g. each 0x0704 item: `length WORD, body`). The
 * inner read is confined to that length and the cursor always lands at its declared end.
 */
export function sized<T>(len: FieldType<number>, inner: FieldType<T>): FieldType<T> {
  const wire = `${len.wire}-sized ${inner.wire}`;
  return {
    wire,
    read: (r, ctx, p) => {
      const n = len.read(r, ctx, p);
      return r.limit(n, (rr) => inner.read(rr, ctx, p), wire);
    },
    write: (w, v, ctx, p) => {
      const at = w.pos;
      len.write(w, 0, ctx, p);
      const start = w.pos;
      inner.write(w, v, ctx, p);
      const n = w.pos - start;
      const saved = w.pos;
      w.pos = at;
      len.write(w, n, ctx, p);
      w.pos = saved;
    },
  };
}

/** A value that is one of a few integer codes, named; unknown codes pass through as numbers. */
export function enumOf(base: FieldType<number>, names: Record<number, string>): FieldType<number> {
  return { ...base, wire: `${base.wire} enum(${Object.entries(names).map(([k, v]) => `${k}=${v}`).join(', ')})` };
}
