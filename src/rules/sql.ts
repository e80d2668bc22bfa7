import type { Sql } from '../store/sql.js';
import type { Checkpoint, CheckpointItem, CheckpointState, CheckpointStore, VehicleDirectory } from './engine.js';
import type { RuleInput } from './fix.js';
import { ThresholdOverride, type ThresholdScope, type ThresholdTable, type VehicleInfo } from './thresholds.js';

const ms = (col: string): string => `(extract(epoch from ${col}) * 1000)::float8`;

/** Rule state checkpoints in `rule_state` (migration 3), and the stored positions a resume replays. */
export class SqlCheckpointStore implements CheckpointStore {
  constructor(private readonly sql: Sql) {}

  async load(terminal: string): Promise<Checkpoint | null> {
    const rows = await this.sql.query<{ watermark: number; state: CheckpointState | string }>(
      `select ${ms('watermark')} as watermark, state from rule_state where terminal = $1`, [terminal]);
    const r = rows[0];
    if (!r) return null;
    return { watermark: Number(r.watermark), state: typeof r.state === 'string' ? JSON.parse(r.state) as CheckpointState : r.state };
  }

  async save(items: CheckpointItem[]): Promise<void> {
    // One statement for the lot; a checkpoint never replaces a newer one (another process's).
    await this.sql.query(
      `insert into rule_state (terminal, watermark, state, updated_at)
       select t, to_timestamp(w / 1000.0), s::jsonb, now() from unnest($1::text[], $2::float8[], $3::text[]) as u(t, w, s)
       on conflict (terminal) do update set watermark = excluded.watermark, state = excluded.state, updated_at = now()
       where rule_state.watermark <= excluded.watermark`,
      [items.map((i) => i.terminal), items.map((i) => i.watermark), items.map((i) => i.state)],
    );
  }

  async positionsBetween(terminal: string, after: number, before: number, limit: number): Promise<RuleInput[]> {
    const rows = await this.sql.query<RuleInput>(
      `select terminal, ${ms('time')} as time, kind, ${ms('received_at')} as "receivedAt", latitude, longitude,
              speed::float8 as speed, direction, alarm::float8 as alarm, status::float8 as status
       from positions where terminal = $1 and time > to_timestamp($2 / 1000.0) and time < to_timestamp($3 / 1000.0)
       order by time, kind limit $4`,
      [terminal, after, before, limit],
    );
    return rows.map((r) => ({ ...r, time: Number(r.time), receivedAt: Number(r.receivedAt), alarm: Number(r.alarm), status: Number(r.status) }));
  }

  /** Terminals checkpointed within `withinMs` whose last live fix had ACC on (status bit 0). */
  async accOnWithin(withinMs: number, limit = 200_000): Promise<string[]> {
    const rows = await this.sql.query<{ terminal: string }>(
      `select terminal from rule_state
       where updated_at > now() - $1 * interval '1 millisecond' and ((state #>> '{live,last,status}')::bigint & 1) = 1
       order by updated_at desc limit $2`,
      [withinMs, limit],
    );
    return rows.map((r) => r.terminal);
  }

  async watermarks(terminals: string[]): Promise<Map<string, number>> {
    const rows = await this.sql.query<{ terminal: string; watermark: number }>(
      `select terminal, ${ms('watermark')} as watermark from rule_state where terminal = any($1::text[])`, [terminals]);
    return new Map(rows.map((r) => [r.terminal, Number(r.watermark)]));
  }
}

/** A terminal's vehicle (plate, organisation, group) from `vehicles`, for its thresholds. */
export class SqlVehicleDirectory implements VehicleDirectory {
  constructor(private readonly sql: Sql) {}

  async lookup(terminal: string): Promise<VehicleInfo> {
    const rows = await this.sql.query<{ plate: string; organisation: string | null; group: string | null }>(
      `select plate, organisation, vehicle_group as "group" from vehicles where terminal = $1`, [terminal]);
    const r = rows[0];
    const info: VehicleInfo = { terminal };
    if (r?.plate) info.plate = r.plate;
    if (r?.organisation) info.organisation = r.organisation;
    if (r?.group) info.group = r.group;
    return info;
  }
}

/** Threshold overrides in `rule_thresholds`: loaded into the table at start-up, written on change. */
export class SqlThresholdStore {
  constructor(private readonly sql: Sql) {}

  async loadInto(table: ThresholdTable): Promise<number> {
    const rows = await this.sql.query<{ scope: ThresholdScope; id: string; thresholds: unknown }>(
      'select scope, id, thresholds from rule_thresholds order by scope, id');
    for (const r of rows) {
      const raw = typeof r.thresholds === 'string' ? JSON.parse(r.thresholds) : r.thresholds;
      table.set(r.scope, r.id, ThresholdOverride.parse(raw));
    }
    return rows.length;
  }

  async save(scope: ThresholdScope, id: string, o: ThresholdOverride): Promise<void> {
    await this.sql.query(
      `insert into rule_thresholds (scope, id, thresholds, updated_at) values ($1, $2, $3::jsonb, now())
       on conflict (scope, id) do update set thresholds = excluded.thresholds, updated_at = now()`,
      [scope, id, JSON.stringify(o)],
    );
  }

  async delete(scope: ThresholdScope, id: string): Promise<boolean> {
    const rows = await this.sql.query('delete from rule_thresholds where scope = $1 and id = $2 returning id', [scope, id]);
    return rows.length > 0;
  }
}
