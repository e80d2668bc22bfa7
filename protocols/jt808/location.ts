import {
  CodecError, ErrorCode, TIME_ZONE_GMT8_MS, readBcdTime, writeBcdTime,
  type CodecContext, type FieldType,
} from '../../src/codec/index.js';
import { AlarmWord, FlagWord, StatusWord } from './bits.js';
import { STANDARD_ITEMS, type ItemRegistry } from './extras.js';

/** What a custom type may find in `ctx.services` when decoding JT/T 808. */
export interface Jt808Services {
  /** The additional-item registry for this terminal (standard + its vendor's items). */
  items?: ItemRegistry;
}

/** The decoded 0x0200 body (also inside 0x0201, 0x0500, each 0x0704 item, and 0x0801/0x0802 without extras). */
export interface Location {
  alarm: AlarmWord;
  status: StatusWord;
  /** Signed degrees: negative south (status bit 2) / west (bit 3). */
  latitude: number;
  longitude: number;
  /** Metres. */
  altitude: number;
  /** km/h (1/10 km/h on the wire). */
  speed: number;
  /** Degrees 0–359, north = 0, clockwise. */
  direction: number;
  /** UTC instant of the terminal's GMT+8 BCD time; null when the terminal sent no valid time. */
  time: Date | null;
  /** Additional items by name (`mileage` km, `fuel` L …); unknown ids as hex under `0xNN`. */
  extras?: Record<string, unknown>;
}

/**
 * JT/T 808 §6.1 0x0200, the 28-byte basic block:
 *
 * | offset | field     | type   | unit                     |
 * | 0      | alarm     | DWORD  | bits §4.3                |
 * | 4      | status    | DWORD  | bits §4.4                |
 * | 8      | latitude  | DWORD  | 1e-6 degree, S if bit 2  |
 * | 12     | longitude | DWORD  | 1e-6 degree, W if bit 3  |
 * | 16     | altitude  | WORD   | m                        |
 * | 18     | speed     | WORD   | 1/10 km/h                |
 * | 20     | direction | WORD   | degree                   |
 * | 22     | time      | BCD[6] | YYMMDDhhmmss GMT+8       |
 * | 28     | items     | id BYTE, len BYTE, value… to the end (§4.5)  |
 *
 * Written out by hand rather than through `struct`: this is the hot path of the whole system
 * (every position of every vehicle), and the sign and unit conversions are per-field logic.
 */
function readBasic(r: import('../../src/codec/index.js').Reader, ctx: CodecContext): Location {
  const p = r.take(28, 'location basic block');
  const b = r.buf;
  const alarmRaw = b.readUInt32BE(p);
  const statusRaw = b.readUInt32BE(p + 4);
  const lat = b.readUInt32BE(p + 8) / 1e6;
  const lon = b.readUInt32BE(p + 12) / 1e6;
  const ms = readBcdTime(b, p + 22, TIME_ZONE_GMT8_MS);
  return {
    alarm: new AlarmWord(alarmRaw, ctx.edition),
    status: new StatusWord(statusRaw, ctx.edition),
    latitude: statusRaw & 4 ? -lat : lat,
    longitude: statusRaw & 8 ? -lon : lon,
    altitude: (b[p + 16]! << 8) | b[p + 17]!,
    speed: ((b[p + 18]! << 8) | b[p + 19]!) / 10,
    direction: (b[p + 20]! << 8) | b[p + 21]!,
    time: Number.isNaN(ms) ? null : new Date(ms),
    extras: undefined,
  };
}

function wordValue(v: unknown, what: string): number {
  const n = v instanceof FlagWord ? v.value : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new CodecError(ErrorCode.ENCODE, `${what} must be a DWORD or a flag word`);
  }
  return n;
}

function coord(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > max) {
    throw new CodecError(ErrorCode.ENCODE, `${what} ${String(v)} is not within ±${max}`);
  }
  return Math.round(Math.abs(v) * 1e6);
}

function writeBasic(w: import('../../src/codec/index.js').Writer, v: Location): void {
  if (v === null || typeof v !== 'object') throw new CodecError(ErrorCode.ENCODE, 'location must be an object');
  let status = wordValue(v.status, 'status');
  // The sign of the coordinates is the hemisphere bit: keep them consistent (§4.4 bits 2, 3).
  status = v.latitude < 0 ? (status | 4) >>> 0 : (status & ~4) >>> 0;
  status = v.longitude < 0 ? (status | 8) >>> 0 : (status & ~8) >>> 0;
  w.u32(wordValue(v.alarm, 'alarm'));
  w.u32(status);
  w.u32(coord(v.latitude, 90, 'latitude'));
  w.u32(coord(v.longitude, 180, 'longitude'));
  w.u16(v.altitude);
  w.u16(Math.round(v.speed * 10));
  w.u16(v.direction);
  const t = v.time === null || v.time === undefined ? NaN : new Date(v.time as Date | string).getTime();
  const at = w.reserve(6);
  writeBcdTime(t, w.buf, at, TIME_ZONE_GMT8_MS);
}

function registryOf(ctx: CodecContext): ItemRegistry {
  return (ctx.services as Jt808Services | undefined)?.items ?? STANDARD_ITEMS;
}

/** The full 0x0200 body: basic block plus additional items to the end of the enclosing part. */
export const locationBody: FieldType<Location> = {
  wire: '0x0200 body (28 bytes + items)',
  read: (r, ctx) => {
    const loc = readBasic(r, ctx);
    if (r.pos < r.end) {
      const extras: Record<string, unknown> = {};
      registryOf(ctx).readItems(r, ctx, extras);
      loc.extras = extras;
    }
    return loc;
  },
  write: (w, v, ctx) => {
    writeBasic(w, v);
    if (v.extras) registryOf(ctx).writeItems(w, v.extras, ctx);
  },
};

/** Only the 28-byte basic block (0x0801 and 0x0802 embed it without items). */
export const locationBasic: FieldType<Location> = {
  wire: '0x0200 basic block BYTE[28]',
  read: (r, ctx) => {
    const loc = readBasic(r, ctx);
    delete loc.extras;
    return loc;
  },
  write: (w, v) => writeBasic(w, v),
};
