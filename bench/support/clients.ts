/**
 * A client process: opens many raw TCP connections (each a terminal that registers and
 * authenticates, or a bare connection for a baseline), then keeps them idle, pumps 0x0200
 * frames with a bounded window of unacknowledged frames, or sends them at a paced rate.
 */
import net from 'node:net';
import { Jt808StreamDecoder, type DecodeResult, type Jt808Message } from '../../src/protocol/jt808/index.js';
import { authFrame, locationFrames, registerFrame, terminalId } from './frames.js';
import { serveRequests, sleep } from './ipc.js';

export interface OpenArgs {
  host: string;
  port: number;
  /** This process's terminals are terminalId(first) … terminalId(first + count - 1). */
  first: number;
  count: number;
  /** Connections being connected or handshaken at once (keeps SYNs under the server's backlog). */
  concurrency: number;
  /** 'jt808': register (0x0100) + authenticate (0x0102); 'raw': connect and the bare server's greeting byte (baselines). */
  protocol: 'jt808' | 'raw';
}

export interface OpenResult {
  opened: number;
  failed: number;
  /** Connects or handshakes that failed and were tried again, by error. */
  retries: Record<string, number>;
  /**
   * TCP connects that took over 900 ms: a SYN dropped by a full listen queue and sent again
   * after the kernel's 1 s timeout (they slow establishment but do not fail).
   */
  slowConnects: number;
  ms: number;
}

export interface Counts {
  sent: number;
  /** 0x8001 answering a 0x0200 (gateway), or an echoed 0x0200 (echo baseline). */
  acks: number;
  /** Established connections the server closed. */
  dropped: number;
  decodeErrors: number;
  /** CPU time of this process so far, µs (user + system). */
  cpuUs: number;
}

const HANDSHAKE_TIMEOUT_MS = 20_000;
const MAX_ATTEMPTS = 6;

class Conn {
  readonly decoder = new Jt808StreamDecoder();
  /** Handshake step waiting for a reply; undefined once the session is up. */
  waiter: ((m: Jt808Message) => void) | undefined;
  inflight = 0;
  up = false;
  /** Which of `locations` goes next. */
  next = 0;
  constructor(readonly socket: net.Socket, readonly terminal: string, readonly locations: Buffer[]) {}
}

class ClientProcess {
  private conns: Conn[] = [];
  private args!: OpenArgs;
  private registers: Buffer[] = [];
  private locations: Buffer[][] = [];
  private readonly counts: Counts = { sent: 0, acks: 0, dropped: 0, decodeErrors: 0, cpuUs: 0 };
  private window = 0;
  private inflight = 0;
  private cursor = 0;
  /** Index of the next session to open. */
  private opening = 0;
  private closing = false;
  private slowConnects = 0;

  /** Encodes every frame this process will send before anything is timed. */
  prepare(args: OpenArgs): void {
    this.args = args;
    for (let i = 0; i < args.count; i++) {
      const t = terminalId(args.first + i);
      this.registers.push(registerFrame(t));
      this.locations.push(locationFrames(t, args.first + i));
    }
  }

  /** Opens the next `count` of this process's sessions (all that are left when undefined). */
  async open(count?: number): Promise<OpenResult> {
    const t0 = performance.now();
    const retries: Record<string, number> = {};
    const limit = Math.min(this.args.count, this.opening + (count ?? this.args.count));
    let failed = 0;
    this.slowConnects = 0;
    const worker = async (): Promise<void> => {
      while (this.opening < limit) {
        const i = this.opening++;
        for (let attempt = 1; ; attempt++) {
          try {
            this.conns.push(await this.connect(i));
            break;
          } catch (e) {
            const code = (e as { code?: string }).code ?? (e as Error).message;
            if (attempt === MAX_ATTEMPTS) {
              failed++;
              break;
            }
            retries[code] = (retries[code] ?? 0) + 1;
            await sleep(100 * attempt);
          }
        }
      }
    };
    const before = this.conns.length;
    await Promise.all(Array.from({ length: Math.min(this.args.concurrency, limit - this.opening) }, worker));
    return { opened: this.conns.length - before, failed, retries, slowConnects: this.slowConnects, ms: performance.now() - t0 };
  }

  private connect(i: number): Promise<Conn> {
    const { host, port, protocol, first } = this.args;
    return new Promise<Conn>((resolve, reject) => {
      const t0 = performance.now();
      const socket = net.connect({ host, port, noDelay: true });
      const conn = new Conn(socket, terminalId(first + i), this.locations[i]!);
      const onResult = (r: DecodeResult): void => this.onResult(conn, r);
      // A bare server greets with one byte once it has accepted: until then the connection
      // counts as in flight, so `concurrency` bounds the server's listen queue in both modes.
      let greeted = protocol !== 'raw';
      socket.on('data', (chunk) => {
        if (!greeted) {
          greeted = true;
          done();
          if (chunk.length === 1) return;
          chunk = chunk.subarray(1);
        }
        conn.decoder.push(chunk, onResult);
      });
      const fail = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const onClose = (): void => fail(Object.assign(new Error('closed during handshake'), { code: 'CLOSED' }));
      const timer = setTimeout(() => fail(Object.assign(new Error('handshake timed out'), { code: 'TIMEOUT' })), HANDSHAKE_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        conn.waiter = undefined;
        conn.up = true;
        socket.off('error', fail).off('close', onClose);
        socket.on('error', () => undefined); // 'close' follows and is counted there
        socket.on('close', () => this.onDropped(conn));
        resolve(conn);
      };
      socket.once('error', fail).once('close', onClose);
      socket.once('connect', () => {
        if (performance.now() - t0 > 900) this.slowConnects++;
        if (protocol === 'jt808') socket.write(this.registers[i]!);
      });
      conn.waiter = (m) => {
        const b = m.body ?? {};
        if (m.msgId === 0x8100) {
          if (b.result !== 0) return fail(new Error(`registration refused (${String(b.result)})`));
          socket.write(authFrame(conn.terminal, b.authCode as string));
        } else if (m.msgId === 0x8001 && b.replyMsgId === 0x0102) {
          if (b.result !== 0) return fail(new Error(`authentication refused (${String(b.result)})`));
          done();
        }
      };
    });
  }

  private onResult(conn: Conn, r: DecodeResult): void {
    if (!r.ok) {
      this.counts.decodeErrors++;
      return;
    }
    const m = r.message;
    if (conn.waiter) return conn.waiter(m);
    const acked = m.msgId === 0x0200 || (m.msgId === 0x8001 && m.body?.replyMsgId === 0x0200);
    if (!acked) return;
    this.counts.acks++;
    if (conn.inflight > 0) {
      conn.inflight--;
      this.inflight--;
    }
    this.refill();
  }

  private onDropped(conn: Conn): void {
    if (this.closing) return;
    conn.up = false;
    this.counts.dropped++;
    this.inflight -= conn.inflight; // never answered now: give the window back
    conn.inflight = 0;
    this.refill();
  }

  private send(): boolean {
    for (let tries = 0; tries < this.conns.length; tries++) {
      const c = this.conns[this.cursor]!;
      this.cursor = (this.cursor + 1) % this.conns.length;
      if (!c.up) continue;
      c.socket.write(c.locations[c.next]!);
      c.next = (c.next + 1) % c.locations.length;
      c.inflight++;
      this.inflight++;
      this.counts.sent++;
      return true;
    }
    return false;
  }

  /** Keeps `window` frames unacknowledged, spread round-robin over the sessions. */
  private refill(): void {
    while (this.inflight < this.window && this.send());
  }

  pump(window: number): void {
    this.window = window;
    this.refill();
  }

  stopPump(): void {
    this.window = 0;
  }

  /** Sends `ratePerSec` frames per second (round-robin over the sessions) for `durationMs`. */
  pace(ratePerSec: number, durationMs: number): Promise<Counts> {
    const start = performance.now();
    let paced = 0;
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Math.min(performance.now() - start, durationMs);
        const due = Math.floor((ratePerSec * elapsed) / 1000);
        while (paced < due && this.send()) paced++;
        if (elapsed >= durationMs) {
          clearInterval(timer);
          resolve(this.snapshot());
        }
      }, 2);
    });
  }

  snapshot(): Counts {
    const cpu = process.cpuUsage();
    return { ...this.counts, cpuUs: cpu.user + cpu.system };
  }

  close(): Counts {
    this.closing = true;
    for (const c of this.conns) c.socket.destroy();
    return this.snapshot();
  }
}

export function runClients(): void {
  const p = new ClientProcess();
  serveRequests({
    prepare: (a) => p.prepare(a as OpenArgs),
    open: (a) => p.open((a as { count?: number } | null)?.count),
    pump: (a) => p.pump((a as { window: number }).window),
    stopPump: () => p.stopPump(),
    pace: (a) => {
      const { ratePerSec, durationMs } = a as { ratePerSec: number; durationMs: number };
      return p.pace(ratePerSec, durationMs);
    },
    count: () => p.snapshot(),
    exit: () => p.close(),
  });
}
