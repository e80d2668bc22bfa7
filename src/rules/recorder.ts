import { topics, type Bus } from '../bus/types.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Sql } from '../store/sql.js';
import type { RuleEvent } from './types.js';

const SEVERITY = ['info', 'warning', 'critical'] as const;

/** The public JSON of an event emission (MQTT `…/event`; README documents it). */
export function eventToJson(e: RuleEvent): Record<string, unknown> {
  return {
    id: e.id, terminal: e.terminal, rule: e.rule, kind: e.kind, severity: SEVERITY[e.severity], phase: e.phase,
    startTime: new Date(e.start.timeMs).toISOString(), endTime: e.end ? new Date(e.end.timeMs).toISOString() : null,
    start: { latitude: e.start.lat, longitude: e.start.lon }, end: e.end ? { latitude: e.end.lat, longitude: e.end.lon } : null,
    late: e.late, data: e.data,
  };
}

interface Pending {
  e: RuleEvent;
  replayed: boolean;
}

/**
 * Stores and publishes what the rules emit. A live emission is published at once (QoS 1 on
 * `…/event`): an SOS must not wait for the database. Emissions are written in batches; an
 * event's start and end are one row (`event_key`), so a replay after a restart updates rather
 * than duplicates, and a replayed emission is published only when it changed the stored row.
 * While the database is away the queue is kept (bounded; the oldest are dropped and counted)
 * and retried.
 */
export class EventRecorder {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql | undefined,
    private readonly bus: Bus,
    private readonly metrics: Metrics,
    private readonly log: Log,
    private readonly opts: { flushMs?: number; maxQueued?: number } = {},
  ) {}

  record(e: RuleEvent, replayed: boolean): void {
    this.metrics.ruleEvents.inc({ rule: e.rule, phase: e.phase, late: String(e.late) });
    if (!replayed) this.publish(e);
    if (!this.sql) return;
    this.queue.push({ e, replayed });
    const max = this.opts.maxQueued ?? 100_000;
    if (this.queue.length > max) {
      const dropped = this.queue.splice(0, this.queue.length - max);
      this.metrics.ruleEventStore.inc({ result: 'dropped' }, dropped.length);
    }
    this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs ?? 200);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Writes what is queued (and waits for a write in progress). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing;
    if (!this.sql || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.write(batch).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async write(batch: Pending[]): Promise<void> {
    // One row per event: the latest emission of each id in the batch.
    const latest = new Map<string, RuleEvent>();
    for (const p of batch) latest.set(p.e.id, p.e);
    const es = [...latest.values()];
    let changed: Set<string>;
    try {
      const rows = await this.sql!.query<{ event_key: string }>(
        `insert into events (event_key, terminal, rule, kind, severity, started_at, ended_at, late, data, updated_at)
         select k, t, r, kd, sv, to_timestamp(st / 1000.0), case when en is null then null else to_timestamp(en / 1000.0) end, lt, d::jsonb, now()
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::float8[], $7::float8[], $8::boolean[], $9::text[])
           as u(k, t, r, kd, sv, st, en, lt, d)
         on conflict (event_key) do update set ended_at = excluded.ended_at, data = excluded.data, severity = excluded.severity, updated_at = now()
           where events.ended_at is distinct from excluded.ended_at or events.data is distinct from excluded.data or events.severity <> excluded.severity
         returning event_key`,
        [
          es.map((e) => e.id), es.map((e) => e.terminal), es.map((e) => e.rule), es.map((e) => e.kind), es.map((e) => e.severity),
          es.map((e) => e.start.timeMs), es.map((e) => e.end?.timeMs ?? null), es.map((e) => e.late),
          es.map((e) => JSON.stringify({ ...e.data, start: { latitude: e.start.lat, longitude: e.start.lon }, ...(e.end ? { end: { latitude: e.end.lat, longitude: e.end.lon } } : {}) })),
        ],
      );
      changed = new Set(rows.map((r) => r.event_key));
      this.metrics.ruleEventStore.inc({ result: 'stored' }, es.length);
    } catch (e) {
      this.metrics.ruleEventStore.inc({ result: 'failed' }, es.length);
      this.log.warn({ err: (e as Error).message, events: es.length }, 'rule events could not be stored; will retry');
      this.queue = batch.concat(this.queue);
      this.timer ??= setTimeout(() => void this.flush(), 1000);
      return;
    }
    // A replayed emission is news only if the store did not have it.
    for (const p of batch) if (p.replayed && changed.has(p.e.id) && latest.get(p.e.id) === p.e) this.publish(p.e);
  }

  private publish(e: RuleEvent): void {
    this.bus.publish(topics.event(e.terminal), JSON.stringify(eventToJson(e)), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
  }
}
