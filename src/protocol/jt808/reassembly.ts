import { CodecError, ErrorCode } from '../../codec/index.js';
import type { Jt808Message } from './decoder.js';

export interface ReassemblyLimits {
  /** A set not completed within this time is dropped (after re-requests had their chance). */
  timeoutMs: number;
  /** Bytes held for one terminal's unfinished sets. */
  maxBytesPerTerminal: number;
  /** Bytes held for all terminals together. */
  maxBytesTotal: number;
}

interface PartSet {
  terminal: string;
  msgId: number;
  total: number;
  parts: (Buffer | undefined)[];
  received: number;
  bytes: number;
  /** Header of the first part (index 1) once seen; else of the first part seen. */
  first: Jt808Message;
  firstSerial: number | undefined;
  startedAt: number;
  /** When missing packets were last re-requested. */
  requestedAt: number | undefined;
}

export type ReassemblyResult =
  | { status: 'complete'; message: Jt808Message; body: Buffer; parts: number }
  | { status: 'pending'; received: number; total: number }
  | { status: 'rejected'; error: CodecError };

export interface StaleSet {
  terminal: string;
  msgId: number;
  total: number;
  /** Serial of packet 1 when seen (what 0x8003 names). */
  firstSerial: number | undefined;
  missing: number[];
  ageMs: number;
  /** 0x0801: the multimedia id from packet 1, when it arrived (0x8800 names it). */
  mediaId?: number;
}

/**
 * Joins the parts of split messages (JT/T 808 §2.3), per terminal and message id. Parts may
 * arrive in any order and with non-consecutive serials (real devices do both). Memory is capped
 * per terminal and globally; the clock is passed in, so tests control time.
 */
export class Reassembler {
  private readonly sets = new Map<string, PartSet>();
  private readonly bytesByTerminal = new Map<string, number>();
  private totalBytes = 0;

  constructor(private readonly limits: ReassemblyLimits) {}

  get bytesHeld(): number {
    return this.totalBytes;
  }

  get setsInProgress(): number {
    return this.sets.size;
  }

  add(part: Jt808Message, now: number): ReassemblyResult {
    const sp = part.subpackage;
    const data = part.raw;
    if (!sp || !data) throw new Error('Reassembler.add takes a sub-package part');
    if (sp.index < 1 || sp.index > sp.total) {
      return { status: 'rejected', error: new CodecError(ErrorCode.BAD_VALUE, `packet index ${sp.index} outside 1…${sp.total}`) };
    }
    const key = `${part.terminal}:${part.msgId}:${sp.total}`;
    let set = this.sets.get(key);
    if (!set) {
      set = { terminal: part.terminal, msgId: part.msgId, total: sp.total, parts: new Array(sp.total), received: 0, bytes: 0, first: part, firstSerial: undefined, startedAt: now, requestedAt: undefined };
      this.sets.set(key, set);
    }
    if (sp.index === 1) {
      set.first = part;
      set.firstSerial = part.serial;
    }
    if (set.parts[sp.index - 1] === undefined) {
      const held = this.bytesByTerminal.get(part.terminal) ?? 0;
      if (held + data.length > this.limits.maxBytesPerTerminal || this.totalBytes + data.length > this.limits.maxBytesTotal) {
        return { status: 'rejected', error: new CodecError(ErrorCode.FRAME_TOO_LONG, `reassembly memory cap reached (terminal ${held} B, total ${this.totalBytes} B)`) };
      }
      set.parts[sp.index - 1] = Buffer.from(data);
      set.received++;
      set.bytes += data.length;
      this.account(part.terminal, data.length);
    }
    if (set.received < set.total) return { status: 'pending', received: set.received, total: set.total };
    this.drop(key, set);
    const body = Buffer.concat(set.parts as Buffer[]);
    const message: Jt808Message = { ...set.first, subpackage: { total: set.total, index: 1 }, raw: undefined, body: undefined, problems: undefined };
    return { status: 'complete', message, body, parts: set.total };
  }

  /** Sets older than `olderThanMs` with their missing indexes. */
  stale(now: number, olderThanMs: number): StaleSet[] {
    const out: StaleSet[] = [];
    for (const set of this.sets.values()) if (now - set.startedAt >= olderThanMs) out.push(describe(set, now));
    return out;
  }

  /**
   * Sets whose missing packets should be asked for again (0x8003, or 0x8800 for multimedia):
   * silent for `everyMs` since they started or since the last request. Marks them requested.
   */
  dueForResend(now: number, everyMs: number): StaleSet[] {
    const out: StaleSet[] = [];
    for (const set of this.sets.values()) {
      if (now - (set.requestedAt ?? set.startedAt) < everyMs) continue;
      set.requestedAt = now;
      out.push(describe(set, now));
    }
    return out;
  }

  /** Drops sets past the timeout; returns them. */
  expire(now: number): StaleSet[] {
    const gone = this.stale(now, this.limits.timeoutMs);
    for (const s of gone) {
      const key = `${s.terminal}:${s.msgId}:${s.total}`;
      const set = this.sets.get(key);
      if (set) this.drop(key, set);
    }
    return gone;
  }

  /** Forgets everything held for one terminal (it disconnected). */
  dropTerminal(terminal: string): void {
    for (const [key, set] of this.sets) if (set.terminal === terminal) this.drop(key, set);
  }

  private drop(key: string, set: PartSet): void {
    this.sets.delete(key);
    this.account(set.terminal, -set.bytes);
  }

  private account(terminal: string, delta: number): void {
    const next = (this.bytesByTerminal.get(terminal) ?? 0) + delta;
    if (next <= 0) this.bytesByTerminal.delete(terminal);
    else this.bytesByTerminal.set(terminal, next);
    this.totalBytes += delta;
  }
}

function describe(set: PartSet, now: number): StaleSet {
  const missing: number[] = [];
  for (let i = 0; i < set.total; i++) if (set.parts[i] === undefined) missing.push(i + 1);
  const first = set.parts[0];
  return {
    terminal: set.terminal, msgId: set.msgId, total: set.total, firstSerial: set.firstSerial, missing, ageMs: now - set.startedAt,
    ...(set.msgId === 0x0801 && first && first.length >= 4 ? { mediaId: first.readUInt32BE(0) } : {}),
  };
}
