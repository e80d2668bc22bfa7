/**
 * The rule engine's own guarantees, with small rules defined here: device-time order per
 * vehicle, duplicates skipped, late data (blind-area, out of order) in a late lane marked late,
 * thresholds changed at run time, checkpoints with replay from the real store after a "crash",
 * and a vehicle that moved to another process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleEngine, type CheckpointStore } from '../src/rules/engine.js';
import { closeEvent, instantEvent, openEvent, pointOf } from '../src/rules/event.js';
import type { RuleInput } from '../src/rules/fix.js';
import { SqlCheckpointStore, SqlVehicleDirectory } from '../src/rules/sql.js';
import { ThresholdTable } from '../src/rules/thresholds.js';
import type { Rule, RuleEvent } from '../src/rules/types.js';
import { migrate } from '../src/store/migrations.js';
import { PgliteSql, PostgresSql, type Sql } from '../src/store/sql.js';
import { createDatabase } from './support/pg.js';
import { T0, TERMINAL, drive } from './support/rules.js';

/** Fast while speed > the vehicle's overspeed limit; no duration, no hysteresis. */
const fastRule: Rule<{ open: RuleEvent | null; max: number }> = {
  name: 'fast',
  init: () => ({ open: null, max: 0 }),
  onFix(s, f, t, out) {
    if (f.speedKmh > t.overspeed.limitKmh) {
      s.max = Math.max(s.max, f.speedKmh);
      if (!s.open) {
        s.open = openEvent(f.terminal, 'fast', 'test.fast', 1, pointOf(f), f.late, { limitKmh: t.overspeed.limitKmh });
        out.emit(s.open);
      }
    } else if (s.open) {
      out.emit(closeEvent(s.open, pointOf(f), { maxSpeedKmh: s.max }));
      s.open = null;
      s.max = 0;
    }
  },
};

/** Remembers the device times it saw, in order. */
const seenRule: Rule<{ times: number[]; late: boolean[] }> = {
  name: 'seen',
  init: () => ({ times: [], late: [] }),
  onFix(s, f) {
    s.times.push(f.timeMs);
    s.late.push(f.late);
  },
};

/** Raises an instant event when the vehicle has been silent for more than 10 s (wall clock). */
const silenceRule: Rule<{ raised: number }> = {
  name: 'silence',
  init: () => ({ raised: 0 }),
  onFix() {},
  onTick(s, now, last, _t, out) {
    if (last && now - last.receivedMs > 10_000 && s.raised !== last.timeMs) {
      s.raised = last.timeMs;
      out.emit(instantEvent(last.terminal, 'silence', 'test.silence', 1, pointOf(last), false));
    }
  },
};

const at = (s: number): number => T0 + s * 1000;
const speeds = (list: number[], startS = 0, terminal = TERMINAL): RuleInput[] =>
  list.map((speed, i) => ({ ...drive([{ seconds: 0, speedKmh: speed }], [117, 36.65], at(startS + i), terminal)[0]!, speed }));

function engine(o: { now?: () => number; checkpoints?: CheckpointStore; thresholds?: ThresholdTable; rules?: Rule[] } = {}) {
  const events: { e: RuleEvent; replayed: boolean }[] = [];
  const e = new RuleEngine({
    rules: (o.rules ?? [fastRule, seenRule, silenceRule]) as Rule[], thresholds: o.thresholds ?? new ThresholdTable(),
    onEvent: (ev, replayed) => events.push({ e: structuredClone(ev), replayed }),
    ...(o.now ? { now: o.now } : {}), ...(o.checkpoints ? { checkpoints: o.checkpoints } : {}),
    lateLaneIdleMs: 30_000, ownershipCheckAfterMs: 20_000, checkpointEveryMs: 1000,
  });
  return { e, events };
}

async function waitUntil(ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const seenOf = (e: RuleEngine): { times: number[]; late: boolean[] } =>
  (e as unknown as { vehicles: Map<string, { live: { states: unknown[] } }> }).vehicles.get(TERMINAL)!.live.states[1] as { times: number[]; late: boolean[] };

describe('rule engine: order and late data', () => {
  it('evaluates each vehicle in device-time order and skips a resent position', () => {
    const { e } = engine();
    const ps = speeds([50, 60, 70]);
    e.submit([ps[0]!, ps[1]!]);
    e.submit([ps[1]!, ps[2]!]); // ps[1] again: a resend
    expect(seenOf(e).times).toEqual([at(0), at(1), at(2)]);
    expect(e.stats).toMatchObject({ positions: 3, skipped: 1, late: 0 });
  });

  it('opens and closes an event across submits, with one id', () => {
    const { e, events } = engine();
    const ps = speeds([100, 130, 140, 125, 100]);
    for (const p of ps) e.submit([p]);
    expect(events.map((x) => [x.e.phase, x.e.start.timeMs, x.e.end?.timeMs ?? null])).toEqual([['start', at(1), null], ['end', at(1), at(4)]]);
    expect(events[0]!.e.id).toBe(events[1]!.e.id);
    expect(events[1]!.e.data).toEqual({ limitKmh: 120, maxSpeedKmh: 140 });
    expect(e.openEvents()).toEqual([]);
  });

  it('marks blind-area positions late but keeps them in the live lane when they are in order', () => {
    const { e, events } = engine();
    const ps = speeds([130, 130, 90]).map((p) => ({ ...p, kind: 2 }));
    e.submit(ps);
    expect(seenOf(e)).toEqual({ times: [at(0), at(1), at(2)], late: [true, true, true] });
    expect(events.map((x) => [x.e.phase, x.e.late])).toEqual([['start', true], ['end', true]]);
  });

  it('marks a live position received long after its time late (lateAfterS)', () => {
    const { e, events } = engine();
    const [p] = speeds([130]);
    e.submit([{ ...p!, receivedAt: p!.time + 301_000 }]);
    expect(events[0]!.e.late).toBe(true);
  });

  it('sends positions older than the watermark through a late lane, sorted, with late events, and leaves the live lane alone', () => {
    let now = at(100);
    const { e, events } = engine({ now: () => now, rules: [fastRule, seenRule] });
    e.submit(speeds([80, 80, 80], 60)); // live at 60–62 s
    // A blind-area batch from 10–14 s arrives afterwards, newest first.
    const batch = speeds([90, 130, 135, 100, 130], 10).reverse();
    e.submit(batch);
    expect(seenOf(e).times).toEqual([at(60), at(61), at(62)]);
    const late = events.filter((x) => x.e.late);
    expect(late.map((x) => [x.e.phase, x.e.start.timeMs, x.e.end?.timeMs ?? null])).toEqual([
      ['start', at(11), null], ['end', at(11), at(13)], ['start', at(14), null],
    ]);
    // Older than the late lane's own progress: skipped, not evaluated out of order.
    e.submit(speeds([130], 12));
    expect(e.stats.skipped).toBe(1);
    // The late lane goes quiet: what it holds open is closed at its last position, truncated.
    expect(e.openEvents().map((x) => x.start.timeMs)).toEqual([at(14)]);
    now += 31_000;
    return e.sweep().then(() => {
      const last = events[events.length - 1]!.e;
      expect(last).toMatchObject({ phase: 'end', late: true, start: { timeMs: at(14) }, end: { timeMs: at(14) }, data: { truncated: true } });
      expect(e.openEvents()).toEqual([]);
      // Live data goes on in the live lane, not late.
      e.submit(speeds([130], 63));
      expect(events[events.length - 1]!.e).toMatchObject({ phase: 'start', late: false, start: { timeMs: at(63) } });
    });
  });

  it('takes threshold changes at run time, for the vehicle, its group or its organisation', () => {
    const thresholds = new ThresholdTable();
    const { e, events } = engine({ thresholds });
    e.submit(speeds([100], 0));
    expect(events).toEqual([]);
    thresholds.set('vehicle', TERMINAL, { overspeed: { limitKmh: 90 } });
    e.submit(speeds([100], 1));
    expect(events.map((x) => [x.e.phase, x.e.data.limitKmh])).toEqual([['start', 90]]);
    thresholds.delete('vehicle', TERMINAL);
    e.submit(speeds([100], 2)); // back under the default 120
    expect(events.map((x) => x.e.phase)).toEqual(['start', 'end']);
  });

  it('runs timers from the sweep with the last fix, once per silence', async () => {
    let now = at(0);
    const { e, events } = engine({ now: () => now });
    e.submit(speeds([50], 0).map((p) => ({ ...p, receivedAt: now })));
    now += 5000;
    await e.sweep();
    expect(events).toEqual([]);
    now += 6000;
    await e.sweep();
    await e.sweep();
    expect(events.map((x) => x.e.kind)).toEqual(['test.silence']);
  });

  it('refuses two rules with one name', () => {
    expect(() => engine({ rules: [fastRule, fastRule] })).toThrow(/unique/);
  });
});

describe.each(['postgres', 'pglite'] as const)('rule engine: checkpoints on %s', (kind) => {
  let sql: Sql;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (kind === 'postgres') {
      const db = await createDatabase('fg_rules');
      drop = db.drop;
      sql = new PostgresSql(db.url);
    } else {
      sql = await PgliteSql.open('memory://');
    }
    await migrate(sql);
  }, 60_000);
  afterAll(async () => {
    await sql.close();
    await drop?.();
  });

  async function storePositions(ps: RuleInput[]): Promise<void> {
    for (const p of ps) {
      await sql.query(
        `insert into positions (terminal, time, kind, received_at, latitude, longitude, speed, direction, alarm, status)
         values ($1, to_timestamp($2 / 1000.0), 0, to_timestamp($3 / 1000.0), $4, $5, $6, $7, $8, $9)`,
        [p.terminal, p.time, p.receivedAt, p.latitude, p.longitude, p.speed, p.direction, p.alarm, p.status],
      );
    }
  }

  it('resumes after a crash: the checkpoint, then the stored positions after it, then the new ones — one start, one end', async () => {
    const terminal = `0139${kind === 'postgres' ? 1 : 2}0000001`;
    const ps = speeds([100, 130, 140, 135, 150, 145, 90, 80], 0, terminal);
    await storePositions(ps.slice(0, 7)); // the store has 0–6; 7 arrives after the restart
    const store = new SqlCheckpointStore(sql);
    const a = engine({ checkpoints: store });
    a.e.submit(ps.slice(0, 4));
    await a.e.idle();
    await a.e.checkpoint(); // watermark 3 s
    a.e.submit(ps.slice(4, 6)); // evaluated, never checkpointed: the process dies here
    await a.e.idle();
    expect(a.events.map((x) => x.e.phase)).toEqual(['start']);

    const b = engine({ checkpoints: store });
    b.e.submit([ps[7]!]);
    await b.e.idle();
    // Replayed 4, 5 (no change: still fast) and 6 (under the limit: the end), then 7.
    expect(b.e.stats).toMatchObject({ replayed: 3, positions: 4 });
    expect(b.events.map((x) => [x.e.phase, x.replayed, x.e.end?.timeMs ?? null])).toEqual([['end', true, at(6)]]);
    expect(b.events[0]!.e.id).toBe(a.events[0]!.e.id);
    // The max includes what only the dead process and the replay saw.
    expect(b.events[0]!.e.data).toMatchObject({ maxSpeedKmh: 150 });
    await b.e.checkpoint();
    const stored = await store.load(terminal);
    expect(stored!.watermark).toBe(at(7));
    expect(stored!.state.live.open).toEqual([]);
  });

  it('resolves thresholds through the vehicle record: organisation, then group, then the vehicle', async () => {
    const thresholds = new ThresholdTable();
    thresholds.set('organisation', '济南市公安局', { overspeed: { limitKmh: 80 } });
    thresholds.set('group', 'patrol', { overspeed: { limitKmh: 70 } });
    const fleet = [`0139${kind === 'postgres' ? 7 : 8}0000001`, `0139${kind === 'postgres' ? 7 : 8}0000002`, `0139${kind === 'postgres' ? 7 : 8}0000003`];
    for (const [i, t] of fleet.entries()) {
      await sql.query(`insert into terminals (terminal, auth_code, edition) values ($1, 'x', 2013)`, [t]);
      await sql.query(`insert into vehicles (plate, organisation, vehicle_group, terminal) values ($1, $2, $3, $4)`,
        [`鲁A9${i}00${kind === 'postgres' ? 1 : 2}`, i === 2 ? null : '济南市公安局', i === 1 ? 'patrol' : null, t]);
    }
    thresholds.set('vehicle', fleet[2]!, { overspeed: { limitKmh: 60 } });
    const events: RuleEvent[] = [];
    const e = new RuleEngine({ rules: [fastRule], thresholds, vehicles: new SqlVehicleDirectory(sql), onEvent: (ev) => events.push(ev) });
    e.submit(fleet.map((t) => speeds([100], 0, t)[0]!));
    await e.idle();
    expect(Object.fromEntries(events.map((ev) => [ev.terminal, ev.data.limitKmh]))).toEqual({ [fleet[0]!]: 80, [fleet[1]!]: 70, [fleet[2]!]: 60 });
  });

  it('resumes vehicles last seen with ACC on at start-up, timing their silence from the restart', async () => {
    const driving = `0139${kind === 'postgres' ? 9 : 0}1000001`, parked = `0139${kind === 'postgres' ? 9 : 0}1000002`;
    let now = at(0);
    const store = new SqlCheckpointStore(sql);
    const a = engine({ checkpoints: store, now: () => now });
    a.e.submit([
      ...speeds([50], 0, driving).map((p) => ({ ...p, receivedAt: now })),
      ...speeds([0], 0, parked).map((p) => ({ ...p, receivedAt: now, status: 2 })), // ACC off
    ]);
    await a.e.idle();
    await a.e.checkpoint();
    now += 600_000; // the process was down for 10 minutes
    const b = engine({ checkpoints: store, now: () => now });
    const resumed = await store.accOnWithin(3600_000);
    expect(resumed).toContain(driving);
    expect(resumed).not.toContain(parked);
    b.e.resume([driving]); // (the other tests' vehicles in this database are left out)
    await b.e.idle();
    now += 5000;
    await b.e.sweep();
    expect(b.events).toEqual([]); // 5 s after the restart: the downtime does not count
    now += 6000;
    await b.e.sweep();
    expect(b.events.map((x) => [x.e.kind, x.e.terminal])).toEqual([['test.silence', driving]]);
  });

  it('spreads a sweep\'s checkpoint over checkpointSpreadMs in the background, and writes the rest at once on close', async () => {
    const store = new SqlCheckpointStore(sql);
    const saves: { at: number; n: number }[] = [];
    const timed: CheckpointStore = {
      load: (t) => store.load(t), positionsBetween: (...a) => store.positionsBetween(...a), watermarks: (t) => store.watermarks(t),
      save: async (items) => {
        saves.push({ at: performance.now(), n: items.length });
        await store.save(items);
      },
    };
    let now = at(0);
    const e = new RuleEngine({
      rules: [fastRule, seenRule] as Rule[], thresholds: new ThresholdTable(), onEvent: () => undefined, checkpoints: timed,
      now: () => now, checkpointEveryMs: 1000, checkpointSpreadMs: 400,
    });
    const prefix = kind === 'postgres' ? '0141' : '0142';
    const rows = Array.from({ length: 3000 }, (_, i) => speeds([50], 0, `${prefix}${String(i).padStart(8, '0')}`)[0]!);
    e.submit(rows);
    await e.idle();
    now += 1000;
    const t0 = performance.now();
    await e.sweep(); // starts the checkpoint and returns: the sweep (timers) is not held up
    expect(performance.now() - t0).toBeLessThan(150);
    await waitUntil(() => saves.length === 3, 10_000);
    expect(saves.map((x) => x.n)).toEqual([1000, 1000, 1000]);
    // 400 ms over 3 slices: about 133 ms between statements.
    expect(saves[1]!.at - saves[0]!.at).toBeGreaterThanOrEqual(120);
    expect(saves[2]!.at - saves[1]!.at).toBeGreaterThanOrEqual(120);
    // The third statement was sent; once it commits every state is stored.
    const count = async (): Promise<number> => (await sql.query<{ n: number }>(`select count(*)::int as n from rule_state where terminal like '${prefix}%'`))[0]!.n;
    for (let k = 0; k < 200 && (await count()) < 3000; k++) await new Promise((r) => setTimeout(r, 10));
    expect(await count()).toBe(3000);

    // Close during a spread checkpoint: the remaining slices go at once.
    e.submit(rows.map((r) => ({ ...r, time: r.time + 1000, receivedAt: r.receivedAt + 1000 })));
    await e.idle();
    now += 1000;
    saves.length = 0;
    await e.sweep();
    const c0 = performance.now();
    await e.close();
    expect(saves.map((x) => x.n)).toEqual([1000, 1000, 1000]);
    expect(performance.now() - c0).toBeLessThan(2000);
  }, 30_000);

  it('never lets an older checkpoint replace a newer one', async () => {
    const store = new SqlCheckpointStore(sql);
    const terminal = `0139${kind === 'postgres' ? 3 : 4}0000001`;
    const state = { v: 1 as const, live: { rules: {}, prev: null, last: null, open: [] }, late: null };
    await store.save([{ terminal, watermark: at(50), state: JSON.stringify(state) }]);
    await store.save([{ terminal, watermark: at(40), state: JSON.stringify(state) }]);
    expect((await store.watermarks([terminal])).get(terminal)).toBe(at(50));
  });

  it('drops a silent vehicle that another process has evaluated since, without raising its timers', async () => {
    const terminal = `0139${kind === 'postgres' ? 5 : 6}0000001`;
    let now = at(0);
    const store = new SqlCheckpointStore(sql);
    const a = engine({ checkpoints: store, now: () => now });
    a.e.submit(speeds([50], 0, terminal).map((p) => ({ ...p, receivedAt: now })));
    await a.e.idle();
    await a.e.checkpoint();
    // The vehicle reconnects to process B, which goes on from A's checkpoint.
    const b = engine({ checkpoints: store, now: () => now });
    b.e.submit(speeds([55], 30, terminal).map((p) => ({ ...p, receivedAt: now })));
    await b.e.idle();
    await b.e.checkpoint();
    now += 25_000;
    await a.e.sweep();
    expect(a.e.size).toBe(0);
    expect(a.events).toEqual([]);
    // B, which holds the vehicle, does raise its timer.
    await b.e.sweep();
    expect(b.events.map((x) => x.e.kind)).toEqual(['test.silence']);
  });
});
