import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Aedes } from 'aedes';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createBus, gatewayStatusTopic, MqttBus, startEmbeddedBroker, topicMatches, type EmbeddedBroker, type MqttBusOptions } from '../src/bus/index.js';
import { loadConfig } from '../src/config.js';
import { silentLog } from '../src/log.js';
import { createMetrics, type Metrics } from '../src/metrics.js';

// Mosquitto (persistence on) is shared with other runs: every topic and client id carries this run's id.
const MOSQUITTO = 'mqtt://127.0.0.1:1883';
const run = randomUUID().slice(0, 8);
const prefix = `fgtest/${run}`;
const log = silentLog();
const T = { test: 10_000, wait: 5000, hook: 10_000 } as const;

let seq = 0;
const clientId = (role: string): string => `fgt-${run}-${role}-${++seq}`;
const closeBuses: (() => Promise<unknown>)[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
const retainedToClear: string[] = [];

afterEach(async () => {
  // Buses first, while their brokers still answer (else close() waits out its timeout); then the rest, newest first.
  for (const c of [...closeBuses.splice(0), ...cleanups.splice(0).reverse()]) await c();
}, T.hook);

afterAll(async () => {
  // Mosquitto persists retained messages: leave none of ours behind.
  if (retainedToClear.length === 0) return;
  const c = await plainClient(MOSQUITTO);
  for (const topic of retainedToClear) await c.publishAsync(topic, '', { qos: 1, retain: true });
  await c.endAsync();
}, T.hook);

function newBus(url: string, opts: Partial<MqttBusOptions> = {}, metrics: Metrics = createMetrics()): MqttBus {
  const id = opts.clientId ?? clientId('bus');
  if (url === MOSQUITTO) retainedToClear.push(gatewayStatusTopic(id));
  const bus = new MqttBus({ url, clientId: id, maxBufferedMessages: 1000, reconnectPeriodMs: 200, ...opts }, log, metrics);
  closeBuses.push(() => bus.close());
  return bus;
}

async function plainClient(url: string): Promise<MqttClient> {
  const c = await connectAsync(url, { clientId: clientId('plain'), reconnectPeriod: 0, connectTimeout: T.wait });
  cleanups.push(() => c.endAsync(true));
  return c;
}

async function broker(port = 0): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker({ port }, log);
  cleanups.push(() => b.close());
  return b;
}

interface Received { topic: string; payload: Buffer; retain: boolean }

function collect(c: MqttClient): Received[] {
  const got: Received[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload, retain: packet.retain }));
  return got;
}

/** Subscribes inside the broker: in place before any client can reconnect and publish. */
function collectInBroker(aedes: Aedes, filter: string): string[] {
  const got: string[] = [];
  aedes.subscribe(filter, (packet, done) => {
    got.push(String(packet.payload));
    done();
  }, () => undefined);
  return got;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = T.wait): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

async function failures(metrics: Metrics, reason: string): Promise<number> {
  return (await metrics.mqttPublishFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('topicMatches (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['a/+/c', 'a/b/c', true], ['a/+/c', 'a/b/d', false], ['a/+', 'a/b/c', false],
    ['a/#', 'a', true], ['a/#', 'a/b/c', true], ['#', 'a/b', true], ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false], ['a/b', 'a/b', true], ['a/b', 'a/b/c', false], ['$share/g/a/+', 'a/b', true],
  ])('%s vs %s → %s', (filter, topic, expected) => expect(topicMatches(filter, topic)).toBe(expected));
});

describe('MqttBus against the real Mosquitto', () => {
  it('delivers a QoS 1 publish byte for byte to another client', async () => {
    const sub = await plainClient(MOSQUITTO);
    const got = collect(sub);
    await sub.subscribeAsync(`${prefix}/rt`, { qos: 1 });
    const bus = newBus(MOSQUITTO);
    expect(await bus.whenConnected(T.wait)).toBe(true);

    const payload = Buffer.from('7e0200ff7d017e00', 'hex');
    bus.publish(`${prefix}/rt`, payload, { qos: 1 });
    await waitFor('the publish', () => got.length === 1);
    await bus.flush(T.wait);
    expect(got[0]!.topic).toBe(`${prefix}/rt`);
    expect(got[0]!.payload.equals(payload)).toBe(true);
    expect(bus.stats).toEqual({ connected: true, buffered: 0, dropped: 0, failures: 0 });
  }, T.test);

  it('keeps a retained online status for late subscribers, and offline after close', async () => {
    const id = clientId('status');
    const bus = newBus(MOSQUITTO, { clientId: id });
    expect(await bus.whenConnected(T.wait)).toBe(true);
    await bus.flush(T.wait);

    const late = await plainClient(MOSQUITTO);
    const got = collect(late);
    await late.subscribeAsync(gatewayStatusTopic(id), { qos: 1 });
    await waitFor('the retained status', () => got.length === 1);
    expect(got[0]).toMatchObject({ payload: Buffer.from('online'), retain: true });

    await bus.close();
    const later = await plainClient(MOSQUITTO);
    const gotLater = collect(later);
    await later.subscribeAsync(gatewayStatusTopic(id), { qos: 1 });
    await waitFor('the retained offline status', () => gotLater.length === 1);
    expect(gotLater[0]).toMatchObject({ payload: Buffer.from('offline'), retain: true });
  }, T.test);

  it('routes subscribed messages by wildcard filter to their handlers', async () => {
    const bus = newBus(MOSQUITTO);
    const cmd: string[] = [];
    const up: string[] = [];
    await bus.subscribe(`${prefix}/terminals/+/cmd/req`, (topic) => cmd.push(topic));
    await bus.subscribe(`${prefix}/up/#`, (topic, payload) => up.push(`${topic.slice(prefix.length + 1)}=${payload.toString()}`));

    const pub = await plainClient(MOSQUITTO);
    await pub.publishAsync(`${prefix}/terminals/013912344321/cmd/req`, 'a', { qos: 1 });
    await pub.publishAsync(`${prefix}/terminals/013912344321/cmd/res`, 'b', { qos: 1 });
    await pub.publishAsync(`${prefix}/up/0x0200/x`, 'c', { qos: 1 });
    await pub.publishAsync(`${prefix}/up`, 'd', { qos: 1 });
    await pub.publishAsync(`${prefix}/up/end`, 'e', { qos: 1 });
    // One publisher's QoS 1 messages arrive in order, so "end" means all the others were routed.
    await waitFor('the last message', () => up.includes('up/end=e'));
    expect(cmd).toEqual([`${prefix}/terminals/013912344321/cmd/req`]);
    expect(up).toEqual(['up/0x0200/x=c', 'up=d', 'up/end=e']);
  }, T.test);
});

describe('MqttBus against the embedded broker', () => {
  it('round-trips a publish to another client', async () => {
    const b = await broker();
    const url = `mqtt://127.0.0.1:${b.port}`;
    const sub = await plainClient(url);
    const got = collect(sub);
    await sub.subscribeAsync(`${prefix}/rt`, { qos: 1 });
    const bus = newBus(url);
    bus.publish(`${prefix}/rt`, 'hello', { qos: 1 }); // before the connection exists: buffered, then sent
    await waitFor('the publish', () => got.length === 1);
    expect(got[0]!.payload.toString()).toBe('hello');
  }, T.test);

  it('buffers through a broker outage and delivers everything in order after reconnect', async () => {
    const first = await broker();
    const port = first.port;
    const bus = newBus(`mqtt://127.0.0.1:${port}`);
    expect(await bus.whenConnected(T.wait)).toBe(true);
    await first.close();
    await waitFor('the bus to notice the outage', () => !bus.stats.connected);

    const N = 200;
    // All QoS 1: brokers keep order only within one QoS level (aedes sends QoS 0 ahead of QoS 1).
    for (let i = 0; i < N; i++) bus.publish(`${prefix}/outage`, `m${i}`, { qos: 1 });
    expect(bus.stats).toMatchObject({ connected: false, buffered: N, dropped: 0 });

    const second = await broker(port);
    const got = collectInBroker(second.aedes, `${prefix}/outage`);
    await waitFor('all buffered publishes', () => got.length === N);
    expect(got).toEqual(range(0, N));
    await bus.flush(T.wait);
    expect(bus.stats).toEqual({ connected: true, buffered: 0, dropped: 0, failures: 0 });
  }, T.test);

  it('loses nothing that was in flight when the broker went away', async () => {
    const first = await broker();
    const port = first.port;
    const before = collectInBroker(first.aedes, `${prefix}/inflight`);
    const bus = newBus(`mqtt://127.0.0.1:${port}`, { maxInflight: 20 });
    expect(await bus.whenConnected(T.wait)).toBe(true);

    const N = 300;
    for (let i = 0; i < N; i++) bus.publish(`${prefix}/inflight`, `m${i}`, { qos: 1 });
    expect(bus.stats.buffered).toBe(N - 20 + 1); // the window holds 20, the "online" status took one slot
    await first.close(); // with most unacknowledged

    const second = await broker(port);
    const after = collectInBroker(second.aedes, `${prefix}/inflight`);
    // PUBACK can precede delivery to subscribers, so wait for the messages, not just the acks.
    await waitFor('every message', () => new Set([...before, ...after]).size === N);
    await bus.flush(T.wait);
    expect(bus.stats).toMatchObject({ connected: true, buffered: 0, dropped: 0 });
    // QoS 1 is at-least-once: a message the first broker took but never acknowledged comes again.
    expect(new Set([...before, ...after])).toEqual(new Set(range(0, N)));
    const afterIds = after.map((m) => Number(m.slice(1)));
    expect(afterIds).toEqual([...afterIds].sort((a, b) => a - b));
  }, T.test);

  it('holds at most maxBufferedMessages, dropping and counting the oldest', async () => {
    const first = await broker();
    const port = first.port;
    const metrics = createMetrics();
    const bus = newBus(`mqtt://127.0.0.1:${port}`, { maxBufferedMessages: 10 }, metrics);
    expect(await bus.whenConnected(T.wait)).toBe(true);
    await first.close();
    await waitFor('the bus to notice the outage', () => !bus.stats.connected);

    for (let i = 0; i < 25; i++) bus.publish(`${prefix}/bound`, `m${i}`, { qos: 0 });
    expect(bus.stats).toMatchObject({ buffered: 10, dropped: 15 });
    expect(await failures(metrics, 'buffer_full')).toBe(15);
    expect((await metrics.mqttBuffered.get()).values[0]?.value).toBe(10);

    const second = await broker(port);
    const got = collectInBroker(second.aedes, `${prefix}/bound`);
    await waitFor('the 10 newest', () => got.length >= 10);
    await bus.flush(T.wait);
    expect(got).toEqual(range(15, 25));
    expect((await metrics.mqttBuffered.get()).values[0]?.value).toBe(0);
  }, T.test);

  it('has its Last Will published when the connection dies, reconnects and re-subscribes', async () => {
    const b = await broker();
    const id = clientId('will');
    const statuses = collectInBroker(b.aedes, gatewayStatusTopic(id));
    const connection = new Promise<net.Socket>((resolve) => b.aedes.on('clientReady', (c) => c.id === id && resolve(c.conn as net.Socket)));
    const bus = newBus(`mqtt://127.0.0.1:${b.port}`, { clientId: id });
    const cmds: string[] = [];
    await bus.subscribe(`${prefix}/cmd/+`, (_t, payload) => cmds.push(payload.toString()));

    (await connection).destroy(); // no DISCONNECT: the broker must publish the will
    await waitFor('offline, then online again', () => statuses.join() === 'online,offline,online');

    // The re-subscription travels separately from the online status: probe until it is in place.
    const pub = await plainClient(`mqtt://127.0.0.1:${b.port}`);
    const deadline = Date.now() + T.wait;
    while (!cmds.includes('probe') && Date.now() < deadline) {
      await pub.publishAsync(`${prefix}/cmd/x`, 'probe', { qos: 1 });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(cmds).toContain('probe');
  }, T.test);

  it('never blocks or throws without a broker, and close() still returns', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((r) => free.close(r)); // a port with nobody listening: connections are refused
    const metrics = createMetrics();
    const bus = newBus(`mqtt://127.0.0.1:${port}`, { maxBufferedMessages: 5 }, metrics);
    for (let i = 0; i < 8; i++) bus.publish(`${prefix}/void`, `m${i}`, { qos: 1 });
    bus.publish(`${prefix}/bad/#`, 'x', { qos: 0 });
    expect(bus.stats).toEqual({ connected: false, buffered: 5, dropped: 3, failures: 1 });
    await bus.flush(50); // resolves on its timeout
    await bus.close();
    expect(bus.stats.failures).toBe(6); // the invalid topic and the 5 still buffered
    expect(await failures(metrics, 'closed')).toBe(5);
  }, T.test);

  it('refuses a port that is already bound with FG_ERR_MQTT_PORT_IN_USE', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => holder.close(r)));
    const port = (holder.address() as net.AddressInfo).port;

    await expect(startEmbeddedBroker({ port, host: '127.0.0.1' }, log)).rejects.toMatchObject({
      code: 'FG_ERR_MQTT_PORT_IN_USE',
      message: `MQTT port ${port} is in use: set MQTT_URL to use that broker, or FLEETGATE_MQTT_PORT to choose another port`,
    });
    const cfg = loadConfig({ mqtt: { embeddedPort: port } }).mqtt;
    await expect(createBus(cfg, log, createMetrics())).rejects.toMatchObject({ code: 'FG_ERR_MQTT_PORT_IN_USE' });
  }, T.test);
});

describe('createBus', () => {
  it('starts the embedded broker when no URL is configured and talks through it', async () => {
    const cfg = loadConfig({ mqtt: { embeddedPort: 0, clientId: clientId('create') } }).mqtt;
    const { bus, broker: b } = await createBus(cfg, log, createMetrics());
    closeBuses.push(() => bus.close());
    cleanups.push(async () => b?.close());
    expect(b?.port).toBeGreaterThan(0);
    expect(bus.stats.connected).toBe(true);
    const got: string[] = [];
    await bus.subscribe(`${prefix}/self/+`, (_t, p) => got.push(p.toString()));
    bus.publish(`${prefix}/self/a`, 'loop', { qos: 1 });
    await waitFor('the loopback message', () => got.length === 1);
    expect(got).toEqual(['loop']);
  }, T.test);

  it('connects to MQTT_URL without starting a broker', async () => {
    const id = clientId('create');
    retainedToClear.push(gatewayStatusTopic(id));
    const cfg = loadConfig({ mqtt: { url: MOSQUITTO, clientId: id } }).mqtt;
    const { bus, broker: b } = await createBus(cfg, log, createMetrics());
    closeBuses.push(() => bus.close());
    expect(b).toBeUndefined();
    expect(bus.stats.connected).toBe(true);
  }, T.test);
});
