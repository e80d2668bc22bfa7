import { CodecError, ErrorCode, Reader, type Problem } from '../../codec/index.js';
import { MESSAGES, type Edition, type ItemRegistry, type MessageDeclaration } from '../../../protocols/jt808/index.js';
import { ESC, unescape, xor } from './framing.js';

/** Per-terminal decoding policy (the session keeps one per terminal). Also the decode's services (Jt808Services). */
export interface DecodeOptions {
  /**
   * Force an edition instead of detecting it: 2011/2013 read a 2013 header even when bit 14 is
   * set (devices that set it wrongly); 2019 reads a 2019 header even when it is clear.
   */
  edition?: Edition;
  /** 'reject' (default) fails the frame on a bad XOR; 'accept' decodes it and reports it (known broken devices). */
  checksum?: 'reject' | 'accept';
  /** 'reject' (default) fails on a header body length that disagrees with the bytes; 'accept' uses the bytes present. */
  bodyLength?: 'reject' | 'accept';
  /** The additional-item registry for this terminal's model (standard items by default). */
  items?: ItemRegistry;
}

export interface Subpackage {
  total: number;
  /** 1-based. */
  index: number;
}

/** A decoded frame. `body` is set for a declared, complete, unencrypted message. */
export interface Jt808Message {
  msgId: number;
  /** Declaration name (`locationReport` …); undefined for an undeclared id. */
  msgName: string | undefined;
  /** Terminal phone number from the header, every BCD digit (12, or 20 in 2019). */
  terminal: string;
  serial: number;
  /** Edition whose layout was applied. */
  version: Edition;
  /** 2019 header protocol version byte. */
  protocolVersion: number | undefined;
  /** Header bits 10–12; non-zero means the body is encrypted and left raw. */
  encryption: number;
  subpackage: Subpackage | undefined;
  /** Decoded body fields. */
  body: Record<string, any> | undefined;
  /** Body bytes when not decoded: a sub-package part, an undeclared id, or an encrypted body. */
  raw: Buffer | undefined;
  /** False only when a bad checksum was accepted by policy. */
  checksumOk: boolean;
  /** Non-fatal findings (unknown id, overrun vendor item, trailing bytes …). */
  problems: Problem[] | undefined;
}

/** A frame that could not be decoded: a coded error plus whatever the header told. */
export interface Jt808Error {
  code: ErrorCode;
  message: string;
  /** For a body-length failure: the edition whose header would have fitted (bit-14 liars). */
  fitsEdition?: Edition;
  msgId?: number;
  terminal?: string;
  serial?: number;
}

export type DecodeResult = { ok: true; message: Jt808Message } | { ok: false; error: Jt808Error };

const MIN_FRAME = 13; // 12-byte 2011/2013 header + checksum
const NO_PARENT = Object.freeze({}) as Record<string, unknown>;

function fail(code: ErrorCode, message: string, partial?: Partial<Jt808Error>): DecodeResult {
  return { ok: false, error: { code, message, ...partial } };
}

/** Header length for an edition (§2.1): 12/16 bytes (2011/2013), 17/21 (2019), with sub-package fields. */
function headerLengthOf(is2019: boolean, sub: boolean): number {
  return (is2019 ? 17 : 12) + (sub ? 4 : 0);
}

const DEFAULT_OPTIONS: DecodeOptions = Object.freeze({});
const EMPTY_BUFFER = Buffer.alloc(0);

class ScratchReader extends Reader {
  busy = false;
  constructor() {
    super(EMPTY_BUFFER);
  }
}
const scratch = new ScratchReader();
/** The body of a message declared empty (heartbeat, 0x8104 …): shared, immutable. */
const EMPTY_BODY: Record<string, unknown> = Object.freeze({});

/**
 * Decodes one frame from the escaped bytes between its flags (JT/T 808 §1–§2, §6): unescape,
 * verify the XOR, read the 2011/2013 or 2019 header, check the body length, and decode the
 * body by its declaration. Never throws for bad input: every failure is a coded error value.
 */
export function decodeFrame(content: Buffer, opts: DecodeOptions = DEFAULT_OPTIONS): DecodeResult {
  return decodeFrameAt(content, 0, content.length, opts);
}

/**
 * decodeFrame over content[start, end): the frame reader hands out ranges of the socket chunk,
 * so a frame without escapes is decoded in place, with no copy and no view allocated.
 */
export function decodeFrameAt(content: Buffer, start: number, end: number, opts: DecodeOptions = DEFAULT_OPTIONS): DecodeResult {
  // One pass over the common case: XOR everything (header, body and check code XOR to zero when
  // the check code is right) and stop at the first 0x7d, which means the frame must be unescaped.
  let raw = content;
  let o = start;
  let e = end;
  let all = 0;
  let i = start;
  for (; i < end; i++) {
    const b = content[i]!;
    if (b === ESC) break;
    all ^= b;
  }
  if (i < end) {
    try {
      raw = unescape(content.subarray(start, end));
    } catch (err) {
      return fail((err as CodecError).code, (err as CodecError).message);
    }
    o = 0;
    e = raw.length;
    all = xor(raw, 0, e);
  }
  const n = e - o;
  if (n < MIN_FRAME) return fail(ErrorCode.TRUNCATED, `frame of ${n} bytes is shorter than a header and checksum (${MIN_FRAME})`);

  const msgId = (raw[o]! << 8) | raw[o + 1]!;
  const props = (raw[o + 2]! << 8) | raw[o + 3]!;
  const sub = (props & 0x2000) !== 0;
  const flag2019 = (props & 0x4000) !== 0;
  const is2019 = opts.edition === undefined ? flag2019 : opts.edition === 2019;
  const headerLength = headerLengthOf(is2019, sub);
  const phoneBytes = is2019 ? 10 : 6;
  if (n - 1 < headerLength) return fail(ErrorCode.TRUNCATED, `frame of ${n} bytes is shorter than its ${headerLength}-byte header`, { msgId });
  const phoneAt = o + (is2019 ? 5 : 4);
  const terminal = raw.toString('hex', phoneAt, phoneAt + phoneBytes);
  const serial = (raw[phoneAt + phoneBytes]! << 8) | raw[phoneAt + phoneBytes + 1]!;

  const checksum = raw[e - 1]!;
  const computed = all ^ checksum;
  const checksumOk = all === 0;
  if (!checksumOk && opts.checksum !== 'accept') {
    return fail(ErrorCode.CHECKSUM, `check code 0x${hex2(checksum)} but header and body XOR to 0x${hex2(computed)}`, { msgId, terminal, serial });
  }

  let problems: Problem[] | undefined;
  const declared = props & 0x3ff;
  const actual = n - 1 - headerLength;
  if (declared !== actual) {
    const otherFits = n - 1 - headerLengthOf(!is2019, sub) === declared;
    const msg = `header declares a ${declared}-byte body but ${actual} byte(s) follow the ${headerLength}-byte header${editionHint(otherFits, flag2019, is2019)}`;
    if (opts.bodyLength !== 'accept') {
      return fail(ErrorCode.BODY_LENGTH, msg, { msgId, terminal, serial, fitsEdition: otherFits ? (is2019 ? 2013 : 2019) : undefined });
    }
    problems = [{ code: ErrorCode.BODY_LENGTH, message: msg }];
  }
  if (!checksumOk) {
    (problems ??= []).push({ code: ErrorCode.CHECKSUM, message: `check code 0x${hex2(checksum)} accepted, XOR is 0x${hex2(computed)}` });
  }

  const bodyStart = o + headerLength;
  const bodyEnd = e - 1;
  const decl = MESSAGES.get(msgId);
  const message: Jt808Message = {
    msgId,
    msgName: decl?.name,
    terminal,
    serial,
    version: is2019 ? 2019 : opts.edition === 2011 ? 2011 : 2013,
    protocolVersion: is2019 ? raw[o + 4]! : undefined,
    encryption: (props >> 10) & 7,
    subpackage: sub ? { total: (raw[bodyStart - 4]! << 8) | raw[bodyStart - 3]!, index: (raw[bodyStart - 2]! << 8) | raw[bodyStart - 1]! } : undefined,
    body: undefined,
    raw: undefined,
    checksumOk,
    problems,
  };

  if (message.subpackage && message.subpackage.total > 1) {
    // A part of a split message: its body is a fragment; decode after reassembly (decodeBody).
    message.raw = Buffer.from(raw.subarray(bodyStart, bodyEnd));
    return { ok: true, message };
  }
  if (message.encryption !== 0) {
    message.raw = Buffer.from(raw.subarray(bodyStart, bodyEnd));
    addProblem(message, ErrorCode.ENCRYPTED, `body encrypted (mode ${message.encryption}); left raw`);
    return { ok: true, message };
  }
  if (!decl) {
    message.raw = Buffer.from(raw.subarray(bodyStart, bodyEnd));
    addProblem(message, ErrorCode.UNKNOWN_MESSAGE, `no declaration for message 0x${msgId.toString(16).padStart(4, '0')}; body kept raw`);
    return { ok: true, message };
  }
  const err = decodeInto(message, decl, raw, bodyStart, bodyEnd, opts);
  return err ?? { ok: true, message };
}

/**
 * Decodes a body that arrived split (after reassembly) or from elsewhere (0x0704 replay, MQTT).
 * `message` supplies the header values; its body, raw and problems are filled in.
 */
export function decodeBody(message: Jt808Message, body: Buffer, opts: DecodeOptions = DEFAULT_OPTIONS): DecodeResult {
  const decl = MESSAGES.get(message.msgId);
  if (!decl) {
    message.raw = body;
    addProblem(message, ErrorCode.UNKNOWN_MESSAGE, `no declaration for message 0x${message.msgId.toString(16).padStart(4, '0')}; body kept raw`);
    return { ok: true, message };
  }
  message.msgName = decl.name;
  return decodeInto(message, decl, body, 0, body.length, opts) ?? { ok: true, message };
}

function decodeInto(message: Jt808Message, decl: MessageDeclaration, buf: Buffer, start: number, end: number, opts: DecodeOptions): DecodeResult | undefined {
  let edition = message.version;
  if (decl.editionFromBody && opts.edition === undefined) edition = decl.editionFromBody(buf.subarray(start, end), edition);
  message.version = edition;
  if (decl.body === null) {
    if (end > start) addTrailing(message, buf, start, end);
    message.body = EMPTY_BODY;
    return undefined;
  }
  // The reader is the context too, and the options are the services (they hold `items`). A
  // decode is synchronous, so one scratch reader serves every decode; a nested decode (a vendor
  // item type decoding a frame inside a frame) finds it busy and takes its own.
  const r = scratch.busy ? new ScratchReader() : scratch;
  r.busy = true;
  r.reset(buf, start, end);
  r.edition = edition;
  r.problems = message.problems;
  r.services = opts;
  try {
    message.body = decl.body.read(r, r, NO_PARENT) as Record<string, unknown>;
    message.problems = r.problems;
    if (r.pos < end) addTrailing(message, buf, r.pos, end);
    return undefined;
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    return fail(e.code, `0x${message.msgId.toString(16).padStart(4, '0')} ${decl.name} (${edition}): ${e.message}`, {
      msgId: message.msgId, terminal: message.terminal, serial: message.serial,
    });
  } finally {
    r.busy = false;
    r.reset(EMPTY_BUFFER, 0, 0);
    r.problems = undefined;
    r.services = undefined;
  }
}

function addTrailing(message: Jt808Message, buf: Buffer, from: number, end: number): void {
  addProblem(message, ErrorCode.TRAILING_BYTES, `${end - from} byte(s) after the last declared field: ${buf.toString('hex', from, Math.min(end, from + 64))}`);
  message.raw = Buffer.from(buf.subarray(from, end));
}

function addProblem(message: Jt808Message, code: ErrorCode, text: string): void {
  (message.problems ??= []).push({ code, message: text });
}

/** When the body length fails, says whether the other header layout would have fitted (bit 14 liars). */
function editionHint(otherFits: boolean, flag2019: boolean, is2019: boolean): string {
  if (!otherFits) return '';
  const other = is2019 ? '2013' : '2019';
  return flag2019 === is2019
    ? ` (the ${other} header fits: bit 14 is ${flag2019 ? 'set' : 'clear'} but the frame looks like ${other}; set this terminal's edition to ${other})`
    : ` (the ${other} header fits)`;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}
