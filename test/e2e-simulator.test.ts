/**
 * End to end: the simulator's virtual terminals (both editions, signal loss with 0x0704 batches)
 * against the real gateway over real sockets, with the MQTT feed on the embedded broker.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { runSimulation, type VirtualTerminal } from '../src/simulator/index.js';
import { http, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
afterEach(async () => {
  await fg?.close();
  fg = undefined;
});

describe('simulator → gateway', () => {
  it('20 terminals register, authenticate, report (live and blind-area batches), answer commands; every location acknowledged and published', async () => {
    fg = await startTestGateway();
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${fg.ports.mqtt}`, { clientId: 'e2e-listener' });
    let published = 0;
    let batched = 0;
    sub.on('message', (_t, payload) => {
      published++;
      if (JSON.parse(payload.toString()).batch) batched++;
    });
    await sub.subscribeAsync('fleetgate/v1/terminals/+/location', { qos: 1 });

    let terminals: readonly VirtualTerminal[] = [];
    const run = runSimulation({
      host: '127.0.0.1', port: fg.ports.gateway, terminals: 20, intervalS: 5, durationS: 6, editions: 'mix', seed: 7,
      behaviour: { timeScale: 60, signalLoss: { meanEveryS: 120, meanDurationS: 60 } },
      drainMs: 8000, // wait out a loaded machine: an ack still in flight at the end is not a lost one
      onStart: (t) => (terminals = t),
    });
    // While it runs: a command from the HTTP API to one of the simulated terminals.
    const online = await waitFor(() => fg!.gateway.online()[0], 5000, 'a terminal online');
    const cmd = await http(fg.ports.http, 'POST', `/api/terminals/${online.terminal}/commands`, { msgId: '0x8201' });
    expect(cmd.json).toMatchObject({ status: 'answered', reply: { msgId: '0x0201' } });

    const report = await run;
    expect(terminals).toHaveLength(20);
    expect(report.everOnline).toBe(20);
    expect(report.registrations).toBe(20);
    expect(report.authRefused).toBe(0);
    expect(report.decodeErrors).toBe(0);
    expect(report.acks.sent).toBeGreaterThan(100);
    expect(report.acks.unacked).toBe(0);
    expect(report.acks.acked).toBe(report.acks.sent);
    expect(report.framesSent['0x0704'] ?? 0).toBeGreaterThan(0);
    expect(report.commandsAnswered['0x8201']).toBe(1);
    // Every position sent (live and from batches) reached the MQTT feed.
    await waitFor(() => published >= report.locations.sent, 5000, `published ${published} of ${report.locations.sent}`);
    expect(batched).toBeGreaterThan(0);
    await sub.endAsync();
  }, 30_000);
});
