import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await fg?.close();
  fg = undefined;
});
async function online(id = '013912344321', edition: 2013 | 2019 = 2013): Promise<TestTerminal> {
  const t = await TestTerminal.connect(fg!.ports.gateway, id, edition);
  terminals.push(t);
  return t.online();
}
const post = (id: string, body: unknown) => http(fg!.ports.http, 'POST', `/api/terminals/${id}/commands`, body);

describe('downlink commands over HTTP', () => {
  it('sends 0x8103 and returns the terminal\'s 0x0001, matched by serial and id', async () => {
    fg = await startTestGateway();
    const t = await online();
    const r = await post(t.terminal, { msgId: '0x8103', body: { params: [{ id: 0x0001, value: 30 }, { id: 0x0029, value: 10 }] } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ terminal: t.terminal, msgId: '0x8103', status: 'answered', result: 0, attempts: 1 });
    const sent = t.received.find((m) => m.msgId === 0x8103)!;
    expect(sent.body?.params).toEqual([{ id: 1, name: 'heartbeatInterval', value: 30 }, { id: 0x29, name: 'reportIntervalDefault', value: 10 }]);
    expect(r.json.reply).toMatchObject({ msgId: '0x0001', replySerial: sent.serial, replyMsgId: 0x8103 });
  });

  it('matches a specific reply (0x8104 → 0x0104) by its reply serial, by name or number', async () => {
    fg = await startTestGateway();
    const t = await online();
    const r = await post(t.terminal, { msgId: 'queryParams' });
    expect(r.json).toMatchObject({ status: 'answered', msgId: '0x8104' });
    expect(r.json.reply.params).toEqual([{ id: 1, name: 'heartbeatInterval', value: 30 }, { id: 0x13, name: 'mainServer', value: '10.0.0.1:8808' }]);
    const loc = await post(t.terminal, { msgId: 0x8201 });
    expect(loc.json.reply).toMatchObject({ msgId: '0x0201', location: { latitude: 36.651216 } });
  });

  it('retries an unanswered command with the same serial, then reports a timeout', async () => {
    fg = await startTestGateway({ commands: { replyTimeoutMs: 200, retries: 2 } });
    const t = await online();
    t.autoReply = false;
    const r = await post(t.terminal, { msgId: '0x8105', body: { command: 4 } });
    expect(r.json).toMatchObject({ status: 'timeout', attempts: 3 });
    const copies = t.received.filter((m) => m.msgId === 0x8105);
    expect(copies).toHaveLength(3);
    expect(new Set(copies.map((m) => m.serial)).size).toBe(1);
  });

  it('answers 202 with an id to poll when the reply takes longer than the HTTP wait', async () => {
    fg = await startTestGateway({ commands: { httpWaitMs: 100, replyTimeoutMs: 5000 } });
    const t = await online();
    t.autoReply = false;
    const r = await post(t.terminal, { msgId: '0x8300', body: { flags: 8, text: '请回队' } });
    expect(r.status).toBe(202);
    expect((await http(fg.ports.http, 'GET', r.json.href)).json.status).toBe('sent');
    const sent = await t.expect((m) => m.msgId === 0x8300);
    expect(sent.body?.text).toBe('请回队');
    t.send(0x0001, { replySerial: sent.serial, replyMsgId: 0x8300, result: 0 });
    await waitFor(async () => (await http(fg!.ports.http, 'GET', r.json.href)).json.status === 'answered', 3000, 'answered');
  });

  it('queues a command for an offline terminal and delivers it after its next authentication', async () => {
    fg = await startTestGateway();
    const first = await online();
    first.close();
    await waitFor(() => !fg!.gateway.ctx.sessions.has(first.terminal), 3000, 'offline');
    const r = await post(first.terminal, { msgId: '0x8202', body: { interval: 10, validity: 600 }, wait: false });
    expect(r.status).toBe(202);
    expect((await http(fg.ports.http, 'GET', `/api/terminals/${first.terminal}`)).json).toMatchObject({ online: false, queuedCommands: 1 });
    const again = await TestTerminal.connect(fg.ports.gateway, first.terminal);
    terminals.push(again);
    await again.authenticate(first.authCode);
    const delivered = await again.expect((m) => m.msgId === 0x8202);
    expect(delivered.body).toEqual({ interval: 10, validity: 600 });
    await waitFor(async () => (await http(fg!.ports.http, 'GET', r.json.href)).json.status === 'answered', 3000, 'answered after reconnect');
  });

  it('splits a downlink larger than one packet and matches the reply to any serial of the set', async () => {
    fg = await startTestGateway();
    const t = await online();
    t.autoReply = false;
    const text = '车'.repeat(800); // 1600 bytes of GBK
    const pending = post(t.terminal, { msgId: '0x8300', body: { flags: 8, text } });
    const parts = await waitFor(() => {
      const p = t.received.filter((m) => m.msgId === 0x8300);
      return p.length === 2 ? p : undefined;
    }, 3000, 'two packets');
    expect(parts.map((p) => p.subpackage)).toEqual([{ total: 2, index: 1 }, { total: 2, index: 2 }]);
    expect(parts[1]!.serial).toBe((parts[0]!.serial + 1) & 0xffff);
    t.send(0x0001, { replySerial: parts[1]!.serial, replyMsgId: 0x8300, result: 0 });
    expect((await pending).json).toMatchObject({ status: 'answered', serials: [parts[0]!.serial, parts[1]!.serial] });
  });

  it('keeps at most the window of commands in flight per terminal', async () => {
    fg = await startTestGateway({ commands: { windowPerTerminal: 2, replyTimeoutMs: 5000, httpWaitMs: 50 } });
    const t = await online();
    t.autoReply = false;
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await post(t.terminal, { msgId: '0x8300', body: { flags: 8, text: `m${i}` } })).json.id);
    await new Promise((r) => setTimeout(r, 200));
    expect(t.received.filter((m) => m.msgId === 0x8300)).toHaveLength(2);
    const first = t.received.find((m) => m.msgId === 0x8300)!;
    t.send(0x0001, { replySerial: first.serial, replyMsgId: 0x8300, result: 0 });
    await waitFor(() => t.received.filter((m) => m.msgId === 0x8300).length === 3, 3000, 'third sent after first answered');
  });

  it('refuses bad requests with coded 4xx errors', async () => {
    fg = await startTestGateway();
    expect((await post('abc', { msgId: '0x8103' })).json.error.code).toBe('FG_ERR_BAD_TERMINAL');
    expect((await post('013912344321', {})).status).toBe(400);
    expect((await post('013912344321', { msgId: '0x0200' })).json.error.code).toBe('FG_ERR_BAD_COMMAND');
    const bad = await post('013912344321', { msgId: '0x8001', body: { replySerial: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('FG_ERR_ENCODE');
    expect((await http(fg.ports.http, 'GET', '/api/commands/nope')).status).toBe(404);
  });

  it('exports the metrics with their fixed names and no per-terminal label', async () => {
    fg = await startTestGateway();
    const t = await online();
    t.send(0x0200, t.location());
    await post(t.terminal, { msgId: '0x8104' });
    const text = (await http(fg.ports.http, 'GET', '/metrics')).json as string;
    for (const name of ['fleetgate_connections', 'fleetgate_sessions', 'fleetgate_frames_total', 'fleetgate_errors_total', 'fleetgate_ack_latency_seconds', 'fleetgate_queue_depth', 'fleetgate_reassembly_sets', 'fleetgate_commands_total', 'fleetgate_mqtt_publish_failures_total']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/fleetgate_frames_total\{msg_id="0x0200",direction="up"\} 1/);
    expect(text).not.toContain(t.terminal);
  });
});
