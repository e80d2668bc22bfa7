import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Location } from '../protocols/jt808/index.js';
import { Jt808StreamDecoder, encodeMessage, type Jt808Message } from '../src/protocol/jt808/index.js';
import { runSimulateCli } from '../src/cli/simulate.js';
import {
  LatencyHistogram, RoutePath, distanceM, loadRoutes, runSimulation,
  type SimulationOptions, type TerminalBehaviour, type VirtualTerminal,
} from '../src/simulator/index.js';

/** An uplink frame as the stand-in platform saw it. */
interface Seen {
  m: Jt808Message;
  hex: string;
}

/**
 * A stand-in for the gateway (which is being written alongside): a real TCP server built on our
 * codec that registers every terminal, authenticates it, and acks what it sends — and that a
 * test can tell to withhold acks, refuse an auth code, drop a connection or send a command.
 */
class StandInPlatform {
  readonly seen: Seen[] = [];
  private readonly sockets = new Map<string, { socket: net.Socket; version: 2011 | 2013 | 2019 }>();
  private serial = 0;
  /** Return false to withhold the 0x8001 for a location frame. */
  ackLocation: (m: Jt808Message, seenBefore: boolean) => boolean = () => true;
  /** Phones whose next 0x0102 is refused (result 1), as after a platform that lost its codes. */
  readonly refuseAuth = new Set<string>();
  private server = net.createServer((s) => this.accept(s));
  port = 0;

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const { socket } of this.sockets.values()) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.seen.length = 0;
    this.ackLocation = () => true;
    this.refuseAuth.clear();
  }

  of(phone: string, msgId?: number): Jt808Message[] {
    return this.seen.map((s) => s.m).filter((m) => m.terminal === phone && (msgId === undefined || m.msgId === msgId));
  }

  /** Sends a command to a connected terminal; returns its serial. */
  send(phone: string, msgId: number, body?: Record<string, unknown> | Buffer): number {
    const conn = this.sockets.get(phone);
    if (!conn) throw new Error(`${phone} is not connected`);
    const serial = this.serial++ & 0xffff;
    for (const f of encodeMessage({ msgId, terminal: phone, serial, version: conn.version, body }).frames) conn.socket.write(f);
    return serial;
  }

  kick(phone: string): void {
    this.sockets.get(phone)?.socket.destroy();
  }

  private accept(socket: net.Socket): void {
    const decoder = new Jt808StreamDecoder();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => decoder.push(chunk, (r) => {
      if (!r.ok) throw new Error(`stand-in platform: ${r.error.code} ${r.error.message}`);
      const m = r.message;
      const hex = encodeMessage({ msgId: m.msgId, terminal: m.terminal, serial: m.serial, version: m.version, body: m.body }).frames[0]!.toString('hex');
      const seenBefore = this.seen.some((s) => s.m.terminal === m.terminal && s.m.msgId === m.msgId && s.m.serial === m.serial);
      this.seen.push({ m, hex });
      this.sockets.set(m.terminal, { socket, version: m.version });
      this.answer(socket, m, seenBefore);
    }));
  }

  private answer(socket: net.Socket, m: Jt808Message, seenBefore: boolean): void {
    const reply = (msgId: number, body: Record<string, unknown>): void => {
      for (const f of encodeMessage({ msgId, terminal: m.terminal, serial: this.serial++ & 0xffff, version: m.version, body }).frames) socket.write(f);
    };
    const ack = (result = 0): void => reply(0x8001, { replySerial: m.serial, replyMsgId: m.msgId, result });
    switch (m.msgId) {
      case 0x0100:
        return reply(0x8100, { replySerial: m.serial, result: 0, authCode: `AUTH${m.terminal.slice(-6)}` });
      case 0x0102: {
        const refuse = this.refuseAuth.delete(m.terminal) || m.body?.authCode !== `AUTH${m.terminal.slice(-6)}`;
        return ack(refuse ? 1 : 0);
      }
      case 0x0200:
      case 0x0704:
        if (this.ackLocation(m, seenBefore)) ack();
        return;
      case 0x0002:
        return ack();
      default:
    }
  }
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 4000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** 300× time: a 30 s report interval plays every 0.1 s, a 60 s heartbeat every 0.2 s. */
const FAST: Partial<TerminalBehaviour> = {
  timeScale: 300, heartbeatS: 60, ackTimeoutMs: 150, maxResends: 3, signalLoss: null, alarmProbability: 0,
  reconnectMinMs: 30, reconnectMaxMs: 200,
};
const START = Date.UTC(2026, 10, 30, 1, 0, 0); // 09:00 in Jinan

const platform = new StandInPlatform();
beforeAll(() => platform.listen());
afterAll(() => platform.close());

/** Runs a simulation against the stand-in; `prepare` tells the platform what to do first. */
function simulate(o: Partial<SimulationOptions>, prepare?: () => void, behaviour?: Partial<TerminalBehaviour>) {
  platform.reset();
  prepare?.();
  return runSimulation({
    host: '127.0.0.1', port: platform.port, terminals: 2, intervalS: 30, seed: 7, startTime: START, drainMs: 1000,
    ...o, behaviour: { ...FAST, ...o.behaviour, ...behaviour },
  });
}

/** Runs with one terminal and hands it to `drive` once it is online. */
async function withTerminal(o: Partial<SimulationOptions>, drive: (t: VirtualTerminal) => Promise<void>) {
  const stop = new AbortController();
  let terminal: VirtualTerminal | undefined;
  const run = simulate({ terminals: 1, editions: 2013, ...o, signal: stop.signal, onStart: (ts) => (terminal = ts[0]) });
  try {
    const t = await until('the terminal to come online', () => terminal?.state === 'online' && terminal);
    await drive(t);
  } finally {
    stop.abort();
  }
  return run;
}

const timesOf = (ms: Jt808Message[]): number[] => ms.map((m) => (m.body as Location).timeSec);
/** Each frame once: a re-send (same serial, same bytes) after a slow acknowledgement is not new data. */
const firstSends = (ms: Jt808Message[]): Jt808Message[] => {
  const seen = new Set<number>();
  return ms.filter((m) => !seen.has(m.serial) && (seen.add(m.serial), true));
};
const locations = (m: Jt808Message): Location[] => m.body?.locations as Location[];

describe('routes', () => {
  const routes = loadRoutes();
  it('are 6–10 named Jinan roads of 5–20 km, 20–80 points each, with a depot near the start', () => {
    expect(routes.length).toBeGreaterThanOrEqual(6);
    expect(routes.length).toBeLessThanOrEqual(10);
    for (const r of routes) {
      const km = new RoutePath(r).lengthM / 1000;
      expect(km, r.id).toBeGreaterThan(5);
      expect(km, r.id).toBeLessThan(21);
      expect(r.points.length, r.id).toBeGreaterThanOrEqual(20);
      expect(r.points.length, r.id).toBeLessThanOrEqual(80);
      for (const [lon, lat] of r.points) expect(distanceM([117.0, 36.65], [lon, lat]), r.id).toBeLessThan(25_000);
      expect(distanceM(r.depot.point, r.points[0]!), r.id).toBeLessThan(1000);
    }
  });
  it('a vehicle moves along the polyline, turns round at the ends, and heads the way it goes', () => {
    const path = new RoutePath(routes.find((r) => r.id === 'beiyuan')!); // Beiyuan Street runs west–east
    const c = { distanceM: 1000, reverse: false };
    expect(path.advance(c, 500)).toBe(false);
    expect(c.distanceM).toBe(1500);
    expect(path.at(c).heading).toBeGreaterThan(80);
    expect(path.at(c).heading).toBeLessThan(100);
    expect(path.advance(c, path.lengthM)).toBe(true);
    expect(c).toEqual({ distanceM: path.lengthM, reverse: true });
    path.advance(c, 2000);
    expect(path.at(c).heading).toBeGreaterThan(260);
    expect(path.at(c).heading).toBeLessThan(280);
    expect(path.turnAhead({ distanceM: 0, reverse: false }, 400)).toBeGreaterThan(20); // depot → road
  });
});

describe('latency histogram', () => {
  it('gives quantiles within its 2 % buckets and the exact max', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.p50).toBeGreaterThanOrEqual(500);
    expect(s.p50).toBeLessThan(511);
    expect(s.p99).toBeGreaterThanOrEqual(990);
    expect(s.max).toBe(1000);
  });
});

describe('virtual terminals against a JT/T 808 platform over TCP', () => {
  it('register and authenticate in both editions, then report locations that are acked', async () => {
    const report = await simulate({ terminals: 2, editions: 'mix', durationS: 0.6, behaviour: { firstSerial: 0xfffe } });
    const [t13, t19] = ['014500000001', '10640000000000000002'];
    for (const [phone, version] of [[t13, 2013], [t19, 2019]] as const) {
      const all = platform.of(phone);
      expect(all.slice(0, 2).map((m) => [m.msgId, m.version, m.serial])).toEqual([[0x0100, version, 0xfffe], [0x0102, version, 0xffff]]);
      expect(all[2]?.serial).toBe(0); // serials wrap at 0xFFFF
      expect(all[0]!.body).toMatchObject({ province: 37, city: 100, plateColor: 1 });
      expect(all[1]!.body?.authCode).toBe(`AUTH${phone.slice(-6)}`);
      const locs = platform.of(phone, 0x0200).map((m) => m.body as Location);
      expect(locs.length).toBeGreaterThan(0); // a parked vehicle reports every 3 simulated minutes
      for (const l of locs) {
        expect(distanceM([117.0, 36.65], [l.longitude, l.latitude])).toBeLessThan(25_000);
        expect(l.extras).toMatchObject({ mileage: expect.any(Number), fuel: expect.any(Number), signalStrength: expect.any(Number), satellites: expect.any(Number) });
        expect(l.status.has('located')).toBe(true);
        expect(l.alarmValue).toBe(0); // alarm probability 0
      }
      expect(timesOf(platform.of(phone, 0x0200))[0]).toBe(START / 1000); // first report at the start time
    }
    expect(platform.seen.filter((s) => s.m.msgId === 0x0200).length).toBeGreaterThan(5);
    expect(platform.of(t19, 0x0102)[0]!.body).toMatchObject({ imei: '860000000000002', softwareVersion: 'FGSIM-1.0.0' });
    expect(platform.of(t19)[0]!.body?.plate).toBe('鲁AA0002');
    expect(platform.of(t13, 0x0002).length).toBeGreaterThan(0);
    expect(report).toMatchObject({ terminals: 2, online: 2, everOnline: 2, registrations: 2, authentications: 2, decodeErrors: 0 });
    expect(report.acks.acked).toBe(report.acks.sent);
    expect(report.acks.unacked).toBe(0);
    expect(report.ackLatencyMs.count).toBe(report.acks.acked);
    expect(report.framesSent['0x0200']).toBe(platform.seen.filter((s) => s.m.msgId === 0x0200).length);
  });

  it('raises the overspeed alarm exactly when the speed is over parameter 0x0055, with item 0x11', async () => {
    await simulate({ terminals: 4, durationS: 0.8 }, undefined, { alarmProbability: 0.3, maxSpeedKmh: 70 });
    const locs = platform.seen.filter((s) => s.m.msgId === 0x0200).map((s) => s.m.body as Location);
    const over = locs.filter((l) => l.alarm.has('overspeed'));
    expect(over.length).toBeGreaterThan(0);
    expect(over.length).toBeLessThan(locs.length);
    for (const l of locs) {
      expect(l.alarm.has('overspeed'), `${l.speed} km/h`).toBe(l.speed > 70);
      expect('overspeedAlarm' in (l.extras ?? {})).toBe(l.speed > 70);
    }
  });

  it('re-sends an unacknowledged location frame with the same serial and bytes', async () => {
    const report = await simulate({ terminals: 1, durationS: 0.6 }, () => {
      platform.ackLocation = (_m, seenBefore) => seenBefore; // ack only the second transmission
    }, { ackTimeoutMs: 300 });
    const frames = platform.seen.filter((s) => s.m.msgId === 0x0200);
    const bySerial = new Map<number, string[]>();
    for (const f of frames) bySerial.set(f.m.serial, [...(bySerial.get(f.m.serial) ?? []), f.hex]);
    const resent = [...bySerial.values()].filter((hexes) => hexes.length > 1);
    expect(resent.length).toBeGreaterThan(2);
    for (const hexes of resent) expect(new Set(hexes).size).toBe(1);
    expect(report.acks.resent).toBe(frames.length - bySerial.size);
    expect(report.acks.acked).toBe(report.acks.sent);
    // Measured from the re-send that was answered, not from the first write (≥ the 300 ms timeout).
    expect(report.ackLatencyMs.max).toBeLessThan(300);
  });

  it('counts add up: every location frame ends acked or unacked, re-sends on top', async () => {
    const report = await simulate({ terminals: 4, durationS: 1 }, () => {
      // Never answer every third frame of a terminal: after the re-sends it is given up.
      platform.ackLocation = (m) => m.serial % 3 !== 0;
    }, { ackTimeoutMs: 40, maxResends: 2 });
    const { sent, acked, unacked, resent } = report.acks;
    expect(unacked).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(0);
    expect(acked + unacked).toBe(sent);
    expect((report.framesSent['0x0200'] ?? 0) + (report.framesSent['0x0704'] ?? 0)).toBe(sent + resent);
    expect(resent).toBeGreaterThanOrEqual(unacked * 2);
    expect(report.locations.sent).toBeGreaterThanOrEqual(sent);
  });

  it('during a signal loss keeps positions and uploads them afterwards as 0x0704 blind-area batches', async () => {
    const phone = '014500000001';
    const report = await withTerminal({ behaviour: { batchSize: 4 } }, async (t) => {
      await until('three reports', () => platform.of(phone, 0x0200).length >= 3);
      t.loseSignal(300); // 5 simulated minutes: 1 s here
      await until('the batches', () => platform.of(phone, 0x0704).length >= 2 && platform.of(phone, 0x0200).length > 0 && t.queued === 0);
      await until('a report after the outage', () => timesOf(platform.of(phone, 0x0200)).some((x) => x > Math.max(...platform.of(phone, 0x0704).flatMap((m) => locations(m).map((l) => l.timeSec)))));
    });
    const batches = firstSends(platform.of(phone, 0x0704));
    const batched = batches.flatMap((m) => locations(m).map((l) => l.timeSec));
    for (const b of batches) {
      expect(b.body).toMatchObject({ batchType: 1, count: locations(b).length });
      expect(locations(b).length).toBeLessThanOrEqual(4);
    }
    expect(batched.length).toBe(report.locations.queued);
    const reported = timesOf(firstSends(platform.of(phone, 0x0200)));
    const [first, last] = [Math.min(...batched), Math.max(...batched)];
    // The batches fill the gap in the 0x0200 reports exactly: nothing lost, nothing twice.
    expect(reported.filter((x) => x >= first && x <= last)).toEqual([]);
    expect(new Set([...reported, ...batched]).size).toBe(reported.length + batched.length);
    expect(batched).toEqual([...batched].sort((a, b) => a - b));
    // Seen in order: the backlog before any newer report.
    const order = platform.seen.filter((s) => s.m.terminal === phone && (s.m.msgId === 0x0200 || s.m.msgId === 0x0704));
    const firstBatch = order.findIndex((s) => s.m.msgId === 0x0704);
    expect(order.slice(0, firstBatch).every((s) => (s.m.body as Location).timeSec < first)).toBe(true);
    expect(report.signalLosses).toBe(1);
    expect(report.acks.acked).toBe(report.acks.sent);
  });

  it('answers 0x8201 with a 0x0201 that carries the query serial, and other commands like a device', async () => {
    const phone = '10640000000000000001';
    const serials: Record<string, number> = {};
    const report = await withTerminal({ editions: 2019 }, async () => {
      serials.query = platform.send(phone, 0x8201);
      serials.params = platform.send(phone, 0x8106, { paramIds: [0x0001, 0x0029, 0x0083, 0xf123] });
      serials.attributes = platform.send(phone, 0x8107);
      serials.text = platform.send(phone, 0x8300, { flags: 1, textType: 1, text: '请返回车队' });
      serials.unknown = platform.send(phone, 0x8f00, Buffer.from('00', 'hex')); // an id no edition declares
      await until('the answers', () => platform.of(phone, 0x0001).length >= 2 && platform.of(phone, 0x0107).length > 0);
    });
    const query = platform.of(phone, 0x0201)[0]!;
    expect(query.body?.replySerial).toBe(serials.query);
    const where = query.body?.location as Location;
    expect(distanceM([117.0, 36.65], [where.longitude, where.latitude])).toBeLessThan(25_000);
    const params = platform.of(phone, 0x0104)[0]!.body!;
    expect(params.replySerial).toBe(serials.params);
    expect((params.params as { id: number; value: unknown }[]).map((p) => [p.id, p.value])).toEqual([[0x0001, 60], [0x0029, 30], [0x0083, '鲁AA0001']]);
    expect(platform.of(phone, 0x0107)[0]!.body).toMatchObject({ makerId: 'FGSIM', gnssModule: 3 });
    const general = platform.of(phone, 0x0001).map((m) => m.body);
    expect(general).toContainEqual({ replySerial: serials.text, replyMsgId: 0x8300, result: 0 });
    expect(general).toContainEqual({ replySerial: serials.unknown, replyMsgId: 0x8f00, result: 3 });
    expect(report.commandsAnswered).toEqual({ '0x8106': 1, '0x8107': 1, '0x8201': 1, '0x8300': 1, '0x8f00': 1 });
  });

  it('0x8103 setting 0x0029 changes the report interval', async () => {
    const phone = '014500000001';
    let setSerial = -1;
    await withTerminal({}, async () => {
      await until('three reports', () => platform.of(phone, 0x0200).length >= 3);
      setSerial = platform.send(phone, 0x8103, { params: [{ id: 0x0029, value: 60 }] });
      await until('the answer', () => platform.of(phone, 0x0001).length > 0);
      const after = platform.of(phone, 0x0200).length;
      await until('five more reports', () => platform.of(phone, 0x0200).length >= after + 5);
      platform.send(phone, 0x8104);
      await until('the parameters', () => platform.of(phone, 0x0104).length > 0);
    });
    expect(platform.of(phone, 0x0001)[0]!.body).toEqual({ replySerial: setSerial, replyMsgId: 0x8103, result: 0 });
    // Each report with the platform's answer already seen or not, in the order they arrived.
    const answeredAt = platform.seen.findIndex((s) => s.m.msgId === 0x0001);
    const reports = platform.seen.flatMap((s, i) => (s.m.msgId === 0x0200 ? [{ loc: s.m.body as Location, after: i > answeredAt }] : []));
    // The interval after a report with ACC on, to a report before / after the change.
    const gapsTo = (after: boolean): Set<number> => new Set(reports.slice(1)
      .map((next, i) => ({ prev: reports[i]!, next }))
      .filter(({ prev, next }) => next.after === after && prev.loc.status.has('acc'))
      .map(({ prev, next }) => next.loc.timeSec - prev.loc.timeSec));
    expect(gapsTo(false)).toEqual(new Set([30]));
    expect(gapsTo(true)).toEqual(new Set([60])); // counted from the last report before the change
    const params = platform.of(phone, 0x0104)[0]!.body!.params as { id: number; value: unknown }[];
    expect(params.find((p) => p.id === 0x0029)?.value).toBe(60);
  });

  it('reconnects after a dropped connection with its auth code, and re-registers only when it is refused', async () => {
    const phone = '014500000001';
    const report = await withTerminal({}, async (t) => {
      platform.kick(phone);
      await until('the second login', () => platform.of(phone, 0x0102).length === 2 && t.state === 'online');
      platform.refuseAuth.add(phone);
      platform.kick(phone);
      await until('the third login', () => platform.of(phone, 0x0102).length === 4 && t.state === 'online');
    });
    const logins = platform.of(phone).filter((m) => m.msgId === 0x0100 || m.msgId === 0x0102).map((m) => m.msgId);
    expect(logins).toEqual([0x0100, 0x0102, 0x0102, 0x0102, 0x0100, 0x0102]);
    expect(report).toMatchObject({ reconnects: 2, authRefused: 1, registrations: 2, authentications: 3, everOnline: 1 });
  });

  it('sends the same frames for the same seed, and others for another seed', async () => {
    const firstReports = async (seed: number): Promise<string[]> => {
      const frames: string[] = [];
      await simulate({ terminals: 4, seed, durationS: 0.5, onFrame: (phone, msgId, serial, frame, resend) => {
        if (!resend) frames.push(`${phone} ${msgId.toString(16)} ${serial} ${frame.toString('hex')}`);
      } });
      const perPhone = new Map<string, string[]>();
      for (const f of frames) perPhone.set(f.slice(0, f.indexOf(' ')), [...(perPhone.get(f.slice(0, f.indexOf(' '))) ?? []), f]);
      return [...perPhone.keys()].sort().flatMap((p) => perPhone.get(p)!.slice(0, 6));
    };
    const a = await firstReports(11);
    const b = await firstReports(11);
    const c = await firstReports(12);
    expect(a.length).toBe(24);
    expect(b).toEqual(a);
    expect(c.filter((f) => f.includes(' 200 '))).not.toEqual(a.filter((f) => f.includes(' 200 ')));
  });
});

describe('fleetgate simulate', () => {
  it('runs the simulation and prints the report as JSON on stdout', async () => {
    platform.reset();
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (d) => chunks.push(String(d)));
    const code = await runSimulateCli(['--port', String(platform.port), '--terminals', '3', '--duration', '0.5', '--time-scale', '300', '--seed', '5', '--edition', '2019', '--no-signal-loss'], { stdout: out, stderr: err });
    expect(code).toBe(0);
    const report = JSON.parse(chunks.join(''));
    expect(report).toMatchObject({ terminals: 3, everOnline: 3, registrations: 3 });
    expect(report.framesSent['0x0200']).toBeGreaterThan(0);
    expect(platform.seen.every((s) => s.m.version === 2019)).toBe(true);
  });
  it('rejects bad options with status 1', async () => {
    const err = new PassThrough();
    const errs: string[] = [];
    err.on('data', (d) => errs.push(String(d)));
    expect(await runSimulateCli(['--edition', '2011', '--duration', '1'], { stdout: new PassThrough(), stderr: err })).toBe(1);
    expect(errs.join('')).toContain('--edition');
    expect(await runSimulateCli(['--terminals', 'many'], { stdout: new PassThrough(), stderr: err })).toBe(1);
  });
});
