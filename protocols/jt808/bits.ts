import type { Edition } from './define.js';

/**
 * Named bits of the alarm word (§4.3), status word (§4.4), and items 0x25/0x2A (§4.5.4–5).
 * Bit 0 is the least significant bit throughout (§7 row 10).
 */
type BitNames = readonly (string | undefined)[];

// JT/T 808 §4.3. Index = bit. undefined = reserved in that edition.
const ALARM_2011: BitNames = [
  'emergency', 'overspeed', 'fatigue', 'warning', 'gnssFault', 'gnssAntennaCut', 'gnssAntennaShort',
  'powerUnderVoltage', 'powerCut', 'displayFault', 'ttsFault', 'cameraFault', undefined, undefined,
  undefined, undefined, undefined, undefined, 'dailyDrivingOvertime', 'parkingOvertime', 'areaInOut',
  'routeInOut', 'routeSegmentTime', 'routeDeviation', 'vssFault', 'fuelAbnormal', 'stolen',
  'illegalIgnition', 'illegalDisplacement', undefined, undefined, undefined,
];
const ALARM_2013: BitNames = ALARM_2011.map((n, bit) =>
  ({ 3: 'dangerWarning', 12: 'icCardFault', 13: 'overspeedWarning', 14: 'fatigueWarning', 29: 'collisionWarning', 30: 'rolloverWarning', 31: 'illegalDoorOpen' } as Record<number, string>)[bit] ?? n,
);
const ALARM_2019: BitNames = ALARM_2013.map((n, bit) =>
  ({ 3: 'dangerousDriving', 15: 'drivingViolation', 16: 'tyrePressureWarning', 17: 'rightTurnBlindZone', 29: 'collisionRollover', 31: undefined } as Record<number, string | undefined>)[bit] ?? (bit === 31 ? undefined : n),
);

// JT/T 808 §4.4. Bits 8–9 (load) are a 2-bit code, reported as `load`.
const STATUS_2011: BitNames = [
  'acc', 'located', 'south', 'west', 'outOfService', 'coordinatesEncrypted', undefined, undefined,
  undefined, undefined, 'fuelCut', 'circuitCut', 'doorsLocked',
];
const STATUS_2013: BitNames = [
  ...STATUS_2011, 'door1Open', 'door2Open', 'door3Open', 'door4Open', 'door5Open', 'gps', 'beidou',
  'glonass', 'galileo',
];
const STATUS_2019: BitNames = STATUS_2013.map((n, bit) => (bit === 6 ? 'forwardCollisionWarning' : bit === 7 ? 'laneDepartureWarning' : n)).concat(['moving']);

export const VEHICLE_SIGNAL_BITS: BitNames = [
  'lowBeam', 'highBeam', 'rightTurn', 'leftTurn', 'brake', 'reverse', 'fogLamp', 'markerLamps',
  'horn', 'airConditioning', 'neutral', 'retarder', 'abs', 'heater', 'clutch',
];
export const IO_STATUS_BITS: BitNames = ['deepSleep', 'sleep'];

const editionIndex = (e: number): 0 | 1 | 2 => (e >= 2019 ? 2 : e >= 2013 ? 1 : 0);
const ALARM: readonly BitNames[] = [ALARM_2011, ALARM_2013, ALARM_2019];
const STATUS: readonly BitNames[] = [STATUS_2011, STATUS_2013, STATUS_2019];
const LOAD = ['empty', 'half', 'reserved', 'full'] as const;

function setNames(value: number, names: BitNames): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (value & (2 ** bit) && names[bit] !== undefined) out.push(names[bit]!);
  }
  return out;
}

function bitsOf(value: number): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < 32; bit++) if (Math.floor(value / 2 ** bit) % 2) out.push(bit);
  return out;
}

/**
 * A bit word with names. Holds only the number and the edition; names are computed on demand so
 * decoding a location allocates nothing for them. JSON: `{ value, flags: [names of set bits] }`.
 */
export class FlagWord {
  constructor(
    readonly value: number,
    private readonly names: BitNames,
  ) {}
  /** True when the named bit is set. */
  has(name: string): boolean {
    const bit = this.names.indexOf(name);
    return bit >= 0 && Math.floor(this.value / 2 ** bit) % 2 === 1;
  }
  get flags(): string[] {
    return setNames(this.value, this.names);
  }
  /** Numbers of the set bits, named or not. */
  get bits(): number[] {
    return bitsOf(this.value);
  }
  toJSON(): { value: number; flags: string[] } {
    return { value: this.value, flags: this.flags };
  }
}

/** The alarm word of 0x0200 (§4.3), named per edition (bits 3, 12–17, 29–31 differ). */
export class AlarmWord extends FlagWord {
  constructor(value: number, edition: Edition | number) {
    super(value, ALARM[editionIndex(edition)]!);
  }
}

/** The status word of 0x0200 (§4.4); `load` decodes bits 8–9 (2013+). */
export class StatusWord extends FlagWord {
  constructor(
    value: number,
    readonly edition: Edition | number,
  ) {
    super(value, STATUS[editionIndex(edition)]!);
  }
  get load(): (typeof LOAD)[number] | undefined {
    return this.edition >= 2013 ? LOAD[(this.value >>> 8) & 3] : undefined;
  }
  override toJSON(): { value: number; flags: string[]; load?: string } {
    const load = this.load;
    return load === undefined ? super.toJSON() : { ...super.toJSON(), load };
  }
}

export const ALARM_BIT_NAMES = { 2011: ALARM_2011, 2013: ALARM_2013, 2019: ALARM_2019 } as const;
export const STATUS_BIT_NAMES = { 2011: STATUS_2011, 2013: STATUS_2013, 2019: STATUS_2019 } as const;
