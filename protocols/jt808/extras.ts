import {
  CodecError, ErrorCode, addProblem, field, scaled, struct, u16, u32, u8,
  type CodecContext, type FieldType, type Reader, type Writer,
} from '../../src/codec/index.js';
import { FlagWord, IO_STATUS_BITS, VEHICLE_SIGNAL_BITS } from './bits.js';

/**
 * One 0x0200 additional item (§4.5): `id BYTE, length BYTE, value`. `sizes` are the lengths the
 * standard allows; another length is kept raw and reported, never guessed at.
 */
export interface ItemDeclaration {
  readonly id: number;
  /** Key in `extras`, e.g. `mileage`. */
  readonly name: string;
  readonly type: FieldType<any>;
  readonly sizes?: readonly number[];
  readonly unit?: string;
  readonly doc?: string;
}

const flags = (names: readonly (string | undefined)[], base: FieldType<number>, wire: string): FieldType<FlagWord> => ({
  wire,
  read: (r, ctx, p) => new FlagWord(base.read(r, ctx, p), names),
  write: (w, v, ctx, p) => base.write(w, v instanceof FlagWord ? v.value : (v as unknown as number), ctx, p),
});

/** Item 0x06 sign: the text says "highest bit 1 = negative" (sign-magnitude); most peers read int16. */
function temperature(sign: 'twosComplement' | 'signMagnitude'): FieldType<number> {
  return {
    wire: `WORD ${sign}`,
    read: (r) => {
      const raw = r.u16();
      if (raw < 0x8000) return raw;
      return sign === 'twosComplement' ? raw - 0x10000 : -(raw & 0x7fff);
    },
    write: (w, v) => {
      if (!Number.isInteger(v) || v < -32767 || v > 32767) throw new CodecError(ErrorCode.ENCODE, `temperature ${v} out of range`);
      w.u16(v >= 0 ? v : sign === 'twosComplement' ? v + 0x10000 : 0x8000 | -v);
    },
  };
}

/** Item 0x05: one byte per wheel, 0xFF = no sensor (reported as null). */
const tyrePressure: FieldType<(number | null)[]> = {
  wire: 'BYTE[30]',
  read: (r) => {
    const out: (number | null)[] = [];
    while (r.pos < r.end) {
      const b = r.u8();
      out.push(b === 0xff ? null : b);
    }
    return out;
  },
  write: (w, v) => {
    for (let i = 0; i < 30; i++) w.u8(v[i] === undefined || v[i] === null ? 0xff : v[i]!);
  },
};

/** Item 0x2B: bits 0–15 AD0, bits 16–31 AD1 (so AD1 comes first on the wire). */
const analog: FieldType<{ ad0: number; ad1: number }> = {
  wire: 'DWORD (AD1<<16 | AD0)',
  read: (r) => {
    const ad1 = r.u16();
    return { ad0: r.u16(), ad1 };
  },
  write: (w, v) => {
    w.u16(v.ad1);
    w.u16(v.ad0);
  },
};

export function standardItems(opts: { temperatureSign?: 'twosComplement' | 'signMagnitude' } = {}): ItemDeclaration[] {
  return [
    { id: 0x01, name: 'mileage', type: scaled(u32, 10), sizes: [4], unit: 'km', doc: 'odometer, 1/10 km on the wire' },
    { id: 0x02, name: 'fuel', type: scaled(u16, 10), sizes: [2], unit: 'L', doc: 'fuel gauge, 1/10 L on the wire' },
    { id: 0x03, name: 'recorderSpeed', type: scaled(u16, 10), sizes: [2], unit: 'km/h', doc: 'driving-recorder speed' },
    { id: 0x04, name: 'alarmEventId', type: u16, sizes: [2], doc: 'alarm event awaiting manual confirmation (2013+)' },
    { id: 0x05, name: 'tyrePressure', type: tyrePressure, sizes: [30], unit: 'Pa (unscaled byte)', doc: 'per wheel, front to rear; null = no sensor (2019)' },
    { id: 0x06, name: 'carriageTemperature', type: temperature(opts.temperatureSign ?? 'twosComplement'), sizes: [2], unit: '°C', doc: 'compartment temperature (2019)' },
    {
      id: 0x11, name: 'overspeedAlarm', sizes: [1, 5], doc: '§4.5.1: position type 0 none, 1 circle, 2 rectangle, 3 polygon, 4 route segment',
      type: struct([field('positionType', u8), field('areaId', u32, { when: (o) => o.positionType !== 0 })]),
    },
    {
      id: 0x12, name: 'areaAlarm', sizes: [6], doc: '§4.5.2: direction 0 entering, 1 leaving',
      type: struct([field('positionType', u8), field('areaId', u32), field('direction', u8)]),
    },
    {
      id: 0x13, name: 'routeTimeAlarm', sizes: [7], doc: '§4.5.3: result 0 too short, 1 too long',
      type: struct([field('segmentId', u32), field('drivingTime', u16, { unit: 's' }), field('result', u8)]),
    },
    { id: 0x25, name: 'vehicleSignals', type: flags(VEHICLE_SIGNAL_BITS, u32, 'DWORD bits'), sizes: [4], doc: '§4.5.4 extended vehicle signals' },
    { id: 0x2a, name: 'ioStatus', type: flags(IO_STATUS_BITS, u16, 'WORD bits'), sizes: [2], doc: '§4.5.5 IO status' },
    { id: 0x2b, name: 'analog', type: analog, sizes: [4], doc: 'analog inputs AD0, AD1' },
    { id: 0x30, name: 'signalStrength', type: u8, sizes: [1], doc: 'wireless network signal strength' },
    { id: 0x31, name: 'satellites', type: u8, sizes: [1], doc: 'GNSS satellites in use' },
  ];
}

const hex2 = (id: number): string => '0x' + id.toString(16).padStart(2, '0');

/**
 * Which meaning an item id has. The standard set is the base; a vendor or model adds or
 * overrides ids with `with()`, giving a new registry, so ids that collide between vendors
 * coexist (one registry per terminal model). Unknown ids are kept as hex under `0xNN`.
 */
export class ItemRegistry {
  private readonly byId: (ItemDeclaration | undefined)[] = new Array(256).fill(undefined);
  /** Per id: the one allowed length, -1 for any or several (checked against `sizes`), -2 unknown. */
  private readonly fixedSize = new Int16Array(256).fill(-2);
  private readonly byName = new Map<string, ItemDeclaration>();

  constructor(items: readonly ItemDeclaration[] = standardItems()) {
    for (const it of items) {
      this.byId[it.id] = it;
      this.fixedSize[it.id] = it.sizes?.length === 1 ? it.sizes[0]! : -1;
      this.byName.set(it.name, it);
    }
  }

  /** A registry with `items` added or replacing the same ids. */
  with(items: readonly ItemDeclaration[]): ItemRegistry {
    const base = this.byId.filter((d): d is ItemDeclaration => d !== undefined && !items.some((i) => i.id === d.id));
    return new ItemRegistry([...base, ...items]);
  }

  get(id: number): ItemDeclaration | undefined {
    return this.byId[id];
  }

  list(): ItemDeclaration[] {
    return this.byId.filter((d): d is ItemDeclaration => d !== undefined);
  }

  /**
   * Reads items to the end of the part. Each item's value is read inside its declared length
   * and the cursor always jumps to that end; a length running past the part is an overrun
   * (kept raw, reported), and a lone trailing byte is reported and skipped.
   */
  readItems(r: Reader, ctx: CodecContext, extras: Record<string, unknown>): void {
    const buf = r.buf;
    const outerEnd = r.end;
    while (r.pos < outerEnd) {
      if (outerEnd - r.pos < 2) {
        addProblem(ctx, ErrorCode.TRAILING_BYTES, `dangling ${outerEnd - r.pos} byte(s) after the last additional item`);
        r.pos = outerEnd;
        return;
      }
      const id = buf[r.pos]!;
      const len = buf[r.pos + 1]!;
      const start = r.pos + 2;
      let end = start + len;
      if (end > outerEnd) {
        addProblem(ctx, ErrorCode.ITEM_OVERRUN, `item ${hex2(id)} declares ${len} bytes but only ${outerEnd - start} remain`);
        end = outerEnd;
        keepRaw(extras, hex2(id), buf.toString('hex', start, end));
        r.pos = outerEnd;
        return;
      }
      const size = this.fixedSize[id]!;
      const decl = this.byId[id];
      if (decl === undefined) {
        keepRaw(extras, hex2(id), buf.toString('hex', start, end));
      } else if (size !== len && (size !== -1 || (decl.sizes !== undefined && !decl.sizes.includes(len)))) {
        addProblem(ctx, ErrorCode.ITEM_LENGTH, `item ${hex2(id)} (${decl.name}) has length ${len}, expected ${(decl.sizes ?? []).join(' or ')}`);
        keepRaw(extras, hex2(id), buf.toString('hex', start, end));
      } else {
        r.pos = start;
        r.end = end;
        try {
          extras[decl.name] = decl.type.read(r, ctx, extras);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
          addProblem(ctx, e.code, `item ${hex2(id)} (${decl.name}): ${e.message}`);
          keepRaw(extras, hex2(id), buf.toString('hex', start, end));
        } finally {
          r.end = outerEnd;
        }
      }
      r.pos = end;
    }
  }

  /** Writes `extras` back as items, in their key order. Unknown items are `0xNN: hex`. */
  writeItems(w: Writer, extras: Record<string, unknown>, ctx: CodecContext): void {
    for (const key in extras) {
      const value = extras[key];
      if (value === undefined) continue;
      const decl = this.byName.get(key);
      if (decl) {
        w.u8(decl.id);
        const at = w.reserve(1);
        decl.type.write(w, value, ctx, extras);
        const n = w.pos - at - 1;
        if (n > 255) throw new CodecError(ErrorCode.ENCODE, `item ${key} is ${n} bytes (max 255)`);
        w.buf[at] = n;
        continue;
      }
      const m = /^0x([0-9a-f]{2})$/i.exec(key);
      if (!m) throw new CodecError(ErrorCode.ENCODE, `extras key "${key}" is neither a registered item nor 0xNN`);
      for (const hex of Array.isArray(value) ? value : [value]) {
        if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/i.test(hex) || hex.length > 510) {
          throw new CodecError(ErrorCode.ENCODE, `raw item ${key} must be a hex string of at most 255 bytes`);
        }
        w.u8(parseInt(m[1]!, 16));
        w.u8(hex.length / 2);
        w.bytes(Buffer.from(hex, 'hex'));
      }
    }
  }
}

/** Unknown items keep their hex; a repeated unknown id keeps every occurrence, in order. */
function keepRaw(extras: Record<string, unknown>, key: string, hex: string): void {
  const prev = extras[key];
  if (prev === undefined) extras[key] = hex;
  else if (Array.isArray(prev)) prev.push(hex);
  else extras[key] = [prev, hex];
}

export const STANDARD_ITEMS = new ItemRegistry();
