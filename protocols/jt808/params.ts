import {
  CodecError, ErrorCode, addProblem, bytes, field, struct, text, u16, u32, u8,
  type FieldType, type Fields,
} from '../../src/codec/index.js';

/**
 * Terminal parameters (§4.6), carried by 0x8103 (set), 0x0104 (report) and named by 0x8106.
 * On the wire each is `id DWORD, length BYTE, value`; a multi-valued parameter repeats its id.
 */
export interface ParamDeclaration {
  readonly id: number;
  readonly name: string;
  readonly type: FieldType<any>;
  /** Byte size when fixed: a value of another size is kept raw and reported. */
  readonly size?: number;
  readonly unit?: string;
}

/** A parameter as decoded: known ids carry `name` and a typed `value`; unknown ids a Buffer. */
export interface Param {
  id: number;
  name?: string;
  value: unknown;
}

const D = (id: number, name: string, unit?: string): ParamDeclaration => ({ id, name, type: u32, size: 4, unit });
const W = (id: number, name: string, unit?: string): ParamDeclaration => ({ id, name, type: u16, size: 2, unit });
const B = (id: number, name: string, unit?: string): ParamDeclaration => ({ id, name, type: u8, size: 1, unit });
const S = (id: number, name: string): ParamDeclaration => ({ id, name, type: text('toEnd') });

/** §4.6: every standard parameter id with its type. Strings are GBK to the item's length. */
export const PARAMS: readonly ParamDeclaration[] = [
  D(0x0001, 'heartbeatInterval', 's'), D(0x0002, 'tcpReplyTimeout', 's'), D(0x0003, 'tcpRetransmissions'),
  D(0x0004, 'udpReplyTimeout', 's'), D(0x0005, 'udpRetransmissions'), D(0x0006, 'smsReplyTimeout', 's'),
  D(0x0007, 'smsRetransmissions'),
  S(0x0010, 'mainApn'), S(0x0011, 'mainDialUser'), S(0x0012, 'mainDialPassword'), S(0x0013, 'mainServer'),
  S(0x0014, 'backupApn'), S(0x0015, 'backupDialUser'), S(0x0016, 'backupDialPassword'), S(0x0017, 'backupServer'),
  D(0x0018, 'serverTcpPort'), D(0x0019, 'serverUdpPort'),
  S(0x001a, 'icCardAuthServer'), D(0x001b, 'icCardAuthTcpPort'), D(0x001c, 'icCardAuthUdpPort'), S(0x001d, 'icCardAuthBackupServer'),
  D(0x0020, 'reportStrategy'), D(0x0021, 'reportScheme'), D(0x0022, 'reportIntervalDriverAbsent', 's'),
  S(0x0023, 'slaveApn'), S(0x0024, 'slaveDialUser'), S(0x0025, 'slaveDialPassword'), S(0x0026, 'slaveBackupServer'),
  D(0x0027, 'reportIntervalSleeping', 's'), D(0x0028, 'reportIntervalEmergency', 's'), D(0x0029, 'reportIntervalDefault', 's'),
  D(0x002c, 'reportDistanceDefault', 'm'), D(0x002d, 'reportDistanceDriverAbsent', 'm'), D(0x002e, 'reportDistanceSleeping', 'm'),
  D(0x002f, 'reportDistanceEmergency', 'm'), D(0x0030, 'cornerAngle', 'degree'), W(0x0031, 'fenceRadius', 'm'),
  {
    id: 0x0032, name: 'prohibitedDrivingPeriod', size: 4,
    type: struct([field('startHour', u8), field('startMinute', u8), field('endHour', u8), field('endMinute', u8)]),
  },
  S(0x0040, 'platformPhone'), S(0x0041, 'resetPhone'), S(0x0042, 'factoryResetPhone'), S(0x0043, 'platformSmsNumber'),
  S(0x0044, 'alarmSmsNumber'), D(0x0045, 'answerStrategy'), D(0x0046, 'maxCallDuration', 's'), D(0x0047, 'maxCallMonthly', 's'),
  S(0x0048, 'monitorPhone'), S(0x0049, 'privilegedSmsNumber'),
  D(0x0050, 'alarmMask'), D(0x0051, 'alarmSmsSwitch'), D(0x0052, 'alarmCaptureSwitch'), D(0x0053, 'alarmCaptureStore'),
  D(0x0054, 'keyAlarmFlags'), D(0x0055, 'maxSpeed', 'km/h'), D(0x0056, 'overspeedDuration', 's'),
  D(0x0057, 'continuousDrivingLimit', 's'), D(0x0058, 'dailyDrivingLimit', 's'), D(0x0059, 'minimumRest', 's'),
  D(0x005a, 'maxParking', 's'), W(0x005b, 'overspeedWarningMargin', '0.1 km/h'), W(0x005c, 'fatigueWarningMargin', 's'),
  W(0x005d, 'collisionSetting'), W(0x005e, 'rolloverAngle', 'degree'),
  D(0x0064, 'timedPhotoControl'), D(0x0065, 'distancePhotoControl'),
  D(0x0070, 'imageQuality'), D(0x0071, 'brightness'), D(0x0072, 'contrast'), D(0x0073, 'saturation'), D(0x0074, 'chroma'),
  D(0x0080, 'odometer', '0.1 km'), W(0x0081, 'provinceId'), W(0x0082, 'cityId'), S(0x0083, 'plate'), B(0x0084, 'plateColor'),
  B(0x0090, 'gnssMode'), B(0x0091, 'gnssBaudRate'), B(0x0092, 'gnssOutputRate'), D(0x0093, 'gnssSamplingPeriod', 's'),
  B(0x0094, 'gnssUploadMode'), D(0x0095, 'gnssUploadSetting'),
  D(0x0100, 'can1SamplingInterval', 'ms'), W(0x0101, 'can1UploadInterval', 's'),
  D(0x0102, 'can2SamplingInterval', 'ms'), W(0x0103, 'can2UploadInterval', 's'),
  ...Array.from({ length: 0x01ff - 0x0110 + 1 }, (_, i): ParamDeclaration => ({
    id: 0x0110 + i, name: `canIdSampling${(0x0110 + i).toString(16)}`, type: bytes(8), size: 8,
  })),
];

const byId = new Map(PARAMS.map((p) => [p.id, p]));
const byName = new Map(PARAMS.map((p) => [p.name, p]));

export function paramDeclaration(idOrName: number | string): ParamDeclaration | undefined {
  return typeof idOrName === 'number' ? byId.get(idOrName) : byName.get(idOrName);
}

/** One `id DWORD, length BYTE, value` item, read within its length. */
export const paramItem: FieldType<Param> = {
  wire: 'id DWORD, len BYTE, value',
  read: (r, ctx) => {
    const id = r.u32();
    const len = r.u8();
    const start = r.take(len, `parameter 0x${id.toString(16).padStart(4, '0')}`);
    const decl = byId.get(id);
    const raw = (): Param => ({ id, value: Buffer.from(r.buf.subarray(start, start + len)) });
    if (!decl) return raw();
    if (decl.size !== undefined && decl.size !== len) {
      addProblem(ctx, ErrorCode.ITEM_LENGTH, `parameter 0x${id.toString(16).padStart(4, '0')} (${decl.name}) has length ${len}, expected ${decl.size}`);
      return raw();
    }
    const end = r.pos;
    r.pos = start;
    const value = r.limit(len, (rr) => decl.type.read(rr, ctx, {} as Fields));
    r.pos = end;
    return { id, name: decl.name, value };
  },
  write: (w, v, ctx) => {
    if (v === null || typeof v !== 'object') throw new CodecError(ErrorCode.ENCODE, 'parameter must be {id, value}');
    const decl = typeof v.id === 'number' ? byId.get(v.id) : v.name !== undefined ? byName.get(v.name) : undefined;
    const id = typeof v.id === 'number' ? v.id : decl?.id;
    if (id === undefined) throw new CodecError(ErrorCode.ENCODE, `unknown parameter ${String(v.name)}`);
    w.u32(id);
    const at = w.reserve(1);
    if (Buffer.isBuffer(v.value)) w.bytes(v.value);
    else if (decl) decl.type.write(w, v.value, ctx, {});
    else if (typeof v.value === 'string' && /^([0-9a-fA-F]{2})*$/.test(v.value)) w.bytes(Buffer.from(v.value, 'hex'));
    else throw new CodecError(ErrorCode.ENCODE, `parameter 0x${id.toString(16)} is not declared: give its value as a Buffer or hex`);
    const n = w.pos - at - 1;
    if (n > 255) throw new CodecError(ErrorCode.ENCODE, `parameter 0x${id.toString(16)} value is ${n} bytes (max 255)`);
    w.buf[at] = n;
  },
};
