/**
 * `kill -9` of the gateway during load, then a restart: every position that was acknowledged is
 * in the database — including those acknowledged while the database was unreachable, which
 * lived only in the fsynced spool when the process died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSql } from '../src/store/sql.js';
import { TestTerminal, waitFor } from './support/gateway.js';
import { TcpProxy, createDatabase } from './support/pg.js';

const root = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startServe(env: Record<string, string>): Promise<ChildProcess> {
  // --import tsx runs the TypeScript in this very process (the tsx CLI would fork a child, and
  // SIGKILL must hit the process that holds the sockets).
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--log-level', 'warn'], {
    cwd: root,
    env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  await waitFor(() => err.includes('fleetgate serving') || child.exitCode !== null, 60_000, 'serve to start');
  if (child.exitCode !== null) throw new Error(`serve exited: ${err}`);
  return child;
}

describe('kill -9 during load', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
  beforeAll(async () => {
    db = await createDatabase('fg_kill');
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.stop();
    await db.drop();
  });

  it('loses no acknowledged position, whether it was committed or only spooled', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fg-kill-'));
    const env = {
      DATABASE_URL: db.url.replace(':5432/', `:${proxy.port}/`),
      FLEETGATE_PORT: String(await freePort()), FLEETGATE_HTTP_PORT: String(await freePort()), FLEETGATE_MQTT_PORT: String(await freePort()),
      FLEETGATE_DATA_DIR: dataDir,
    };
    let child = await startServe(env);
    const port = Number(env.FLEETGATE_PORT);
    const acked = new Set<string>();
    let stop = false;
    const load = async (id: string): Promise<void> => {
      const t = await TestTerminal.connect(port, id);
      await t.online();
      for (let i = 0; !stop && !t.closed; i++) {
        const time = new Date(Date.UTC(2026, 10, 29, 9, 0, 0) + i * 1000);
        const s = t.send(0x0200, t.location({ time }));
        try {
          await t.reply8001(s, 0x0200, 3000);
          acked.add(`${id}@${time.toISOString()}`);
        } catch {
          /* unacknowledged: the terminal would resend it */
        }
      }
      t.close();
    };
    const loads = Array.from({ length: 8 }, (_, i) => load(`0139000003${String(i).padStart(2, '0')}`).catch(() => undefined));
    await waitFor(() => acked.size >= 200, 20_000, 'load under way');
    await proxy.cut(); // from here, acknowledged positions live only in the spool
    const atCut = acked.size;
    await waitFor(() => acked.size >= atCut + 200, 20_000, 'spooled acknowledgements');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    stop = true;
    await Promise.all(loads);

    await proxy.restore();
    child = await startServe(env); // replays the spool at start-up
    const direct = new PostgresSql(db.url);
    try {
      const stored = await waitFor(async () => {
        const rows = await direct.query<{ terminal: string; time: Date }>(`select terminal, time from positions where terminal like '0139000003%'`);
        const set = new Set(rows.map((r) => `${r.terminal}@${new Date(r.time).toISOString()}`));
        return [...acked].every((k) => set.has(k)) ? set : undefined;
      }, 30_000, 'every acknowledged position stored');
      expect(stored.size).toBeGreaterThanOrEqual(acked.size);
      const dup = await direct.query<{ n: number }>(`select count(*)::int as n from (select terminal, time, kind from positions group by 1, 2, 3 having count(*) > 1) d`);
      expect(dup[0]!.n).toBe(0);
    } finally {
      await direct.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 120_000);
});
