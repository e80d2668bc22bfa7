import type { Log } from '../log.js';
import type { FenceIndex } from './geo/index.js';
import { closeEvent, pointOf } from './event.js';
import { FixBuilder, remember, type LaneMemory, type RuleInput } from './fix.js';
import type { ThresholdTable, Thresholds, VehicleInfo } from './thresholds.js';
import type { EventOut, Fix, Rule, RuleEvent } from './types.js';

/**
 * The rule engine: every stored position of a vehicle passes each rule in device-time order,
 * with the vehicle's state held here and checkpointed to the store.
 *
 * Ordering and late data. Each vehicle has a live lane whose watermark is the newest device
 * time it has evaluated. A position newer than the watermark goes through the live lane; one
 * equal to it is a resend and is skipped. A position older than the watermark (a blind-area
 * batch arriving after newer live reports) cannot be put back into the live lane's past, so it
 * goes through a separate late lane with its own rule state, sorted by time; the late lane
 * ends (its open events closed at its last position, marked `truncated`) once it has been
 * quiet for `lateLaneIdleMs`. Every event raised from late data — a blind-area item, a
 * position received `lateAfterS` after its time, or anything in the late lane — has
 * `late: true`: it is stored and published like any event, but it is history, not an alert.
 *
 * Restarts and other processes. A vehicle's state (every rule's state, the lanes, and the
 * events it has open) is written to the store every `checkpointEveryMs` while it changes.
 * When a vehicle unknown to this process sends data, its checkpoint is loaded and the
 * positions stored after the checkpoint's watermark are replayed before the new ones, so
 * nothing between the last checkpoint and a crash is lost; events carry deterministic ids,
 * so what the replay emits again updates the same rows and is not published twice. A vehicle
 * silent for a while is checked against the store: when another process has checkpointed it
 * since, this process drops its copy instead of raising timers (offline) for it.
 */
export interface RuleEngineOptions {
  rules: readonly Rule[];
  thresholds: ThresholdTable;
  fences?: FenceIndex;
  /** Where checkpoints live; without it state is kept in memory only. */
  checkpoints?: CheckpointStore;
  /** Who a terminal's vehicle is (organisation, group) for its thresholds. */
  vehicles?: VehicleDirectory;
  /** Receives every emission; `replayed` when it came from re-evaluating stored positions. */
  onEvent: (e: RuleEvent, replayed: boolean) => void;
  log?: Log;
  now?: () => number;
  checkpointEveryMs?: number;
  /**
   * A sweep's checkpoint is written in the background, its slices spread over this long (0: back
   * to back): ten thousand states at once kept the database busy for seconds, and the position
   * batches committing meanwhile — so the terminals' acknowledgements — waited.
   */
  checkpointSpreadMs?: number;
  lateLaneIdleMs?: number;
  /** A vehicle silent this long is checked against the store before its timers run. */
  ownershipCheckAfterMs?: number;
  /** A vehicle silent this long is checkpointed and dropped from memory. */
  evictAfterMs?: number;
}

/** A vehicle's checkpoint, as stored. */
export interface Checkpoint {
  /** The live lane's watermark (device time, ms). */
  watermark: number;
  state: CheckpointState;
}

export interface CheckpointState {
  v: 1;
  live: LaneSnapshot;
  late: LaneSnapshot | null;
}

interface LaneSnapshot {
  /** Rule states by rule name (a rule added since starts fresh; a removed one is dropped). */
  rules: Record<string, unknown>;
  prev: LaneMemory | null;
  last: RuleInput | null;
  open: RuleEvent[];
}

/** A checkpoint on its way to the store, serialised once. */
export interface CheckpointItem {
  terminal: string;
  watermark: number;
  state: string;
}

export interface CheckpointStore {
  load(terminal: string): Promise<Checkpoint | null>;
  /** Writes checkpoints (`state`: a CheckpointState as JSON text); a stored one with a newer watermark is kept. */
  save(items: CheckpointItem[]): Promise<void>;
  /** Stored positions of a terminal with after < time < before, oldest first. */
  positionsBetween(terminal: string, after: number, before: number, limit: number): Promise<RuleInput[]>;
  /** The stored watermarks of these terminals (absent when none). */
  watermarks(terminals: string[]): Promise<Map<string, number>>;
}

export interface VehicleDirectory {
  lookup(terminal: string): Promise<VehicleInfo>;
}

interface Lane {
  states: unknown[];
  prev: LaneMemory | null;
  last: RuleInput | null;
  /** Events started and not yet ended, in start order. */
  open: RuleEvent[];
  /** Wall clock of the lane's last position (late lanes end when it grows old). */
  touchedMs: number;
}

interface Vehicle {
  terminal: string;
  info: VehicleInfo;
  thresholds: Thresholds;
  version: number;
  live: Lane;
  late: Lane | null;
  /** Positions waiting while the checkpoint loads (null once loaded). */
  waiting: RuleInput[] | null;
  /** Older than the watermark, gathered during one submit and sorted before the late lane. */
  lateBuf: RuleInput[] | null;
  dirty: boolean;
  /** Wall clock of the last position received. */
  seenMs: number;
  /** Wall clock of the last ownership check against the store. */
  checkedMs: number;
}

export interface RuleEngineStats {
  vehicles: number;
  positions: number;
  late: number;
  skipped: number;
  replayed: number;
  events: number;
  checkpointsWritten: number;
}

/** Vehicles per checkpoint statement. */
const CHECKPOINT_SLICE = 1000;

/** The columns a rule input needs (a stored row carries more: extras, mileage …). */
const inputOf = (p: RuleInput): RuleInput => ({
  terminal: p.terminal, time: p.time, receivedAt: p.receivedAt, latitude: p.latitude, longitude: p.longitude, speed: p.speed,
  direction: p.direction, alarm: p.alarm, status: p.status, ...(p.kind !== undefined ? { kind: p.kind } : {}), ...(p.blindArea ? { blindArea: true } : {}),
});

export class RuleEngine {
  private readonly vehicles = new Map<string, Vehicle>();
  private readonly rules: readonly Rule[];
  private readonly builder: FixBuilder;
  private readonly now: () => number;
  private readonly o: Required<Pick<RuleEngineOptions, 'checkpointEveryMs' | 'checkpointSpreadMs' | 'lateLaneIdleMs' | 'ownershipCheckAfterMs' | 'evictAfterMs'>>;
  private readonly out: EventOut;
  private lane: Lane | null = null;
  private replaying = false;
  private readonly lateSet: Vehicle[] = [];
  private pendingLoads = new Set<Promise<void>>();
  private lastCheckpoint = 0;
  private readonly startedMs: number;
  private checkpointing: Promise<void> | undefined;
  /** Set by close(): a spread checkpoint in progress writes its remaining slices at once. */
  private closing = false;
  readonly stats: RuleEngineStats = { vehicles: 0, positions: 0, late: 0, skipped: 0, replayed: 0, events: 0, checkpointsWritten: 0 };

  constructor(private readonly opts: RuleEngineOptions) {
    this.rules = opts.rules;
    const names = new Set(opts.rules.map((r) => r.name));
    if (names.size !== opts.rules.length) throw new Error('rule names must be unique');
    this.builder = new FixBuilder(opts.fences);
    this.now = opts.now ?? Date.now;
    this.o = {
      checkpointEveryMs: opts.checkpointEveryMs ?? 30_000,
      checkpointSpreadMs: Math.min(opts.checkpointSpreadMs ?? 0, (opts.checkpointEveryMs ?? 30_000) / 2),
      lateLaneIdleMs: opts.lateLaneIdleMs ?? 60_000,
      ownershipCheckAfterMs: opts.ownershipCheckAfterMs ?? 60_000,
      evictAfterMs: opts.evictAfterMs ?? 3_600_000,
    };
    this.out = { emit: (e) => this.emit(e) };
    this.startedMs = this.now();
  }

  /** Positions in arrival order (several vehicles mixed); each vehicle's are evaluated in order. */
  submit(rows: readonly RuleInput[]): void {
    const now = this.now();
    // The vehicles are looked up for all rows first: the Map probes (a cache miss or two each,
    // with thousands of vehicles) then overlap instead of each waiting on the rules of the row
    // before. The rows of one uplink (a blind-area batch, a 1 Hz device's burst) are adjacent:
    // the vehicle of the row before is tried before the Map. A vehicle opened below for an
    // earlier row is found again by the second probe.
    const found: (Vehicle | undefined)[] = new Array(rows.length); // one per batch
    let last: Vehicle | undefined;
    for (let i = 0; i < rows.length; i++) {
      const terminal = rows[i]!.terminal;
      if (last === undefined || last.terminal !== terminal) last = this.vehicles.get(terminal);
      found[i] = last;
    }
    for (let i = 0; i < rows.length; i++) {
      const p = rows[i]!;
      let v = found[i];
      if (v === undefined) v = this.vehicles.get(p.terminal) ?? this.open(p.terminal);
      v.seenMs = now;
      if (v.waiting !== null) {
        v.waiting.push(p);
        continue;
      }
      this.route(v, p, now);
    }
    this.drainLate(now);
  }

  /**
   * Loads vehicles before they send anything (their checkpoints, and what was stored after
   * them): the app resumes those last seen with ACC on, so their timers (offline) run across a
   * restart. Vehicles already held are left as they are.
   */
  resume(terminals: Iterable<string>): void {
    for (const t of terminals) if (!this.vehicles.has(t)) this.open(t);
  }

  /** Resolves once every vehicle being loaded has caught up (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pendingLoads.size > 0) await Promise.all([...this.pendingLoads]);
  }

  /**
   * The periodic sweep (the app calls it every second): timers of vehicles whose ownership is
   * known, late lanes that went quiet, checkpoints when due, eviction of long-silent vehicles.
   */
  async sweep(): Promise<void> {
    const now = this.now();
    const toCheck: Vehicle[] = [];
    for (const v of this.vehicles.values()) {
      if (v.waiting !== null) continue;
      if (v.late && now - v.late.touchedMs > this.o.lateLaneIdleMs) this.endLateLane(v);
      const silent = now - v.seenMs > this.o.ownershipCheckAfterMs;
      if (this.opts.checkpoints && silent && now - v.checkedMs > this.o.ownershipCheckAfterMs) {
        toCheck.push(v);
        continue;
      }
      this.tick(v, now);
    }
    // In slices: one query per 5,000 silent vehicles.
    for (let i = 0; i < toCheck.length; i += 5000) await this.checkOwnership(toCheck.slice(i, i + 5000), now);
    if (now - this.lastCheckpoint >= this.o.checkpointEveryMs && !this.checkpointing) {
      if (this.o.checkpointSpreadMs > 0) {
        this.checkpoint(this.o.checkpointSpreadMs).catch((e: Error) => this.opts.log?.warn({ err: e.message }, 'rule checkpoint failed'));
      }
      else await this.checkpoint();
    }
  }

  /**
   * Writes the checkpoints of every vehicle changed since the last one, in slices of
   * `CHECKPOINT_SLICE` (one statement each, the event loop free between them: serialising ten
   * thousand states at once held a gateway's sockets for a second), `spreadMs` apart in all.
   */
  async checkpoint(spreadMs = 0): Promise<void> {
    if (!this.opts.checkpoints) return;
    while (this.checkpointing) await this.checkpointing;
    this.lastCheckpoint = this.now();
    const due: Vehicle[] = [];
    for (const v of this.vehicles.values()) if (v.dirty && v.waiting === null) due.push(v);
    if (due.length === 0) return;
    const pauseMs = spreadMs / Math.ceil(due.length / CHECKPOINT_SLICE);
    const write = async (): Promise<void> => {
      for (let i = 0; i < due.length; i += CHECKPOINT_SLICE) {
        if (i > 0 && pauseMs > 0 && !this.closing) await new Promise((r) => setTimeout(r, pauseMs));
        const slice = due.slice(i, i + CHECKPOINT_SLICE).filter((v) => v.dirty && v.waiting === null && this.vehicles.get(v.terminal) === v);
        const items = slice.map((v) => this.snapshot(v));
        for (const v of slice) v.dirty = false;
        try {
          await this.opts.checkpoints!.save(items);
          this.stats.checkpointsWritten += items.length;
        } catch (e) {
          for (const v of slice) v.dirty = true; // written next time
          this.opts.log?.warn({ err: (e as Error).message, vehicles: items.length }, 'rule checkpoint failed; will retry');
          return;
        }
      }
    };
    this.checkpointing = write();
    try {
      await this.checkpointing;
    } finally {
      this.checkpointing = undefined;
    }
  }

  /** How many events are open now, over all vehicles and lanes. */
  get openCount(): number {
    let n = 0;
    for (const v of this.vehicles.values()) n += v.live.open.length + (v.late?.open.length ?? 0);
    return n;
  }

  /** Events open now, over all vehicles and lanes. */
  openEvents(terminal?: string): RuleEvent[] {
    const vs = terminal === undefined ? [...this.vehicles.values()] : [this.vehicles.get(terminal)].filter((v): v is Vehicle => !!v);
    return vs.flatMap((v) => [...v.live.open, ...(v.late?.open ?? [])]);
  }

  /** Forgets cached thresholds and vehicle info of one terminal (after its vehicle record changed). */
  async refreshVehicle(terminal: string): Promise<void> {
    const v = this.vehicles.get(terminal);
    if (!v || !this.opts.vehicles) return;
    v.info = await this.opts.vehicles.lookup(terminal);
    v.version = -1;
  }

  get size(): number {
    return this.vehicles.size;
  }

  get ruleNames(): string[] {
    return this.rules.map((r) => r.name);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.idle();
    await this.checkpoint();
  }

  // --- per position -------------------------------------------------------------------------

  private route(v: Vehicle, p: RuleInput, now: number): void {
    const mark = v.live.prev === null ? -Infinity : v.live.prev.timeMs;
    if (p.time > mark) {
      this.evaluate(v, v.live, p, false, now);
    } else if (p.time === mark) {
      this.stats.skipped++; // the same position again (a resend, or a reply carrying it)
    } else {
      if (v.lateBuf === null) {
        v.lateBuf = [];
        this.lateSet.push(v);
      }
      v.lateBuf.push(p);
    }
  }

  private drainLate(now: number): void {
    if (this.lateSet.length === 0) return;
    for (const v of this.lateSet) {
      const buf = v.lateBuf!;
      v.lateBuf = null;
      if (buf.length > 1) buf.sort((a, b) => a.time - b.time);
      for (const p of buf) {
        const lane = v.late ?? (v.late = this.newLane(now));
        if (lane.prev !== null && p.time <= lane.prev.timeMs) {
          this.stats.skipped++;
          continue;
        }
        this.evaluate(v, lane, p, true, now);
      }
    }
    this.lateSet.length = 0;
  }

  private evaluate(v: Vehicle, lane: Lane, p: RuleInput, forceLate: boolean, now: number): void {
    if (v.version !== this.opts.thresholds.version) {
      v.thresholds = this.opts.thresholds.resolve(v.info);
      v.version = this.opts.thresholds.version;
    }
    const t = v.thresholds;
    const fix = this.builder.build(p, lane.prev, t, forceLate);
    this.lane = lane;
    const rules = this.rules, states = lane.states, out = this.out;
    for (let r = 0; r < rules.length; r++) rules[r]!.onFix(states[r], fix, t, out);
    this.lane = null;
    lane.prev = remember(fix, lane.prev);
    lane.last = p;
    lane.touchedMs = now;
    v.dirty = true;
    this.stats.positions++;
    if (fix.late) this.stats.late++;
    if (this.replaying) this.stats.replayed++;
  }

  private emit(e: RuleEvent): void {
    const lane = this.lane;
    if (lane !== null) {
      if (e.phase === 'start') lane.open.push(e);
      else if (e.phase === 'end') {
        // The start time first: a vehicle's ids share a long prefix, so comparing them is slow.
        const open = lane.open, t = e.start.timeMs;
        for (let i = 0; i < open.length; i++) {
          const o = open[i]!;
          if (o.start.timeMs === t && o.id === e.id) {
            open.splice(i, 1);
            break;
          }
        }
      }
    }
    this.stats.events++;
    this.opts.onEvent(e, this.replaying);
  }

  private tick(v: Vehicle, now: number): void {
    const last = v.live.last;
    if (last === null) return;
    let fix: Fix | null = null;
    const t = v.thresholds;
    for (let r = 0; r < this.rules.length; r++) {
      const rule = this.rules[r]!;
      if (!rule.onTick) continue;
      if (fix === null) {
        fix = this.builder.build(last, null, t, false, false);
        // Silence is counted from when this process could hear the vehicle: a restart's own
        // downtime is not the terminal's.
        if (fix.receivedMs < this.startedMs) fix.receivedMs = this.startedMs;
      }
      this.lane = v.live;
      const before = v.live.open.length;
      rule.onTick(v.live.states[r], now, fix, t, this.out);
      this.lane = null;
      if (v.live.open.length !== before) v.dirty = true;
    }
  }

  /** Closes what the late lane still has open, at its last position, and forgets the lane. */
  private endLateLane(v: Vehicle): void {
    const lane = v.late!;
    const at = lane.last ? pointOf({ timeMs: lane.last.time, lat: lane.last.latitude, lon: lane.last.longitude }) : null;
    for (const e of lane.open) if (at) this.emit(closeEvent(e, at, { truncated: true }));
    v.late = null;
    v.dirty = true;
  }

  // --- vehicles: load, replay, snapshot, ownership -------------------------------------------

  private newLane(now: number): Lane {
    return { states: this.rules.map((r) => r.init()), prev: null, last: null, open: [], touchedMs: now };
  }

  private open(terminal: string): Vehicle {
    const info: VehicleInfo = { terminal };
    const v: Vehicle = {
      terminal, info, thresholds: this.opts.thresholds.resolve(info), version: this.opts.thresholds.version,
      live: this.newLane(this.now()), late: null, waiting: null, lateBuf: null, dirty: false, seenMs: this.now(), checkedMs: 0,
    };
    this.vehicles.set(terminal, v);
    this.stats.vehicles = this.vehicles.size;
    if (this.opts.checkpoints || this.opts.vehicles) {
      v.waiting = [];
      const p = this.load(v).finally(() => this.pendingLoads.delete(p));
      this.pendingLoads.add(p);
    }
    return v;
  }

  private async load(v: Vehicle): Promise<void> {
    let replay: RuleInput[] = [];
    try {
      const [cp, info] = await Promise.all([
        this.opts.checkpoints?.load(v.terminal) ?? null,
        this.opts.vehicles?.lookup(v.terminal) ?? v.info,
      ]);
      v.info = info;
      v.version = -1;
      if (cp) {
        this.restore(v, cp.state);
        // Resumed without new data (at start-up): everything stored after the checkpoint.
        const first = v.waiting!.reduce((m, p) => Math.min(m, p.time), this.now() + 86_400_000);
        if (first > cp.watermark && this.opts.checkpoints) {
          replay = await this.opts.checkpoints.positionsBetween(v.terminal, cp.watermark, first, 100_000);
        }
      }
    } catch (e) {
      this.opts.log?.warn({ terminal: v.terminal, err: (e as Error).message }, 'rule state could not be loaded; starting afresh');
    }
    const waiting = v.waiting!;
    v.waiting = null;
    const now = this.now();
    this.replaying = true;
    try {
      for (const p of replay) this.route(v, p, now);
      this.drainLate(now);
    } finally {
      this.replaying = false;
    }
    for (const p of waiting) this.route(v, p, now);
    this.drainLate(now);
  }

  private snapshot(v: Vehicle): CheckpointItem {
    const lane = (l: Lane): LaneSnapshot => ({
      rules: Object.fromEntries(this.rules.map((r, i) => [r.name, l.states[i]])), prev: l.prev, last: l.last && inputOf(l.last), open: l.open,
    });
    // Serialised now, once: the states go on changing after this returns.
    const state: CheckpointState = { v: 1, live: lane(v.live), late: v.late ? lane(v.late) : null };
    return { terminal: v.terminal, watermark: v.live.prev?.timeMs ?? 0, state: JSON.stringify(state) };
  }

  private restore(v: Vehicle, s: CheckpointState): void {
    const now = this.now();
    const lane = (snap: LaneSnapshot): Lane => ({
      states: this.rules.map((r) => (r.name in snap.rules ? snap.rules[r.name] : r.init())),
      prev: snap.prev, last: snap.last, open: snap.open ?? [], touchedMs: now,
    });
    v.live = lane(s.live);
    v.late = s.late ? lane(s.late) : null;
  }

  private async checkOwnership(vs: Vehicle[], now: number): Promise<void> {
    let stored: Map<string, number>;
    try {
      stored = await this.opts.checkpoints!.watermarks(vs.map((v) => v.terminal));
    } catch (e) {
      this.opts.log?.warn({ err: (e as Error).message }, 'rule ownership check failed; will retry');
      return;
    }
    for (const v of vs) {
      v.checkedMs = now;
      const mine = v.live.prev?.timeMs ?? 0;
      const theirs = stored.get(v.terminal);
      if (theirs !== undefined && theirs > mine && !v.dirty) {
        // Another process has evaluated newer positions of this vehicle: its state is there now.
        this.vehicles.delete(v.terminal);
        continue;
      }
      if (now - v.seenMs > this.o.evictAfterMs && v.live.open.length === 0 && !v.late) {
        if (v.dirty) continue; // written at the next checkpoint, evicted after
        this.vehicles.delete(v.terminal);
        continue;
      }
      this.tick(v, now);
    }
    this.stats.vehicles = this.vehicles.size;
  }
}
