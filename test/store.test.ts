import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Fleetgate } from '../src/app.js';
import { migrate, MIGRATIONS } from '../src/store/migrations.js';
import { PgliteSql, PostgresSql } from '../src/store/sql.js';
import { TestTerminal, startTestGateway, waitFor } from './support/gateway.js';
import { TcpProxy, createDatabase } from './support/pg.js';

let fg: Fleetgate | undefined;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await fg?.close();
  fg = undefined;
});

describe('migrations', () => {
  it('apply from empty and are a no-op when re-run, on PostgreSQL (native partitions) and PGlite', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    for (const sql of [new PostgresSql(db.url), await PgliteSql.open('memory://')]) {
      const first = await migrate(sql);
      expect(first.applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(first.timescale).toBe(false);
      expect((await migrate(sql)).applied).toEqual([]);
      const tables = (await sql.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = 'public'`)).map((r) => r.t);
      expect(tables).toEqual(expect.arrayContaining(['terminals', 'vehicles', 'positions_default', 'last_positions', 'events', 'command_queue', 'command_log', 'raw_frames_default']));
      // Today's and the next days' partitions exist ahead of the data.
      const parts = await sql.query<{ n: number }>(`select count(*)::int as n from pg_class where relname ~ '^positions_[0-9]{8}$'`);
      expect(parts[0]!.n).toBeGreaterThanOrEqual(9);
      await sql.close();
    }
  }, 60_000);

  it('two processes migrating at once do not collide (advisory lock)', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    const a = new PostgresSql(db.url);
    const b = new PostgresSql(db.url);
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    expect(ra.applied.length + rb.applied.length).toBe(MIGRATIONS.length);
    await a.close();
    await b.close();
  });
});

describe('partitions and retention (native path)', () => {
  it('creates daily partitions ahead, keeps far-off device clocks in the default partition, drops old days', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    const sql = new PostgresSql(db.url);
    cleanup.push(() => sql.close());
    await migrate(sql);
    await sql.exec(`create table positions_20200101 partition of positions for values from ('2020-01-01') to ('2020-01-02')`);
    await sql.query(`insert into positions (terminal, time, kind, received_at, latitude, longitude, alarm, status)
      values ('013900000001', '2020-01-01T08:00:00Z', 0, now(), 36.6, 117.0, 0, 0), ('013900000001', '2099-01-01T00:00:00Z', 0, now(), 36.6, 117.0, 0, 0),
             ('013900000001', now(), 0, now(), 36.6, 117.0, 0, 0)`);
    const where = await sql.query<{ p: string }>(`select tableoid::regclass::text as p from positions order by time`);
    expect(where.map((r) => r.p)).toEqual(['positions_20200101', expect.stringMatching(/^positions_\d{8}$/), 'positions_default']);
    expect((await sql.query<{ n: number }>('select fleetgate_drop_partitions(400) as n'))[0]!.n).toBe(1);
    expect((await sql.query<{ n: number }>('select count(*)::int as n from positions'))[0]!.n).toBe(2);
    expect((await sql.query<{ n: number }>('select fleetgate_ensure_partitions(0, 10) as n'))[0]!.n).toBeGreaterThanOrEqual(1);
  });
});

describe('positions through the gateway', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  beforeAll(async () => {
    db = await createDatabase();
  });
  afterAll(async () => db.drop());

  async function gatewayOn(url: string, extra: Record<string, unknown> = {}): Promise<Fleetgate> {
    const dataDir = mkdtempSync(join(tmpdir(), 'fg-data-'));
    return startTestGateway({ store: { kind: 'database', databaseUrl: url, dataDir, batchMaxMs: 20, probeEveryMs: 200, ...extra } });
  }

  it('acknowledges a location only after its row is committed', async () => {
    fg = await gatewayOn(db.url);
    const t = await TestTerminal.connect(fg.ports.gateway, '013900000101');
    cleanup.push(() => t.close());
    await t.online();
    // Hold the table: the insert waits, so the acknowledgement must wait too.
    const blocker = new PostgresSql(db.url);
    const release = blocker.tx(async (q) => {
      await q.query('lock table positions in exclusive mode');
      await new Promise((r) => setTimeout(r, 600));
    });
    await new Promise((r) => setTimeout(r, 100));
    const s = t.send(0x0200, t.location({ time: new Date('2026-11-29T05:00:00Z') }));
    await new Promise((r) => setTimeout(r, 300));
    expect(t.received.some((m) => m.msgId === 0x8001 && m.body?.replySerial === s)).toBe(false);
    await release;
    await blocker.close();
    await t.reply8001(s, 0x0200);
    const rows = await fg.storage!.sql.query<{ n: number }>(`select count(*)::int as n from positions where terminal = '013900000101'`);
    expect(rows[0]!.n).toBe(1);
    const last = await fg.storage!.sql.query<{ latitude: number }>(`select latitude from last_positions where terminal = '013900000101'`);
    expect(last[0]!.latitude).toBeCloseTo(36.651216, 6);
  });

  it('removes duplicates: a resent location is acknowledged again but stored once, on the same connection and after a reconnect', async () => {
    fg = await gatewayOn(db.url);
    const t = await TestTerminal.connect(fg.ports.gateway, '013900000102');
    cleanup.push(() => t.close());
    await t.online();
    const body = t.location({ time: new Date('2026-11-29T06:00:00Z') });
    const a = t.send(0x0200, body, 900);
    await t.reply8001(a, 0x0200);
    t.received.length = 0;
    // Same connection: the gateway remembers the frame and answers without writing it again.
    t.send(0x0200, body, 900);
    await t.reply8001(900, 0x0200);
    expect(fg.storage!.writer.counts.duplicates).toBe(0);
    // New connection (the ack was lost with the old one): the database's unique key drops it.
    t.close();
    const t2 = await TestTerminal.connect(fg.ports.gateway, '013900000102');
    cleanup.push(() => t2.close());
    t2.authCode = t.authCode;
    expect((await t2.authenticate()).body?.result).toBe(0);
    t2.send(0x0200, body, 900);
    await t2.reply8001(900, 0x0200);
    const rows = await fg.storage!.sql.query<{ n: number }>(`select count(*)::int as n from positions where terminal = '013900000102'`);
    expect(rows[0]!.n).toBe(1);
    expect(fg.storage!.writer.counts.duplicates).toBe(1);
  });

  it('works the same on the embedded PGlite', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fg-pglite-'));
    fg = await startTestGateway({ store: { kind: 'database', dataDir, batchMaxMs: 20 } });
    const t = await TestTerminal.connect(fg.ports.gateway, '013900000103');
    cleanup.push(() => t.close());
    await t.online();
    const locations = Array.from({ length: 5 }, (_, i) => t.location({ time: new Date(Date.UTC(2026, 10, 29, 7, 0, i)) }));
    const s = t.send(0x0704, { batchType: 1, locations });
    await t.reply8001(s, 0x0704);
    const rows = await fg.storage!.sql.query<{ n: number; k: number }>(`select count(*)::int as n, min(kind)::int as k from positions where terminal = '013900000103'`);
    expect(rows[0]).toEqual({ n: 5, k: 2 });
  }, 60_000);

  it('rides out a database outage on the spool: nothing acknowledged is lost, nothing duplicated', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.start();
    cleanup.push(() => proxy.stop());
    fg = await gatewayOn(db.url.replace(':5432/', `:${port}/`));
    const terminals = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
      const t = await TestTerminal.connect(fg!.ports.gateway, `0139000002${String(i).padStart(2, '0')}`);
      cleanup.push(() => t.close());
      return t.online();
    }));
    const acked = new Set<string>();
    let seq = 0;
    const sendRound = async (): Promise<void> => {
      await Promise.all(terminals.map(async (t) => {
        const time = new Date(Date.UTC(2026, 10, 29, 8, 0, 0) + seq * 1000);
        const s = t.send(0x0200, t.location({ time }));
        try {
          await t.reply8001(s, 0x0200, 5000);
          acked.add(`${t.terminal}@${time.toISOString()}`);
        } catch {
          /* not acknowledged: the terminal keeps it */
        }
      }));
      seq++;
    };
    for (let i = 0; i < 10; i++) await sendRound();
    await proxy.cut();
    for (let i = 0; i < 20; i++) await sendRound(); // the database is unreachable: spooled, still acknowledged
    await waitFor(() => fg!.storage!.writer.counts.spooled > 0, 5000, 'spooling');
    expect(fg.storage!.writer.inOutage).toBe(true);
    await proxy.restore();
    for (let i = 0; i < 10; i++) await sendRound();
    await waitFor(() => !fg!.storage!.writer.inOutage, 10_000, 'spool replayed');
    await new Promise((r) => setTimeout(r, 200));
    const direct = new PostgresSql(db.url);
    const rows = await direct.query<{ terminal: string; time: Date }>(`select terminal, time from positions where terminal like '0139000002%'`);
    const dup = await direct.query<{ n: number }>(`select count(*)::int as n from (select terminal, time from positions where terminal like '0139000002%' group by 1, 2 having count(*) > 1) d`);
    await direct.close();
    const stored = new Set(rows.map((r) => `${r.terminal}@${new Date(r.time).toISOString()}`));
    expect(acked.size).toBe(5 * 40);
    expect([...acked].filter((k) => !stored.has(k))).toEqual([]);
    expect(dup[0]!.n).toBe(0);
    expect(fg.storage!.writer.counts.replayed).toBeGreaterThan(0);
  }, 60_000);
});

describe('insertPositions', () => {
  it('stores every column exactly through COPY (PostgreSQL) and unnest (PGlite): escapes, nulls, extras', async () => {
    const { insertPositions } = await import('../src/store/insert.js');
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    const rows = [
      { terminal: '013900000777', time: Date.UTC(2026, 10, 29, 1, 2, 3), kind: 0, receivedAt: Date.UTC(2026, 10, 29, 1, 2, 4, 567), latitude: 36.651216, longitude: 117.120128,
        altitude: -12, speed: 42.5, direction: 359, alarm: 4_294_967_295, status: 3, mileage: 1234.5, fuel: null, extras: JSON.stringify({ note: 'tab\there\nline \\ back', '0xE1': 'ab' }) },
      { terminal: '013900000777', time: Date.UTC(2026, 10, 29, 1, 2, 13), kind: 2, receivedAt: Date.UTC(2026, 10, 29, 1, 5), latitude: -0.000001, longitude: 0,
        altitude: 0, speed: 0, direction: 0, alarm: 0, status: 0, mileage: null, fuel: 12.25, extras: null },
    ];
    for (const sql of [new PostgresSql(db.url), await PgliteSql.open('memory://')]) {
      await migrate(sql);
      expect(await insertPositions(sql, rows)).toBe(2);
      expect(await insertPositions(sql, rows)).toBe(0); // the duplicate key holds
      const back = await sql.query<Record<string, unknown>>(
        `select terminal, (extract(epoch from time) * 1000)::float8 as time, kind, (extract(epoch from received_at) * 1000)::float8 as "receivedAt",
                latitude, longitude, altitude, speed, direction, alarm::float8 as alarm, status::float8 as status, mileage, fuel, extras::text as extras
         from positions order by time`);
      expect(back.map((r) => ({ ...r, time: Number(r.time), receivedAt: Number(r.receivedAt), extras: r.extras === null ? null : JSON.parse(r.extras as string) })))
        .toEqual(rows.map((r) => ({ ...r, extras: r.extras === null ? null : JSON.parse(r.extras) })));
      await sql.close();
    }
  }, 60_000);
});

describe('command log and queue in the database', () => {
  it('keeps the offline queue and logs every command with its outcome', async () => {
    const db = await createDatabase();
    cleanup.push(() => db.drop());
    const dataDir = mkdtempSync(join(tmpdir(), 'fg-cmd-'));
    fg = await startTestGateway({ store: { kind: 'database', databaseUrl: db.url, dataDir } });
    const t = await TestTerminal.connect(fg.ports.gateway, '013900000401');
    cleanup.push(() => t.close());
    await t.online();
    const { done } = await fg.gateway.commands.submit({ terminal: t.terminal, msgId: '0x8104' });
    await done;
    t.close();
    await waitFor(() => !fg!.gateway.ctx.sessions.has(t.terminal), 3000, 'offline');
    await fg.gateway.commands.submit({ terminal: t.terminal, msgId: '0x8300', body: { flags: 8, text: 'x' } });
    const sql = fg.storage!.sql;
    const queued = await sql.query<{ n: number }>(`select count(*)::int as n from command_queue where terminal = $1`, [t.terminal]);
    expect(queued[0]!.n).toBe(1);
    const log = await waitFor(async () => {
      const rows = await sql.query<{ msg_id: number; status: string; reply: { msgId: string } | null }>(`select msg_id, status, reply from command_log where terminal = $1 order by created_at`, [t.terminal]);
      return rows.length === 2 && rows[0]!.status === 'answered' ? rows : undefined;
    }, 3000, 'command log');
    expect(log.map((r) => [r.msg_id, r.status])).toEqual([[0x8104, 'answered'], [0x8300, 'queued']]);
    expect(log[0]!.reply?.msgId).toBe('0x0104');
  }, 30_000);
});
