import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { Jt808StreamDecoder, encodeMessage, type Jt808Message } from '../src/protocol/jt808/index.js';
import { TestTerminal, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await fg?.close();
  fg = undefined;
});

/** A plain MQTT client collecting what it receives. */
async function listener(url: string, filter: string) {
  const client = await mqtt.connectAsync(url, { clientId: `listen-${Math.random().toString(36).slice(2)}` });
  const got: { topic: string; payload: Buffer; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload, retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  cleanup.push(() => client.endAsync());
  return { client, got };
}

const unique = (): string => '0139' + String(Math.floor(Math.random() * 1e8)).padStart(8, '0');

describe('MQTT on the real Mosquitto (127.0.0.1:1883)', () => {
  it('publishes locations (QoS 1), alarms, other uplinks and a retained online/offline status', async () => {
    fg = await startTestGateway({ mqtt: { url: 'mqtt://127.0.0.1:1883' } });
    const id = unique();
    const sub = await listener('mqtt://127.0.0.1:1883', `fleetgate/v1/terminals/${id}/#`);
    const t = await TestTerminal.connect(fg.ports.gateway, id);
    cleanup.push(() => t.close());
    await t.online();
    t.send(0x0200, t.location({ alarm: 1 }));
    t.send(0x0900, { passThroughType: 0x41, content: Buffer.from('hello') });
    const loc = await waitFor(() => sub.got.find((m) => m.topic.endsWith('/location')), 5000, 'location');
    const json = JSON.parse(loc.payload.toString());
    expect(json).toMatchObject({
      terminal: id, msgId: '0x0200', latitude: 36.651216, longitude: 117.120128, speed: 42.5, time: '2026-11-29T04:00:00.000Z',
      alarm: { value: 1, flags: ['emergency'] }, extras: { mileage: 1234.5, satellites: 12 },
    });
    expect(json.receivedAt).toMatch(/^\d{4}-/);
    await waitFor(() => sub.got.find((m) => m.topic.endsWith('/alarm')), 5000, 'alarm');
    const up = await waitFor(() => sub.got.find((m) => m.topic.endsWith('/up/0x0900')), 5000, 'pass-through');
    expect(JSON.parse(up.payload.toString())).toMatchObject({ passThroughType: 0x41, content: Buffer.from('hello').toString('hex') });
    // A late subscriber gets the retained status.
    const late = await listener('mqtt://127.0.0.1:1883', `fleetgate/v1/terminals/${id}/status`);
    const status = await waitFor(() => late.got[0], 5000, 'retained status');
    expect(status.retain).toBe(true);
    expect(JSON.parse(status.payload.toString())).toMatchObject({ terminal: id, state: 'online', transport: 'tcp' });
    t.close();
    await waitFor(() => late.got.find((m) => JSON.parse(m.payload.toString()).state === 'offline'), 5000, 'offline status');
  });

  it('runs commands from …/cmd/req and answers on …/cmd/res with the request id', async () => {
    fg = await startTestGateway({ mqtt: { url: 'mqtt://127.0.0.1:1883' } });
    const id = unique();
    const t = await TestTerminal.connect(fg.ports.gateway, id);
    cleanup.push(() => t.close());
    await t.online();
    const sub = await listener('mqtt://127.0.0.1:1883', `fleetgate/v1/terminals/${id}/cmd/res`);
    await sub.client.publishAsync(`fleetgate/v1/terminals/${id}/cmd/req`, JSON.stringify({ requestId: 'r-1', msgId: '0x8104' }), { qos: 1 });
    const res = await waitFor(() => sub.got.find((m) => JSON.parse(m.payload.toString()).requestId === 'r-1'), 10_000, 'cmd/res');
    expect(JSON.parse(res.payload.toString())).toMatchObject({ requestId: 'r-1', status: 'answered', msgId: '0x8104', reply: { msgId: '0x0104' } });
    await sub.client.publishAsync(`fleetgate/v1/terminals/${id}/cmd/req`, 'not json', { qos: 1 });
    const bad = await waitFor(() => sub.got.find((m) => JSON.parse(m.payload.toString()).status === 'failed'), 10_000, 'refusal');
    expect(JSON.parse(bad.payload.toString()).error.code).toBe('FG_ERR_BAD_COMMAND');
  });
});

describe('embedded broker (in-process publishing)', () => {
  it('delivers locations at QoS 1 and retained statuses to outside clients', async () => {
    fg = await startTestGateway();
    const url = `mqtt://127.0.0.1:${fg.ports.mqtt}`;
    const t = await TestTerminal.connect(fg.ports.gateway);
    cleanup.push(() => t.close());
    const sub = await listener(url, `fleetgate/v1/terminals/${t.terminal}/location`);
    await t.online();
    t.send(0x0200, t.location());
    const loc = await waitFor(() => sub.got[0], 5000, 'location from the embedded broker');
    expect(JSON.parse(loc.payload.toString())).toMatchObject({ terminal: t.terminal, msgId: '0x0200', latitude: 36.651216 });
    const late = await listener(url, `fleetgate/v1/+/+/status`);
    const statuses = await waitFor(() => (late.got.length >= 2 ? late.got : undefined), 5000, 'retained statuses');
    expect(statuses.every((m) => m.retain)).toBe(true);
    expect(statuses.map((m) => JSON.parse(m.payload.toString()).state)).toEqual(['online', 'online']); // gateway, terminal
  });
});

describe('MQTT ingress (embedded broker)', () => {
  it('serves a terminal that sends raw frames on jt808/{id}/up, replying on jt808/{id}/down', async () => {
    fg = await startTestGateway();
    const url = `mqtt://127.0.0.1:${fg.ports.mqtt}`;
    const id = '013912340000';
    const device = await mqtt.connectAsync(url, { clientId: 'device-1' });
    cleanup.push(() => device.endAsync());
    const replies: Jt808Message[] = [];
    const decoder = new Jt808StreamDecoder();
    device.on('message', (_t, payload) => decoder.push(payload, (r) => r.ok && replies.push(r.message)));
    await device.subscribeAsync(`jt808/${id}/down`, { qos: 1 });
    const up = (msgId: number, serial: number, body?: Record<string, unknown>) =>
      device.publishAsync(`jt808/${id}/up`, encodeMessage({ msgId, terminal: id, serial, body }).frames[0]!, { qos: 1 });
    await up(0x0100, 1, { province: 37, city: 100, makerId: 'M', model: 'X', terminalId: 'T1', plateColor: 1, plate: '鲁A1' });
    const reg = await waitFor(() => replies.find((m) => m.msgId === 0x8100), 5000, '0x8100 over MQTT');
    await up(0x0102, 2, { authCode: reg.body!.authCode });
    await waitFor(() => replies.find((m) => m.msgId === 0x8001 && m.body?.replySerial === 2 && m.body.result === 0), 5000, 'auth over MQTT');
    await up(0x0200, 3, { alarm: 0, status: 3, latitude: 36.6, longitude: 117, altitude: 1, speed: 0, direction: 0, time: new Date() });
    await waitFor(() => replies.find((m) => m.msgId === 0x8001 && m.body?.replySerial === 3), 5000, 'location ack over MQTT');
    expect(fg.gateway.ctx.sessions.get(id)?.transport.kind).toBe('mqtt');
  });
});
