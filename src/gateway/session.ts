import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../codec/index.js';
import type { Edition } from '../../protocols/jt808/index.js';
import { topics } from '../bus/types.js';
import {
  GeneralReplyEncoder, Jt808StreamDecoder, decodeBody, encodeMessage,
  type DecodeResult, type Jt808Error, type Jt808Message,
} from '../protocol/jt808/index.js';
import type { GatewayContext } from './context.js';
import { ResendMemo } from './resends.js';
import type { Transport } from './transport.js';

export type SessionState = 'connected' | 'registered' | 'online' | 'closed';

/** 0x8001 results (JT/T 808 §4.1). */
const OK = 0;
const FAILURE = 1;
const MESSAGE_ERROR = 2;
const NOT_SUPPORTED = 3;

/** Messages a terminal may send before it has authenticated. */
const PRE_AUTH = new Set([0x0100, 0x0102, 0x0003, 0x0004]);
/** Uplinks that answer a platform command (routed to the command service). */
const COMMAND_REPLIES = new Set([0x0001, 0x0104, 0x0107, 0x0201, 0x0302, 0x0500, 0x0608, 0x0700, 0x0702, 0x0802, 0x0805]);
/** Uplinks that are answered with 0x8001 (their declaration names it, or the general rule §2.4). */
const NO_GENERAL_REPLY = new Set([0x0001, 0x0104, 0x0107, 0x0201, 0x0500, 0x0608, 0x0700, 0x0802, 0x0805, 0x0a00, 0x0801]);

/**
 * One terminal connection: registration, authentication, heartbeats, acknowledgements, limits,
 * sub-package reassembly and routing of command replies. Frames are handled in arrival order;
 * a step that waits for the store holds the ones behind it (bounded by backpressure).
 */
export class Session {
  state: SessionState = 'connected';
  terminal: string | undefined;
  edition: Edition = 2013;
  lastSeen: number;
  /** When the decoder started holding an unfinished frame (0 = none). */
  private partialSince = 0;
  private serial = 0;
  private preAuthRefused = 0;
  private rateWindow = 0;
  private rateCount = 0;
  private readonly decoder: Jt808StreamDecoder;
  private queue: Jt808Message[] | undefined;
  private busy = false;
  /** Recent location frames, to answer a terminal's re-send without storing it twice. */
  private resends: ResendMemo | undefined;
  /** 0x8001 for this terminal and edition, header prepared (rebuilt if either changes). */
  private replies: GeneralReplyEncoder | undefined;
  private readonly onResult = (r: DecodeResult): void => this.handleResult(r);

  constructor(
    readonly transport: Transport,
    private readonly ctx: GatewayContext,
  ) {
    this.lastSeen = ctx.now();
    this.decoder = new Jt808StreamDecoder({}, ctx.config.gateway.maxFrameBytes);
    const archive = ctx.archive;
    if (archive) {
      this.decoder.onFrame = (buf, start, end, r) => {
        const terminal = r.ok ? r.message.terminal : (this.terminal ?? r.error.terminal ?? '');
        archive.frame(terminal, 'up', r.ok ? r.message.msgId : (r.error.msgId ?? -1), buf, start, end);
      };
    }
    this.decoder.editionFallback = true;
  }

  /** Bytes from the terminal. */
  onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastSeen = this.ctx.now();
    this.decoder.push(chunk, this.onResult);
    this.partialSince = this.decoder.pendingBytes > 0 ? this.partialSince || this.lastSeen : 0;
  }

  /** Periodic checks (the gateway sweeps every session once a second). */
  sweep(now: number): void {
    const g = this.ctx.config.gateway;
    if (now - this.lastSeen > g.idleTimeoutMs) this.close('idle');
    else if (this.partialSince !== 0 && now - this.partialSince > g.partialFrameTimeoutMs) {
      this.ctx.metrics.errors.inc({ code: ErrorCode.PARTIAL_FRAME_TIMEOUT });
      this.close('partial_frame');
    }
  }

  nextSerial(count = 1): number {
    const s = this.serial;
    this.serial = (this.serial + count) & 0xffff;
    return s;
  }

  /** Encodes and writes a downlink in this terminal's edition; returns the serials used. */
  send(msgId: number, body: Record<string, unknown> | Buffer | undefined, serial?: number): number[] {
    if (!this.terminal || this.state === 'closed') return [];
    const first = serial ?? this.serial;
    const { frames, serials } = encodeMessage({ msgId, terminal: this.terminal, serial: first, version: this.edition, body });
    if (serial === undefined) this.nextSerial(frames.length);
    this.writeFrames(frames, msgId);
    return serials;
  }

  /** Writes already-encoded frames (a command's retry re-sends the same bytes and serials). */
  writeFrames(frames: Buffer[], msgId: number): void {
    for (const f of frames) if (!this.writeFrame(f, msgId)) return;
  }

  /** Writes one frame; false when the connection was closed for a full write queue. */
  private writeFrame(f: Buffer, msgId: number): boolean {
    this.ctx.archive?.frame(this.terminal ?? '', 'down', msgId, f, 1, f.length - 1);
    if (!this.transport.write(f)) {
      this.ctx.metrics.backpressure.inc({ kind: 'slow_consumer_dropped' });
      this.close('write_backpressure');
      return false;
    }
    this.ctx.countFrame(msgId, 'down');
    return true;
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasOnline = this.state === 'online';
    this.state = 'closed';
    this.ctx.all.delete(this);
    this.ctx.metrics.connectionsClosed.inc({ reason });
    this.transport.close();
    if (this.terminal) this.ctx.reassembler.dropTerminal(this.terminal);
    if (wasOnline && this.terminal && this.ctx.sessions.get(this.terminal) === this) {
      this.ctx.sessions.delete(this.terminal);
      this.ctx.commands.onOffline(this.terminal);
      this.publishStatus('offline', reason);
    }
  }

  // ——— inbound ———

  private handleResult(r: DecodeResult): void {
    if (this.state === 'closed') return;
    if (!this.withinRate()) return;
    if (!r.ok) return this.onDecodeError(r.error);
    const m = r.message;
    this.ctx.countFrame(m.msgId, 'up');
    for (const p of m.problems ?? []) this.ctx.metrics.errors.inc({ code: p.code });
    if (m.subpackage && m.subpackage.total > 1) return this.onPart(m);
    this.enqueue(m);
  }

  private withinRate(): boolean {
    const now = this.lastSeen;
    if (now - this.rateWindow >= 1000) {
      this.rateWindow = now;
      this.rateCount = 0;
    }
    if (++this.rateCount <= this.ctx.config.gateway.maxFramesPerSecond) return true;
    this.ctx.metrics.errors.inc({ code: ErrorCode.RATE_LIMIT });
    // A burst is dropped frame by frame; twice the limit within a second ends the connection.
    if (this.rateCount > 2 * this.ctx.config.gateway.maxFramesPerSecond) this.close('rate_limit');
    return false;
  }

  private onDecodeError(e: Jt808Error): void {
    this.ctx.metrics.errors.inc({ code: e.code });
    this.ctx.log.debug({ terminal: this.terminal ?? e.terminal, code: e.code, err: e.message }, 'bad frame');
    // A frame whose header was readable gets "message error", so the terminal can resend it.
    if (this.state === 'online' && e.terminal === this.terminal && e.msgId !== undefined && e.serial !== undefined) {
      this.generalReply(e.serial, e.msgId, MESSAGE_ERROR);
    } else if (this.state !== 'online') {
      this.refusePreAuth();
    }
  }

  private onPart(m: Jt808Message): void {
    if (this.state !== 'online') return void this.enqueue(m); // refused there
    const ctx = this.ctx;
    const res = ctx.reassembler.add(m, ctx.now());
    ctx.metrics.reassembly.set(ctx.reassembler.setsInProgress);
    ctx.metrics.reassemblyBytes.set(ctx.reassembler.bytesHeld);
    if (res.status === 'rejected') {
      ctx.metrics.errors.inc({ code: ErrorCode.REASSEMBLY });
      if (m.msgId !== 0x0801) this.generalReply(m.serial, m.msgId, FAILURE);
      return;
    }
    // Each packet is acknowledged (JT/T 808 §2.3), except multimedia, answered by 0x8800 at the end.
    if (m.msgId !== 0x0801) this.generalReply(m.serial, m.msgId, OK);
    if (res.status === 'complete') {
      const whole = decodeBody(res.message, res.body, this.decoder.options);
      if (whole.ok) this.enqueue(whole.message);
      else this.onDecodeError(whole.error);
    }
  }

  private enqueue(m: Jt808Message): void {
    if (this.busy) {
      (this.queue ??= []).push(m);
      if (this.queue.length === 256) {
        this.transport.pause(); // this terminal outruns its own store round-trips
        this.ctx.metrics.backpressure.inc({ kind: 'session_paused' });
      }
      return;
    }
    void this.drain(m);
  }

  private async drain(first: Jt808Message): Promise<void> {
    this.busy = true;
    let m: Jt808Message | undefined = first;
    try {
      while (m && this.state !== 'closed') {
        const wait = this.handle(m);
        if (wait) await wait;
        m = this.queue?.shift();
        if (this.queue?.length === 128) this.transport.resume();
      }
    } catch (e) {
      this.ctx.log.error({ err: e, terminal: this.terminal }, 'session handler failed');
      this.close('internal_error');
    } finally {
      this.busy = false;
    }
  }

  /** Handles one message; returns a promise only when the next must wait for it. */
  private handle(m: Jt808Message): Promise<void> | undefined {
    // One connection is one terminal: another phone number on it has not authenticated.
    const foreign = this.state === 'online' && m.terminal !== this.terminal;
    if ((this.state !== 'online' && !PRE_AUTH.has(m.msgId)) || foreign) {
      this.ctx.metrics.errors.inc({ code: ErrorCode.NOT_AUTHENTICATED });
      if (!foreign) this.generalReply(m.serial, m.msgId, FAILURE, m.terminal);
      this.refusePreAuth();
      return undefined;
    }
    this.terminal ??= m.terminal;
    switch (m.msgId) {
      case 0x0100:
        return this.register(m);
      case 0x0102:
        return this.authenticate(m);
      case 0x0003:
        return this.logout(m);
      case 0x0002:
        this.generalReply(m.serial, m.msgId, OK);
        return undefined;
      case 0x0004:
        this.send(0x8004, { time: new Date(this.ctx.now()) });
        return undefined;
      case 0x0005:
        this.ctx.commands.resendParts(this, m.body?.originalSerial as number, m.body?.packetIndexes as number[]);
        return undefined;
      case 0x0200:
      case 0x0704:
        this.submitLocations(m);
        return undefined;
    }
    if (COMMAND_REPLIES.has(m.msgId)) this.ctx.commands.onReply(this, m);
    if (m.msgId === 0x0801) this.ctx.commands.mediaComplete(this, m);
    void this.ctx.pipeline.submit({ message: m, receivedAt: this.lastSeen, transport: this.transport.kind });
    if (m.msgName === undefined) this.generalReply(m.serial, m.msgId, NOT_SUPPORTED);
    else if (!NO_GENERAL_REPLY.has(m.msgId)) this.generalReply(m.serial, m.msgId, OK);
    return undefined;
  }

  /**
   * Locations: acknowledged only when the pipeline says they are durable. A copy of a frame still
   * on its way is acknowledged with the original; a copy of one already stored is acked at once.
   */
  private submitLocations(m: Jt808Message): void {
    const memo = (this.resends ??= new ResendMemo());
    const seen = memo.check(m);
    if (seen !== 'new') {
      this.ctx.metrics.locationResends.inc({ outcome: seen === 'stored' ? 'acked' : 'waited' });
      if (seen === 'stored') this.generalReply(m.serial, m.msgId, OK);
      return;
    }
    const token = memo.start(m);
    const receivedAt = this.lastSeen;
    this.ctx.pipeline.submit({ message: m, receivedAt, transport: this.transport.kind }).then(
      () => {
        for (let copies = memo.stored(token); copies >= 0; copies--) this.generalReply(m.serial, m.msgId, OK);
        this.ctx.metrics.ackLatency.observe((this.ctx.now() - receivedAt) / 1000);
      },
      // Not durable: no acknowledgement, so the terminal keeps the data and resends it.
      (err: unknown) => {
        memo.forget(token);
        this.ctx.log.warn({ err, terminal: m.terminal, serial: m.serial }, 'location not stored; not acknowledged');
      },
    );
  }

  private async register(m: Jt808Message): Promise<void> {
    const b = m.body ?? {};
    const store = this.ctx.store;
    const known = await store.getTerminal(m.terminal);
    this.terminal = m.terminal;
    this.edition = m.version;
    if (!known && this.ctx.config.gateway.unknownTerminals === 'reject') {
      this.ctx.metrics.errors.inc({ code: ErrorCode.REGISTRATION_REFUSED });
      this.send(0x8100, { replySerial: m.serial, result: 4 }); // terminal not in database (§4.2)
      this.refusePreAuth();
      return;
    }
    const authCode = known?.authCode ?? randomBytes(6).toString('base64url');
    await store.saveTerminal({
      ...known,
      terminal: m.terminal, authCode, edition: m.version,
      province: b.province, city: b.city, makerId: b.makerId, model: b.model, deviceId: b.terminalId,
      plateColor: b.plateColor, plate: b.plate, registeredAt: known?.registeredAt ?? new Date(this.ctx.now()).toISOString(),
    });
    if (this.state === 'connected') this.state = 'registered';
    this.send(0x8100, { replySerial: m.serial, result: 0, authCode });
  }

  private async authenticate(m: Jt808Message): Promise<void> {
    const record = await this.ctx.store.getTerminal(m.terminal);
    const code = (m.body?.authCode as string | undefined) ?? '';
    this.terminal = m.terminal;
    if (!record || record.authCode !== code) {
      this.ctx.metrics.errors.inc({ code: ErrorCode.AUTH_FAILED });
      this.edition = m.version;
      this.generalReply(m.serial, m.msgId, FAILURE);
      this.refusePreAuth();
      return;
    }
    this.edition = record.editionOverride ?? (m.version === 2019 ? 2019 : record.edition === 2011 ? 2011 : m.version);
    this.decoder.options = {
      ...this.decoder.options,
      edition: record.editionOverride ?? (this.edition === 2011 ? 2011 : this.decoder.options.edition),
      checksum: record.acceptBadChecksum ? 'accept' : 'reject',
    };
    const older = this.ctx.sessions.get(m.terminal);
    if (older && older !== this) older.close('duplicate_login');
    this.state = 'online';
    this.preAuthRefused = 0;
    this.ctx.sessions.set(m.terminal, this);
    this.generalReply(m.serial, m.msgId, OK);
    this.publishStatus('online');
    await this.ctx.commands.onOnline(this);
  }

  private async logout(m: Jt808Message): Promise<void> {
    // 0x0003 is de-registration: the terminal must register again to get a new auth code.
    if (this.state === 'online') await this.ctx.store.deleteTerminal(m.terminal);
    this.generalReply(m.serial, m.msgId, OK, m.terminal);
    if (this.state === 'online') this.close('logout');
  }

  private refusePreAuth(): void {
    if (this.state === 'online') return;
    if (++this.preAuthRefused >= this.ctx.config.gateway.maxFramesBeforeAuth) this.close('not_authenticated');
  }

  private generalReply(replySerial: number, replyMsgId: number, result: number, terminal?: string): void {
    if (!this.terminal && terminal) this.terminal = terminal;
    if (!this.terminal || this.state === 'closed') return;
    if (this.replies?.terminal !== this.terminal || this.replies.edition !== this.edition) this.replies = new GeneralReplyEncoder(this.terminal, this.edition);
    this.writeFrame(this.replies.encode(this.nextSerial(), replySerial, replyMsgId, result), 0x8001);
  }

  private publishStatus(state: 'online' | 'offline', reason?: string): void {
    if (!this.terminal) return;
    this.ctx.bus.publish(topics.status(this.terminal), JSON.stringify({
      terminal: this.terminal, state, at: new Date(this.ctx.now()).toISOString(),
      transport: this.transport.kind, remote: this.transport.remote, edition: this.edition, ...(reason ? { reason } : {}),
    }), { qos: 1, retain: true });
  }

  /** A summary for the HTTP API. */
  describe(): Record<string, unknown> {
    return { terminal: this.terminal, state: this.state, edition: this.edition, transport: this.transport.kind, remote: this.transport.remote, lastSeen: new Date(this.lastSeen).toISOString() };
  }
}
