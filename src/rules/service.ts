import { readFileSync } from 'node:fs';
import type { Bus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PositionRow } from '../store/rows.js';
import type { Sql } from '../store/sql.js';
import { RuleEngine } from './engine.js';
import { FenceIndex, fencesFromGeoJSON } from './geo/index.js';
import { FenceRepository } from './geo/repository.js';
import { standardRules } from './index.js';
import { EventRecorder } from './recorder.js';
import { SqlCheckpointStore, SqlThresholdStore, SqlVehicleDirectory } from './sql.js';
import { ThresholdTable, type VehicleInfo } from './thresholds.js';
import type { Rule } from './types.js';

/** At start-up, vehicles checkpointed this recently with ACC on are resumed before they report. */
const RESUME_WITHIN_MS = 3600_000;

export interface RulesDeps {
  config: Readonly<Config>;
  bus: Bus;
  metrics: Metrics;
  log: Log;
  /** The database (checkpoints, events, thresholds, geofences); without it all is in memory. */
  sql?: Sql;
  /** Replace the rule set (tests). */
  rules?: (fences: FenceIndex) => Rule[];
  now?: () => number;
}

/**
 * The rules as the app runs them: the engine fed with committed positions, the fence index and
 * the thresholds it reads (loaded from the store and changed through the API without a
 * restart), the event recorder, and the sweep timer.
 */
export class RulesService {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Engine counters already turned into metrics. */
  private counted = { positions: 0, late: 0, replayed: 0, skipped: 0 };

  private constructor(
    readonly engine: RuleEngine,
    readonly fences: FenceIndex,
    readonly thresholds: ThresholdTable,
    readonly recorder: EventRecorder,
    readonly thresholdStore: SqlThresholdStore | undefined,
    readonly fenceRepo: FenceRepository | undefined,
    private readonly deps: RulesDeps,
    private readonly directory: SqlVehicleDirectory | undefined,
  ) {}

  static async start(deps: RulesDeps): Promise<RulesService> {
    const { config, sql, log, metrics } = deps;
    const fences = new FenceIndex();
    if (config.rules.geofencesFile) fences.addAll(fencesFromGeoJSON(JSON.parse(readFileSync(config.rules.geofencesFile, 'utf8'))));
    const fenceRepo = sql ? new FenceRepository(sql) : undefined;
    if (fenceRepo) {
      // Stored fences win over the file's; the rest are loaded in one bulk add.
      const stored = await fenceRepo.list();
      for (const f of stored) if (fences.has(f.id)) fences.replace(f);
      fences.addAll(stored.filter((f) => !fences.has(f.id)));
    }
    const thresholds = new ThresholdTable();
    const thresholdStore = sql ? new SqlThresholdStore(sql) : undefined;
    if (thresholdStore) await thresholdStore.loadInto(thresholds);
    const recorder = new EventRecorder(sql, deps.bus, metrics, log);
    const directory = sql ? new SqlVehicleDirectory(sql) : undefined;
    const checkpoints = sql ? new SqlCheckpointStore(sql) : undefined;
    const engine = new RuleEngine({
      rules: (deps.rules ?? standardRules)(fences), thresholds, fences, log,
      ...(checkpoints && directory ? { checkpoints, vehicles: directory } : {}),
      onEvent: (e, replayed) => recorder.record(e, replayed),
      checkpointEveryMs: config.rules.checkpointEveryMs, checkpointSpreadMs: config.rules.checkpointSpreadMs, lateLaneIdleMs: config.rules.lateLaneIdleMs,
      ...(deps.now ? { now: deps.now } : {}),
    });
    // Vehicles last seen driving (ACC on) in the last hour are loaded now, not when they next
    // report: one that never comes back after a restart is still reported offline.
    if (checkpoints) engine.resume(await checkpoints.accOnWithin(RESUME_WITHIN_MS));
    const s = new RulesService(engine, fences, thresholds, recorder, thresholdStore, fenceRepo, deps, directory);
    s.timer = setInterval(() => void s.sweep(), config.rules.sweepEveryMs);
    s.timer.unref();
    log.info({ fences: fences.size, overrides: thresholds.list().length }, 'rules running');
    return s;
  }

  /** Committed position rows, in commit order (the writer's onCommitted, or the publish path). */
  push(rows: readonly PositionRow[]): void {
    this.engine.submit(rows);
  }

  /** Who a terminal's vehicle is (organisation, group), as its thresholds are resolved. */
  async vehicleInfo(terminal: string): Promise<VehicleInfo> {
    return this.directory ? this.directory.lookup(terminal) : { terminal };
  }

  /** One sweep: timers, late lanes, checkpoints; gauges. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const end = this.deps.metrics.ruleSweepSeconds.startTimer();
    const written = this.engine.stats.checkpointsWritten;
    try {
      await this.engine.sweep();
    } catch (e) {
      this.deps.log.warn({ err: (e as Error).message }, 'rule sweep failed');
    } finally {
      end();
      this.sweeping = false;
    }
    const st = this.engine.stats, seen = this.counted, m = this.deps.metrics.rulePositions;
    m.inc({ lane: 'evaluated' }, st.positions - seen.positions);
    m.inc({ lane: 'late' }, st.late - seen.late);
    m.inc({ lane: 'replayed' }, st.replayed - seen.replayed);
    m.inc({ lane: 'skipped' }, st.skipped - seen.skipped);
    this.counted = { ...st };
    this.deps.metrics.ruleCheckpoints.inc(st.checkpointsWritten - written);
    this.deps.metrics.ruleVehicles.set(this.engine.size);
    this.deps.metrics.ruleEventsOpen.set(this.engine.openCount);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    while (this.sweeping) await new Promise((r) => setTimeout(r, 10));
    await this.engine.close();
    await this.recorder.close();
  }
}
