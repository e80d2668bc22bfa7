import {
  CodecError, ErrorCode, TIME_ZONE_GMT8_MS, readBcdTime, writeBcdTime,
  type CodecContext, type FieldType, type Reader, type Writer,
} from '../../src/codec/index.js';
import { AlarmWord, FlagWord, StatusWord } from './bits.js';
import { STANDARD_ITEMS, type ItemRegistry } from './extras.js';

/** What a custom type may find in `ctx.services` when decoding JT/T 808. */
export interface Jt808Services {
  /** The additional-item registry for this terminal (standard + its vendor's items). */
  items?: ItemRegistry;
}

/** The location's fields for the docs: [JSON name, wire, unit, meaning]. */
export const LOCATION_FIELDS: readonly (readonly [string, string, string, string])[] = [
  ['alarm', 'DWORD', '', 'alarm word §4.3: `{ value, flags }`, names per edition'],
  ['status', 'DWORD', '', 'status word §4.4: `{ value, flags, load }`'],
  ['latitude', 'DWORD ÷1e6', 'degree', 'negative when status bit 2 (south)'],
  ['longitude', 'DWORD ÷1e6', 'degree', 'negative when status bit 3 (west)'],
  ['altitude', 'WORD', 'm', ''],
  ['speed', 'WORD ÷10', 'km/h', ''],
  ['direction', 'WORD', 'degree', '0–359, north = 0, clockwise'],
  ['time', 'BCD[6]', 'ISO 8601 UTC', 'YYMMDDhhmmss sent in GMT+8; null when not a valid time'],
  ['extras', 'id BYTE, len BYTE, value … to end', '', 'additional items by name (table below); unknown ids as hex under `0xNN`'],
];

/** A location as given to the encoder: the shape of `Location`, with plain values allowed. */
export interface LocationInput {
  alarm: number | FlagWord;
  status: number | FlagWord;
  latitude: number;
  longitude: number;
  altitude: number;
  speed: number;
  direction: number;
  time: Date | string | null;
  extras?: Record<string, unknown>;
}

/**
 * The decoded 0x0200 body (also inside 0x0201, 0x0500, each 0x0704 item, and 0x0801/0x0802
 * without extras). Words and time are kept as numbers and turned into objects on access: a
 * gateway decodes every position of every vehicle, and most are stored, not inspected.
 */
export class Location {
  constructor(
    /** Edition whose bit meanings apply. */
    readonly edition: number,
    /** Raw alarm word (§4.3). */
    readonly alarmValue: number,
    /** Raw status word (§4.4). */
    readonly statusValue: number,
    /** Latitude in signed millionths of a degree (negative south, status bit 2). */
    readonly latitudeE6: number,
    /** Longitude in signed millionths of a degree (negative west, status bit 3). */
    readonly longitudeE6: number,
    /** Metres. */
    readonly altitude: number,
    /** Speed in 1/10 km/h, as on the wire. */
    readonly speed10: number,
    /** Degrees 0–359, north = 0, clockwise. */
    readonly direction: number,
    /** Epoch seconds of the terminal's GMT+8 BCD time; NaN when the terminal sent no valid time. */
    readonly timeSec: number,
    /** Additional items by name (`mileage` km, `fuel` L …); unknown ids as hex under `0xNN`. */
    public extras: Record<string, unknown> | undefined,
  ) {}
  // Integers on the object (small integers need no heap box); units converted on access.

  /** Signed degrees. */
  get latitude(): number {
    return this.latitudeE6 / 1e6;
  }

  get longitude(): number {
    return this.longitudeE6 / 1e6;
  }

  /** km/h. */
  get speed(): number {
    return this.speed10 / 10;
  }

  /** Alarm word with named flags (§4.3, per edition). */
  get alarm(): AlarmWord {
    return new AlarmWord(this.alarmValue, this.edition);
  }

  /** Status word with named flags and load state (§4.4). */
  get status(): StatusWord {
    return new StatusWord(this.statusValue, this.edition);
  }

  /** UTC instant of the terminal's time; null when it sent none. */
  get time(): Date | null {
    return Number.isNaN(this.timeSec) ? null : new Date(this.timeSec * 1000);
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      alarm: this.alarm.toJSON(),
      status: this.status.toJSON(),
      latitude: this.latitude,
      longitude: this.longitude,
      altitude: this.altitude,
      speed: this.speed,
      direction: this.direction,
      time: this.time?.toISOString() ?? null,
    };
    if (this.extras) out.extras = this.extras;
    return out;
  }
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
function readBasic(r: Reader, ctx: CodecContext): Location {
  const p = r.take(28, 'location basic block');
  const b = r.buf;
  const status = b.readUInt32BE(p + 4);
  const lat = b.readUInt32BE(p + 8);
  const lon = b.readUInt32BE(p + 12);
  return new Location(
    ctx.edition,
    b.readUInt32BE(p),
    status,
    status & 4 ? -lat : lat,
    status & 8 ? -lon : lon,
    (b[p + 16]! << 8) | b[p + 17]!,
    (b[p + 18]! << 8) | b[p + 19]!,
    (b[p + 20]! << 8) | b[p + 21]!,
    readBcdTime(b, p + 22, TIME_ZONE_GMT8_MS) / 1000,
    undefined,
  );
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

function writeBasic(w: Writer, v: LocationInput): void {
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
  const t = v.time === null || v.time === undefined ? NaN : new Date(v.time).getTime();
  const at = w.reserve(6);
  writeBcdTime(t, w.buf, at, TIME_ZONE_GMT8_MS);
}

function registryOf(ctx: CodecContext): ItemRegistry {
  return (ctx.services as Jt808Services | undefined)?.items ?? STANDARD_ITEMS;
}

/** The full 0x0200 body: basic block plus additional items to the end of the enclosing part. */
export const locationBody: FieldType<Location | LocationInput> = {
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
export const locationBasic: FieldType<Location | LocationInput> = {
  wire: '0x0200 basic block BYTE[28]',
  read: (r, ctx) => readBasic(r, ctx),
  write: (w, v) => writeBasic(w, v),
};
