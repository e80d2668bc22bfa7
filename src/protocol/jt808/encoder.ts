import { CodecError, ErrorCode, Writer, bcdDigitsToBytes, type CodecContext } from '../../codec/index.js';
import { MESSAGES, STANDARD_ITEMS, type Edition, type ItemRegistry, type Jt808Services } from '../../../protocols/jt808/index.js';
import { escapeFrame, xor } from './framing.js';

/** JT/T 808 §2.2: bits 0–9 of the body properties; a larger body must be split. */
export const MAX_BODY_LENGTH = 1023;

export interface OutgoingMessage {
  msgId: number;
  /** Terminal phone number digits; left-padded to 12 (20 in 2019). */
  terminal: string;
  /** Serial of the first (or only) packet. Split messages use consecutive serials from here. */
  serial: number;
  /** Edition of the header and body layout (default 2013). */
  version?: Edition;
  /** Body fields per the declaration, or raw bytes for an undeclared id. */
  body?: Record<string, unknown> | Buffer;
}

export interface EncodeOptions {
  /** Split bodies longer than this into numbered sub-packages (default 1023). */
  maxBodyLength?: number;
  /** 2019 header protocol version byte (default 1). */
  protocolVersion?: number;
  items?: ItemRegistry;
}

export interface EncodedMessage {
  /** Wire frames, flags and escapes included: one, or one per sub-package. */
  frames: Buffer[];
  /** The serial of each frame. */
  serials: number[];
}

/** Encodes a body by its declaration (exposed for tests and the simulator). */
export function encodeBody(msg: OutgoingMessage, opts: EncodeOptions = {}): Buffer {
  const edition = msg.version ?? 2013;
  if (Buffer.isBuffer(msg.body)) return msg.body;
  const decl = MESSAGES.get(msg.msgId);
  if (!decl) throw new CodecError(ErrorCode.ENCODE, `no declaration for 0x${msg.msgId.toString(16).padStart(4, '0')}: give the body as a Buffer`);
  if (decl.body === null) return Buffer.alloc(0);
  const w = new Writer(64);
  const services: Jt808Services = { items: opts.items ?? STANDARD_ITEMS };
  const ctx: CodecContext = { edition, problems: undefined, services };
  decl.body.write(w, (msg.body ?? {}) as never, ctx, {});
  return w.result();
}

/**
 * Builds the wire frames of one message (JT/T 808 §1–§2): body from its declaration, header in
 * the terminal's edition, checksum, escaping, and splitting into sub-packages over the limit.
 * Throws a CodecError (FG_ERR_ENCODE) for a body that does not fit its declaration.
 */
export function encodeMessage(msg: OutgoingMessage, opts: EncodeOptions = {}): EncodedMessage {
  const body = encodeBody(msg, opts);
  const edition = msg.version ?? 2013;
  const max = Math.min(opts.maxBodyLength ?? MAX_BODY_LENGTH, MAX_BODY_LENGTH);
  const total = body.length > max ? Math.ceil(body.length / max) : 1;
  if (total > 0xffff) throw new CodecError(ErrorCode.ENCODE, `body of ${body.length} bytes needs more than 65535 packets`);
  const phone = bcdDigitsToBytes(msg.terminal, edition === 2019 ? 10 : 6);
  const frames: Buffer[] = [];
  const serials: number[] = [];
  for (let i = 0; i < total; i++) {
    const part = total === 1 ? body : body.subarray(i * max, Math.min(body.length, (i + 1) * max));
    const serial = (msg.serial + i) & 0xffff;
    frames.push(frameOf(msg.msgId, edition, phone, serial, part, total > 1 ? [total, i + 1] : undefined, opts.protocolVersion ?? 1));
    serials.push(serial);
  }
  return { frames, serials };
}

function frameOf(msgId: number, edition: Edition, phone: Buffer, serial: number, body: Buffer, sub: [number, number] | undefined, protocolVersion: number): Buffer {
  const is2019 = edition === 2019;
  const headerLength = (is2019 ? 17 : 12) + (sub ? 4 : 0);
  const raw = Buffer.allocUnsafe(headerLength + body.length + 1);
  raw.writeUInt16BE(msgId, 0);
  raw.writeUInt16BE(body.length | (sub ? 0x2000 : 0) | (is2019 ? 0x4000 : 0), 2);
  let p = 4;
  if (is2019) raw[p++] = protocolVersion;
  phone.copy(raw, p);
  p += phone.length;
  raw.writeUInt16BE(serial, p);
  p += 2;
  if (sub) {
    raw.writeUInt16BE(sub[0], p);
    raw.writeUInt16BE(sub[1], p + 2);
    p += 4;
  }
  body.copy(raw, p);
  raw[raw.length - 1] = xor(raw, 0, raw.length - 1);
  return escapeFrame(raw);
}

/**
 * 0x8001 (platform general reply) for one terminal, built straight into bytes: the header (id,
 * body properties, 2019 protocol version, phone) is prepared once, each reply writes its serial,
 * the 5-byte body, the checksum and the escaping — byte for byte what `encodeMessage` gives
 * (test/encoder-fast.test.ts holds it to that) at a tenth of the cost. Every position gets one.
 */
export class GeneralReplyEncoder {
  private readonly raw: Buffer;
  private readonly serialAt: number;

  constructor(
    readonly terminal: string,
    readonly edition: Edition,
    protocolVersion = 1,
  ) {
    const is2019 = edition === 2019;
    const phone = bcdDigitsToBytes(terminal, is2019 ? 10 : 6);
    this.raw = Buffer.alloc((is2019 ? 17 : 12) + 5 + 1);
    this.raw.writeUInt16BE(0x8001, 0);
    this.raw.writeUInt16BE(5 | (is2019 ? 0x4000 : 0), 2);
    let p = 4;
    if (is2019) this.raw[p++] = protocolVersion;
    phone.copy(this.raw, p);
    this.serialAt = p + phone.length;
  }

  /** The wire frame (flags and escapes included) of one reply. */
  encode(serial: number, replySerial: number, replyMsgId: number, result: number): Buffer {
    const raw = this.raw;
    const p = this.serialAt;
    raw.writeUInt16BE(serial & 0xffff, p);
    raw.writeUInt16BE(replySerial & 0xffff, p + 2);
    raw.writeUInt16BE(replyMsgId & 0xffff, p + 4);
    raw[p + 6] = result;
    raw[raw.length - 1] = xor(raw, 0, raw.length - 1);
    return escapeFrame(raw);
  }
}
