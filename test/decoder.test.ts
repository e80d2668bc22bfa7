import { describe, expect, it } from 'vitest';
import { ErrorCode, field, struct, u16, u8 } from '../src/codec/index.js';
import { ItemRegistry, STANDARD_ITEMS, Location, type ItemDeclaration } from '../protocols/jt808/index.js';
import {
  Reassembler, decodeBody, decodeFrame, encodeMessage, messageToJson, type DecodeResult,
} from '../src/protocol/jt808/index.js';

const T = '013912344321';
const content = (frame: Buffer): Buffer => frame.subarray(1, frame.length - 1);
const one = (msg: Parameters<typeof encodeMessage>[0]): Buffer => encodeMessage(msg).frames[0]!;
const ok = (r: DecodeResult) => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.message;
};
const loc = (extras?: Record<string, unknown>) => ({
  alarm: 0, status: 3, latitude: 36.651216, longitude: 117.120128, altitude: 48, speed: 42.5, direction: 90,
  time: new Date('2026-11-29T04:00:00Z'), extras,
});
/** Replaces bytes of the unescaped frame and fixes the checksum, so only the change matters. */
function patched(frame: Buffer, at: number, bytes: number[]): Buffer {
  const raw = Buffer.from(content(frame)); // frames built here contain no escapes
  bytes.forEach((b, i) => (raw[at + i] = b));
  raw[raw.length - 1] = raw.subarray(0, raw.length - 1).reduce((x, b) => x ^ b, 0);
  return raw;
}

describe('decodeFrame errors are coded values', () => {
  const frame = one({ msgId: 0x0200, terminal: T, serial: 7, body: loc({ mileage: 10 }) });
  it('checksum: rejected by default, accepted and reported by policy', () => {
    const bad = Buffer.from(content(frame));
    bad[bad.length - 1] ^= 0xff;
    const strict = decodeFrame(bad);
    expect(strict.ok || strict.error.code).toBe(ErrorCode.CHECKSUM);
    if (!strict.ok) expect([strict.error.terminal, strict.error.serial, strict.error.msgId]).toEqual([T, 7, 0x0200]);
    const lenient = ok(decodeFrame(bad, { checksum: 'accept' }));
    expect(lenient.checksumOk).toBe(false);
    expect(lenient.problems?.map((p) => p.code)).toEqual([ErrorCode.CHECKSUM]);
  });
  it('body length: declared length that disagrees with the bytes', () => {
    const r = decodeFrame(patched(frame, 3, [content(frame)[3]! + 1]));
    expect(r.ok || r.error.code).toBe(ErrorCode.BODY_LENGTH);
  });
  it('truncated: a frame shorter than its header, and a body shorter than its layout', () => {
    expect((decodeFrame(Buffer.from('0200', 'hex')) as { error: { code: string } }).error.code).toBe(ErrorCode.TRUNCATED);
    const short = one({ msgId: 0x0001, terminal: T, serial: 1, body: Buffer.from('0001', 'hex') });
    const r = decodeFrame(content(short));
    expect(r.ok || r.error.code).toBe(ErrorCode.TRUNCATED);
    if (!r.ok) expect(r.error.message).toContain('terminalGeneralReply');
  });
  it('escape: 0x7d followed by a byte other than 01/02', () => {
    const r = decodeFrame(Buffer.from('02007d0300', 'hex'));
    expect(r.ok || r.error.code).toBe(ErrorCode.ESCAPE);
  });
  it('an unknown message id is framed and returned raw, with a problem, not an error', () => {
    const m = ok(decodeFrame(content(one({ msgId: 0x0f01, terminal: T, serial: 3, body: Buffer.from('c0ffee', 'hex') }))));
    expect(m.msgName).toBeUndefined();
    expect(m.raw?.toString('hex')).toBe('c0ffee');
    expect(m.problems?.[0]?.code).toBe(ErrorCode.UNKNOWN_MESSAGE);
  });
  it('an encrypted body (bit 10) is kept raw and reported', () => {
    const m = ok(decodeFrame(patched(frame, 2, [content(frame)[2]! | 0x04])));
    expect(m.encryption).toBe(1);
    expect(m.body).toBeUndefined();
    expect(m.problems?.[0]?.code).toBe(ErrorCode.ENCRYPTED);
  });
  it('trailing bytes after a declared body are reported and kept', () => {
    const body = Buffer.from('0001000200aabb', 'hex'); // 0x0001 is 5 bytes; 2 extra
    const m = ok(decodeFrame(content(one({ msgId: 0x0001, terminal: T, serial: 1, body }))));
    expect(m.body).toEqual({ replySerial: 1, replyMsgId: 2, result: 0 });
    expect(m.problems?.[0]?.code).toBe(ErrorCode.TRAILING_BYTES);
    expect(m.raw?.toString('hex')).toBe('aabb');
  });
  it('a list count larger than the data fails at once instead of growing memory', () => {
    // 0x8608 query: type 1, count 0xffffffff, no ids.
    const r = decodeFrame(content(one({ msgId: 0x8608, terminal: '00000000013912344321', serial: 1, version: 2019, body: Buffer.from('01ffffffff', 'hex') })));
    expect(r.ok || r.error.code).toBe(ErrorCode.TRUNCATED);
  });
  it('a list whose items take no bytes fails instead of looping', () => {
    // 0x0608 with an unknown query type: each "item" is the rest of the body (then nothing).
    const r = decodeFrame(content(one({ msgId: 0x0608, terminal: '00000000013912344321', serial: 1, version: 2019, body: Buffer.from('0900000002aabb', 'hex') })));
    expect(r.ok || r.error.code).toBe(ErrorCode.BAD_VALUE);
  });
});

describe('location (0x0200)', () => {
  it('applies the south/west bits to the sign and converts GMT+8 to UTC', () => {
    const frame = one({ msgId: 0x0200, terminal: T, serial: 1, body: { ...loc(), latitude: -33.8688, longitude: -70.6693 } });
    const m = ok(decodeFrame(content(frame))).body as unknown as Location;
    expect(m).toBeInstanceOf(Location);
    expect([m.latitude, m.longitude]).toEqual([-33.8688, -70.6693]);
    expect(m.status.has('south') && m.status.has('west')).toBe(true);
    expect(m.time?.toISOString()).toBe('2026-11-29T04:00:00.000Z');
    // The BCD on the wire is Beijing time, 12:00.
    expect(content(frame).subarray(12 + 22, 12 + 28).toString('hex')).toBe('261129120000');
  });
  it('names alarm flags per edition (bit 3, bit 29)', () => {
    const body = { ...loc(), alarm: (1 << 3) | (1 << 29) };
    const a13 = (ok(decodeFrame(content(one({ msgId: 0x0200, terminal: T, serial: 1, body })))).body as unknown as Location).alarm.flags;
    const a19 = (ok(decodeFrame(content(one({ msgId: 0x0200, terminal: '0' + T.padStart(19, '0'), serial: 1, version: 2019, body })))).body as unknown as Location).alarm.flags;
    expect(a13).toEqual(['dangerWarning', 'collisionWarning']);
    expect(a19).toEqual(['dangerousDriving', 'collisionRollover']);
  });
  it('prints the public JSON contract', () => {
    const m = ok(decodeFrame(content(one({ msgId: 0x0200, terminal: T, serial: 9, body: loc({ mileage: 1234.5, fuel: 31.5, signalStrength: 20, satellites: 12, '0xe1': '0102' }) }))));
    expect(messageToJson(m)).toEqual({
      terminal: T, msgId: '0x0200', msgName: 'locationReport', serial: 9, version: 2013,
      alarm: { value: 0, flags: [] }, status: { value: 3, flags: ['acc', 'located'], load: 'empty' },
      latitude: 36.651216, longitude: 117.120128, altitude: 48, speed: 42.5, direction: 90,
      time: '2026-11-29T04:00:00.000Z',
      extras: { mileage: 1234.5, fuel: 31.5, signalStrength: 20, satellites: 12, '0xe1': '0102' },
    });
  });
  it('jumps to each item\'s declared end and keeps a truncated last item raw, reported', () => {
    // mileage item declared with 4 bytes, then a vendor item 0xf6 declaring 4 with 2 present.
    const body = Buffer.concat([Buffer.from(content(one({ msgId: 0x0200, terminal: T, serial: 1, body: loc({ mileage: 1 }) })).subarray(12, -1)), Buffer.from('f6041450', 'hex')]);
    const m = ok(decodeFrame(content(one({ msgId: 0x0200, terminal: T, serial: 1, body }))));
    expect((m.body as unknown as Location).extras).toEqual({ mileage: 1, '0xf6': '1450' });
    expect(m.problems?.map((p) => p.code)).toEqual([ErrorCode.ITEM_OVERRUN]);
  });
  it('keeps a known item with a wrong length raw and reports it', () => {
    const base = content(one({ msgId: 0x0200, terminal: T, serial: 1, body: loc() })).subarray(12, -1);
    const body = Buffer.concat([base, Buffer.from('0103010203', 'hex')]); // mileage with 3 bytes
    const m = ok(decodeFrame(content(one({ msgId: 0x0200, terminal: T, serial: 1, body }))));
    expect((m.body as unknown as Location).extras).toEqual({ '0x01': '010203' });
    expect(m.problems?.[0]?.code).toBe(ErrorCode.ITEM_LENGTH);
  });
});

describe('vendor item registries', () => {
  // Two vendors use id 0xe1 differently; each terminal decodes with its own registry.
  const vendorA: ItemDeclaration[] = [{ id: 0xe1, name: 'fuelSensorA', type: u16, sizes: [2], unit: '0.1 L' }];
  const vendorB: ItemDeclaration[] = [{ id: 0xe1, name: 'doorCount', type: struct([field('front', u8), field('rear', u8)]), sizes: [2] }];
  const regA = STANDARD_ITEMS.with(vendorA);
  const regB = STANDARD_ITEMS.with(vendorB);
  const frame = content(one({ msgId: 0x0200, terminal: T, serial: 1, body: loc({ mileage: 5, '0xe1': '0203' }) }));

  it('lets colliding ids coexist, one meaning per registry', () => {
    const a = (ok(decodeFrame(frame, { items: regA })).body as unknown as Location).extras;
    const b = (ok(decodeFrame(frame, { items: regB })).body as unknown as Location).extras;
    const std = (ok(decodeFrame(frame)).body as unknown as Location).extras;
    expect(a).toEqual({ mileage: 5, fuelSensorA: 0x0203 });
    expect(b).toEqual({ mileage: 5, doorCount: { front: 2, rear: 3 } });
    expect(std).toEqual({ mileage: 5, '0xe1': '0203' });
  });
  it('encodes vendor items back with the same registry', () => {
    const again = encodeMessage({ msgId: 0x0200, terminal: T, serial: 1, body: { ...loc(), extras: { mileage: 5, doorCount: { front: 2, rear: 3 } } } }, { items: regB });
    expect(content(again.frames[0]!).toString('hex')).toBe(frame.toString('hex'));
  });
  it('does not change the registry it extends', () => {
    expect(STANDARD_ITEMS.get(0xe1)).toBeUndefined();
    expect(new ItemRegistry().list().length).toBe(STANDARD_ITEMS.list().length);
  });
});

describe('encoder', () => {
  it('splits a body over the limit into numbered sub-packages with consecutive serials', () => {
    const data = Buffer.alloc(2500, 0x7e); // every byte needs escaping, too
    const msg = { msgId: 0x0801, terminal: T, serial: 0xfffe, body: { mediaId: 1, mediaType: 0, mediaFormat: 0, event: 0, channel: 1, location: loc(), data } };
    const { frames, serials } = encodeMessage(msg);
    expect(serials).toEqual([0xfffe, 0xffff, 0]); // 2536 bytes: 1023 + 1023 + 490
    const parts = frames.map((f) => ok(decodeFrame(content(f))));
    expect(parts.map((p) => p.subpackage)).toEqual([1, 2, 3].map((index) => ({ total: 3, index })));
    expect(parts.every((p) => p.raw!.length <= 1023)).toBe(true);
    // Reassembled in any order, the body decodes to what was sent.
    const ra = new Reassembler({ timeoutMs: 1000, maxBytesPerTerminal: 1 << 16, maxBytesTotal: 1 << 20 });
    let done;
    for (const p of [parts[2]!, parts[0]!, parts[1]!]) done = ra.add(p, 0);
    expect(done!.status).toBe('complete');
    if (done!.status !== 'complete') return;
    const whole = ok(decodeBody(done!.message, done!.body));
    expect((whole.body as { data: Buffer }).data.equals(data)).toBe(true);
    expect(whole.serial).toBe(0xfffe);
  });
  it('honours a smaller configured packet size', () => {
    const { frames } = encodeMessage({ msgId: 0x8300, terminal: T, serial: 1, body: { flags: 8, text: 'x'.repeat(300) } }, { maxBodyLength: 128 });
    expect(frames).toHaveLength(3);
  });
  it('writes the 2019 header: bit 14, version byte, 10-byte phone', () => {
    const f = content(one({ msgId: 0x8001, terminal: '00000000013912344321', serial: 5, version: 2019, body: { replySerial: 1, replyMsgId: 2, result: 0 } }));
    expect(f.subarray(0, 17).toString('hex')).toBe('8001' + '4005' + '01' + '00000000013912344321' + '0005');
  });
  it('rejects a body that does not fit its declaration with a coded error', () => {
    expect(() => encodeMessage({ msgId: 0x8001, terminal: T, serial: 1, body: { replySerial: 1, replyMsgId: 2 } })).toThrow(expect.objectContaining({ code: ErrorCode.ENCODE }));
    expect(() => encodeMessage({ msgId: 0x8001, terminal: '12345678901234', serial: 1, body: { replySerial: 1, replyMsgId: 2, result: 0 } })).toThrow(expect.objectContaining({ code: ErrorCode.ENCODE }));
    expect(() => encodeMessage({ msgId: 0x0f00, terminal: T, serial: 1, body: {} })).toThrow(expect.objectContaining({ code: ErrorCode.ENCODE }));
  });
});

describe('Reassembler limits and timeouts', () => {
  const parts = encodeMessage({ msgId: 0x0801, terminal: T, serial: 10, body: { mediaId: 1, mediaType: 0, mediaFormat: 0, event: 0, channel: 1, location: loc(), data: Buffer.alloc(3000, 1) } })
    .frames.map((f) => ok(decodeFrame(content(f))));
  it('reports missing packets of a stale set, then expires it and frees its memory', () => {
    const ra = new Reassembler({ timeoutMs: 5000, maxBytesPerTerminal: 1 << 16, maxBytesTotal: 1 << 20 });
    ra.add(parts[0]!, 0);
    ra.add(parts[2]!, 100);
    expect(ra.stale(1000, 500)).toEqual([{ terminal: T, msgId: 0x0801, total: 3, firstSerial: 10, missing: [2], ageMs: 1000, mediaId: 1 }]);
    expect(ra.dueForResend(1000, 500)).toHaveLength(1);
    expect(ra.dueForResend(1200, 500)).toHaveLength(0); // asked 200 ms ago
    expect(ra.dueForResend(1600, 500)).toHaveLength(1);
    expect(ra.bytesHeld).toBeGreaterThan(0);
    expect(ra.expire(6000)).toHaveLength(1);
    expect(ra.bytesHeld).toBe(0);
    expect(ra.setsInProgress).toBe(0);
  });
  it('refuses parts beyond the per-terminal memory cap', () => {
    const ra = new Reassembler({ timeoutMs: 5000, maxBytesPerTerminal: 1500, maxBytesTotal: 1 << 20 });
    expect(ra.add(parts[0]!, 0).status).toBe('pending');
    const r = ra.add(parts[1]!, 0);
    expect(r.status).toBe('rejected');
  });
  it('counts a duplicate part once', () => {
    const ra = new Reassembler({ timeoutMs: 5000, maxBytesPerTerminal: 1 << 16, maxBytesTotal: 1 << 20 });
    ra.add(parts[0]!, 0);
    expect(ra.add(parts[0]!, 0)).toEqual({ status: 'pending', received: 1, total: 3 });
  });
});
