import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { FileTerminalStore } from '../src/store/file.js';
import { TestTerminal, http, startTestGateway, waitFor } from './support/gateway.js';

let fg: Fleetgate | undefined;
afterEach(async () => {
  await fg?.close();
  fg = undefined;
});

describe('FileTerminalStore', () => {
  it('keeps registrations and queued commands across a restart, and compacts its logs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-store-'));
    fg = await startTestGateway({}, { store: await FileTerminalStore.open(dir) });
    const t = await TestTerminal.connect(fg.ports.gateway);
    await t.online();
    t.close();
    await waitFor(() => !fg!.gateway.ctx.sessions.has(t.terminal), 3000, 'offline');
    const queued = await http(fg.ports.http, 'POST', `/api/terminals/${t.terminal}/commands`, { msgId: '0x8300', body: { flags: 8, text: '明早八点出车' }, wait: false });
    expect(queued.status).toBe(202);
    await fg.close();

    // A new process: the terminal authenticates with its old code and gets the queued command.
    fg = await startTestGateway({}, { store: await FileTerminalStore.open(dir) });
    const again = await TestTerminal.connect(fg.ports.gateway, t.terminal);
    expect((await again.authenticate(t.authCode)).body?.result).toBe(0);
    const cmd = await again.expect((m) => m.msgId === 0x8300);
    expect(cmd.body?.text).toBe('明早八点出车');
    again.close();
    await fg.close();
    fg = undefined;

    // Compaction leaves one line per live record; the delivered command is gone.
    await FileTerminalStore.open(dir);
    expect(readFileSync(join(dir, 'terminals.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(dir, 'commands.jsonl'), 'utf8').trim()).toBe('');
  });

  it('skips a line torn by a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-store-'));
    const s = await FileTerminalStore.open(dir);
    await s.saveTerminal({ terminal: '013900000001', authCode: 'abc', edition: 2013, registeredAt: new Date().toISOString() });
    const { appendFileSync } = await import('node:fs');
    appendFileSync(join(dir, 'terminals.jsonl'), '{"op":"put","record":{"termi');
    const re = await FileTerminalStore.open(dir);
    expect((await re.getTerminal('013900000001'))?.authCode).toBe('abc');
  });
});
