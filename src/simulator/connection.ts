import net from 'node:net';
import { Jt808StreamDecoder, encodeMessage, type DecodeResult, type Jt808Message } from '../protocol/jt808/index.js';
import type { TerminalEnv } from './behaviour.js';
import { authBody, registrationBody, type TerminalIdentity } from './identity.js';
import { InFlightList, type InFlight } from './inflight.js';
import { Random } from './random.js';
import type { GateWaiter, Wakeable } from './scheduler.js';
import { TerminalSettings } from './settings.js';

export type TerminalState = 'idle' | 'waiting' | 'connecting' | 'registering' | 'authenticating' | 'online' | 'backoff' | 'stopped';

/**
 * The session half of a virtual terminal: the TCP connection, registration (0x0100) unless an
 * auth code is held, authentication (0x0102), serial numbers, frames awaiting their answer
 * and their re-sends, and reconnecting with back-off. What the terminal does once online is
 * the subclass's (VirtualTerminal). It owns no timer: the run's scheduler wakes it.
 */
export abstract class TerminalConnection implements Wakeable, GateWaiter {
  state: TerminalState = 'idle';
  readonly settings: TerminalSettings;
  protected readonly inflight = new InFlightList();
  private socket: net.Socket | undefined;
  private serial: number;
  private authCode: string | undefined;
  /** Connect timeout or reconnect time, monotonic ms. */
  private deadline = Infinity;
  private failures = 0;
  private connections = 0;
  private holdsSlot = false;
  private wasOnline = false;

  constructor(
    readonly identity: TerminalIdentity,
    protected readonly env: TerminalEnv,
  ) {
    this.settings = new TerminalSettings(env.behaviour);
    this.serial = env.behaviour.firstSerial & 0xffff;
  }

  get phone(): string {
    return this.identity.phone;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Radio down (outage): nothing goes out, nothing comes in. */
  protected abstract get radioDown(): boolean;
  /** Authenticated: start or resume the work. */
  protected abstract onOnline(now: number): void;
  /** A platform command (anything but 0x8001/0x8100). */
  protected abstract onCommand(m: Jt808Message): void;
  /** The platform answered a location frame. */
  protected abstract onLocationAnswered(f: InFlight, result: number, now: number): void;
  /** Plays whatever is due by now (reports, heartbeats …), online or not. */
  protected abstract runDue(now: number): void;
  /** Monotonic ms of the subclass's next due event, or Infinity. */
  protected abstract nextDue(): number;

  start(): void {
    if (this.state !== 'idle') return;
    this.waitForSlot();
  }

  /** Ends the terminal: the connection closes and frames still unanswered count as unacked. */
  stop(): void {
    if (this.state === 'stopped') return;
    this.leave(); // a terminal still waiting at the gate declines its slot when it comes
    this.state = 'stopped';
    this.env.scheduler.cancel(this);
  }

  private waitForSlot(): void {
    this.state = 'waiting';
    if (this.env.gate) this.env.gate.acquire(this);
    else this.connectNow();
  }

  connectNow(): boolean {
    if (this.state === 'stopped') return false;
    this.holdsSlot = this.env.gate !== undefined;
    if (this.connections++ > 0) this.env.stats.reconnects++;
    this.state = 'connecting';
    this.deadline = this.env.scheduler.now() + this.env.behaviour.connectTimeoutMs;
    const socket = net.connect({ host: this.env.host, port: this.env.port });
    const decoder = new Jt808StreamDecoder();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => this.onConnected(socket));
    socket.on('data', (chunk: Buffer) => decoder.push(chunk, this.onResult));
    socket.on('error', () => undefined); // 'close' follows and handles it
    socket.on('close', () => this.onClosed(socket));
    this.reschedule();
    return true;
  }

  private onConnected(socket: net.Socket): void {
    if (socket !== this.socket || this.state !== 'connecting') return;
    this.deadline = Infinity;
    if (this.authCode === undefined) this.register();
    else this.authenticate();
    this.reschedule();
  }

  private register(): void {
    this.state = 'registering';
    this.send(0x0100, registrationBody(this.identity), true);
  }

  private authenticate(): void {
    this.state = 'authenticating';
    this.send(0x0102, authBody(this.identity, this.authCode ?? ''), true);
  }

  private readonly onResult = (r: DecodeResult): void => {
    if (!r.ok) {
      this.env.stats.decodeErrors++;
      return;
    }
    // Without signal nothing arrives either: the platform's frames are lost, as on the road.
    if (this.radioDown || this.state === 'stopped') return;
    const m = r.message;
    const body = m.body ?? {};
    const now = this.env.scheduler.now();
    if (m.msgId === 0x8001) {
      const f = this.inflight.take(Number(body.replyMsgId), Number(body.replySerial));
      if (f?.msgId === 0x0102) this.onAuthAnswered(Number(body.result));
      else if (f && f.positions > 0) this.onLocationAnswered(f, Number(body.result), now);
    } else if (m.msgId === 0x8100) {
      if (this.inflight.take(0x0100, Number(body.replySerial))) {
        this.onRegistered(Number(body.result), typeof body.authCode === 'string' ? body.authCode : '');
      }
    } else this.onCommand(m);
    this.reschedule();
  };

  private onRegistered(result: number, authCode: string): void {
    if (result !== 0) {
      this.env.stats.registrationsRefused++;
      this.socket?.destroy(); // try again later, on a new connection
      return;
    }
    this.env.stats.registrations++;
    this.authCode = authCode;
    this.authenticate();
  }

  private onAuthAnswered(result: number): void {
    if (result !== 0) {
      // The platform no longer knows this code: register again for a new one.
      this.env.stats.authRefused++;
      this.authCode = undefined;
      this.register();
      return;
    }
    const stats = this.env.stats;
    this.state = 'online';
    this.failures = 0;
    this.releaseSlot();
    stats.authentications++;
    stats.online++;
    if (!this.wasOnline) {
      this.wasOnline = true;
      stats.everOnline++;
    }
    this.onOnline(this.env.scheduler.now());
  }

  wake(now: number): void {
    if (this.state === 'stopped') return;
    if (now >= this.deadline) {
      this.deadline = Infinity;
      if (this.state === 'backoff') this.waitForSlot();
      else if (this.state === 'connecting') this.socket?.destroy(); // counted as a failure on close
    }
    if (this.socket && !this.radioDown) this.expireInFlight(now);
    this.runDue(now);
    this.reschedule();
  }

  protected reschedule(): void {
    if (this.state === 'stopped') return;
    let at = Math.min(this.deadline, this.nextDue());
    if (this.socket && !this.radioDown) at = Math.min(at, this.inflight.nextDeadline());
    if (at < Infinity) this.env.scheduler.schedule(this, at);
  }

  /**
   * Encodes and writes one message with the next serial (wrapping at 0xFFFF). Tracked frames
   * wait for their answer and are re-sent without it. Returns false, sending nothing, when there
   * is no connection or the body would need more than one frame.
   */
  protected send(msgId: number, body: object | undefined, tracked: boolean, positions = 0, emergency = false): boolean {
    const socket = this.socket;
    if (!socket || socket.destroyed || this.radioDown) return false;
    // Write backpressure: a congested link keeps positions (blind area) rather than piling them in memory.
    if (positions > 0 && socket.writableNeedDrain) return false;
    // Bodies are shaped by their declarations (LocationInput, …); the encoder checks every field.
    const fields = body as Record<string, unknown> | undefined;
    const { frames } = encodeMessage({ msgId, terminal: this.identity.phone, serial: this.serial, version: this.identity.edition, body: fields });
    if (frames.length !== 1) return false;
    const frame = frames[0]!;
    const serial = this.serial;
    this.serial = (this.serial + 1) & 0xffff;
    socket.write(frame);
    const stats = this.env.stats;
    stats.countFrame(msgId);
    this.env.onFrame?.(this.identity.phone, msgId, serial, frame, false);
    if (!tracked) return true;
    if (positions > 0) {
      stats.locationFramesSent++;
      stats.locationsSent += positions;
    }
    if (this.inflight.size >= this.env.behaviour.maxInFlight) this.giveUp(this.inflight.shift()!);
    this.inflight.add(msgId, serial, frame, this.env.scheduler.now(), this.settings.ackTimeoutMs, positions, emergency);
    return true;
  }

  private expireInFlight(now: number): void {
    this.inflight.expire(now, this.settings.maxResends, (f) => {
      this.socket?.write(f.frame);
      this.env.stats.countFrame(f.msgId);
      if (f.positions > 0) this.env.stats.resent++;
      this.env.onFrame?.(this.identity.phone, f.msgId, f.serial, f.frame, true);
    }, (f) => this.giveUp(f));
  }

  private giveUp(f: InFlight): void {
    if (f.positions > 0) this.env.stats.unacked++;
    // No answer to registration or authentication after every re-send: start over on a new connection.
    else if (f.msgId === 0x0100 || f.msgId === 0x0102) this.socket?.destroy();
  }

  private onClosed(socket: net.Socket): void {
    if (socket !== this.socket || this.state === 'stopped') return;
    if (this.state === 'connecting') this.env.stats.connectFailures++;
    this.leave();
    const b = this.env.behaviour;
    // Exponential back-off with jitter from (seed, terminal, attempt): no draw from the track's stream.
    const jitter = 0.5 + Random.derive(this.env.seed + this.failures, this.identity.number).next() / 2;
    const delay = Math.min(b.reconnectMaxMs, b.reconnectMinMs * 2 ** this.failures++) * jitter;
    this.state = 'backoff';
    this.deadline = this.env.scheduler.now() + delay;
    this.reschedule();
  }

  /** Leaves the connection: counts what was lost, frees the slot, destroys the socket. */
  private leave(): void {
    if (this.state === 'online') this.env.stats.online--;
    this.releaseSlot();
    for (const f of this.inflight.drain()) if (f.positions > 0) this.env.stats.unacked++;
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.deadline = Infinity;
  }

  private releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.env.gate?.release();
  }
}
