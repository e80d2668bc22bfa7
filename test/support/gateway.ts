/**
 * Test support: a real fleetgate on ephemeral ports, and a scriptable terminal over a real TCP
 * socket that speaks JT/T 808 through our codec.
 */
import net from 'node:net';
import { startFleetgate, type Fleetgate, type StartOptions } from '../../src/app.js';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { silentLog } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import { Jt808StreamDecoder, encodeMessage, type Jt808Message } from '../../src/protocol/jt808/index.js';
import type { Edition } from '../../protocols/jt808/index.js';

export async function startTestGateway(input: ConfigInput = {}, opts: StartOptions = {}): Promise<Fleetgate> {
  const config = loadConfig({
    ...input,
    gateway: { host: '127.0.0.1', port: 0, ...input.gateway },
    mqtt: { embeddedPort: 0, clientId: `fg-test-${Math.random().toString(36).slice(2)}`, ...input.mqtt },
    http: { host: '127.0.0.1', port: 0, ...input.http },
    store: { kind: 'memory', ...input.store },
    log: { level: 'silent' },
  });
  return startFleetgate(config, silentLog(), { metrics: createMetrics(), ...opts });
}

export async function waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A terminal under the test's control. */
export class TestTerminal {
  readonly received: Jt808Message[] = [];
  closed = false;
  private serial = 0;
  private readonly decoder: Jt808StreamDecoder;
  authCode = '';
  /** Answer commands automatically with 0x0001 result 0 (or the specific reply). */
  autoReply = true;

  private constructor(
    readonly socket: net.Socket,
    readonly terminal: string,
    readonly edition: Edition,
  ) {
    this.decoder = new Jt808StreamDecoder(edition === 2019 ? {} : { edition: edition === 2011 ? 2011 : undefined });
    socket.on('data', (c) => this.decoder.push(c, (r) => {
      if (!r.ok) return;
      this.received.push(r.message);
      if (this.autoReply) this.answer(r.message);
    }));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static async connect(port: number, terminal = '013912344321', edition: Edition = 2013): Promise<TestTerminal> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new TestTerminal(socket, terminal, edition);
  }

  /** Sends a message; returns its serial. */
  send(msgId: number, body?: Record<string, unknown> | Buffer, serial?: number): number {
    const s = serial ?? this.serial++;
    for (const f of encodeMessage({ msgId, terminal: this.terminal, serial: s, version: this.edition, body }).frames) this.socket.write(f);
    return s;
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits for a downlink matching `pred` (already received or arriving). */
  async expect(pred: (m: Jt808Message) => boolean, timeoutMs = 3000, what = 'a downlink'): Promise<Jt808Message> {
    return waitFor(() => this.received.find(pred), timeoutMs, what);
  }

  async reply8001(serial: number, msgId: number, timeoutMs = 3000): Promise<Jt808Message> {
    return this.expect((m) => m.msgId === 0x8001 && m.body?.replySerial === serial && m.body?.replyMsgId === msgId, timeoutMs, `0x8001 for ${msgId.toString(16)}#${serial}`);
  }

  async register(body: Record<string, unknown> = {}): Promise<Jt808Message> {
    const s = this.send(0x0100, { province: 37, city: 100, makerId: 'FLEET', model: 'FG-1', terminalId: 'T000001', plateColor: 1, plate: '鲁A12345', ...body });
    const r = await this.expect((m) => m.msgId === 0x8100 && m.body?.replySerial === s, 3000, '0x8100');
    if (r.body?.result === 0) this.authCode = r.body.authCode as string;
    return r;
  }

  async authenticate(code = this.authCode): Promise<Jt808Message> {
    const body = this.edition === 2019 ? { authCode: code, imei: '860000000000001', softwareVersion: 'fg-test-1.0' } : { authCode: code };
    const s = this.send(0x0102, body);
    return this.reply8001(s, 0x0102);
  }

  async online(): Promise<this> {
    await this.register();
    const r = await this.authenticate();
    if (r.body?.result !== 0) throw new Error('authentication refused');
    return this;
  }

  location(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      alarm: 0, status: 3, latitude: 36.651216, longitude: 117.120128, altitude: 48, speed: 42.5, direction: 90,
      time: new Date('2026-11-29T04:00:00Z'), extras: { mileage: 1234.5, satellites: 12 }, ...extra,
    };
  }

  private answer(m: Jt808Message): void {
    if (m.msgId === 0x8001 || m.msgId === 0x8100 || m.msgId === 0x8004 || m.msgId === 0x8800 || m.msgId === 0x8003) return;
    if (m.subpackage && m.subpackage.total > 1 && m.subpackage.index < m.subpackage.total) return;
    if (m.msgId === 0x8104 || m.msgId === 0x8106) {
      this.send(0x0104, { replySerial: m.serial, params: [{ id: 0x0001, value: 30 }, { id: 0x0013, value: '10.0.0.1:8808' }] });
    } else if (m.msgId === 0x8201) {
      this.send(0x0201, { replySerial: m.serial, location: this.location() });
    } else {
      this.send(0x0001, { replySerial: m.serial, replyMsgId: m.msgId, result: 0 });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function http(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* metrics are text */
  }
  return { status: res.status, json };
}
