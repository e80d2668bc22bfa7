import { PositionKind } from '../store/rows.js';
import { LocateMemo, type FenceHit, type FenceIndex } from './geo/index.js';
import { distanceM } from './event.js';
import type { Thresholds } from './thresholds.js';
import type { Fix } from './types.js';

/** A position as the rules take it in (the columns of a stored position row). */
export interface RuleInput {
  terminal: string;
  /** Device time, epoch ms. */
  time: number;
  receivedAt: number;
  latitude: number;
  longitude: number;
  /** km/h */
  speed: number;
  direction: number;
  alarm: number;
  status: number;
  /** Stored position kind (`PositionKind`: 2 is a blind-area batch item). */
  kind?: number;
  /** True when it came in a blind-area batch (0x0704 type 1); same as kind 2. */
  blindArea?: boolean;
}

/** What a lane remembers of its last fix (plain JSON: it is checkpointed). */
export interface LaneMemory {
  timeMs: number;
  lat: number;
  lon: number;
  speedKmh: number;
  direction: number;
  located: boolean;
}

/**
 * Fills the engine's one reusable `Fix` from an input and the lane's previous fix: ACC and
 * located bits, moving, late, the step from the previous fix, and the fences holding it.
 */
export class FixBuilder {
  readonly fix: Fix;
  private readonly hits: FenceHit[] = [];
  /**
   * Per lane (keyed by its LaneMemory, which stays plain JSON for checkpoints): the fences at
   * its parked position, so a parked vehicle's next fixes skip the geometry.
   */
  private readonly memos = new WeakMap<LaneMemory, LocateMemo>();

  constructor(private readonly fences?: FenceIndex) {
    this.fix = {
      terminal: '', timeMs: 0, receivedMs: 0, lat: 0, lon: 0, speedKmh: 0, direction: 0, alarm: 0, status: 0,
      acc: false, located: false, moving: false, late: false, fences: this.hits, dtS: NaN, stepM: 0,
      prevLat: NaN, prevLon: NaN, prevSpeedKmh: NaN, prevDirection: NaN, prevTimeMs: NaN,
    };
  }

  /**
   * `forceLate`: the position is evaluated in the late lane (older than the live watermark).
   * `locate` false leaves `fences` empty (timers look at the last fix, not where it is).
   */
  build(p: RuleInput, prev: LaneMemory | null, t: Thresholds, forceLate: boolean, locate = true): Fix {
    const f = this.fix;
    f.terminal = p.terminal;
    f.timeMs = p.time;
    f.receivedMs = p.receivedAt;
    f.lat = p.latitude;
    f.lon = p.longitude;
    f.speedKmh = p.speed;
    f.direction = p.direction;
    f.alarm = p.alarm;
    f.status = p.status;
    f.acc = (p.status & 1) !== 0;
    f.located = (p.status & 2) !== 0;
    f.moving = p.speed >= t.movingMinKmh;
    f.late = forceLate || p.blindArea === true || p.kind === PositionKind.BLIND_AREA || p.receivedAt - p.time > t.lateAfterS * 1000;
    if (prev) {
      f.dtS = (p.time - prev.timeMs) / 1000;
      f.stepM = prev.located && f.located ? distanceM(prev.lat, prev.lon, f.lat, f.lon) : 0;
      f.prevLat = prev.lat;
      f.prevLon = prev.lon;
      f.prevSpeedKmh = prev.speedKmh;
      f.prevDirection = prev.direction;
      f.prevTimeMs = prev.timeMs;
    } else {
      f.dtS = NaN;
      f.stepM = 0;
      f.prevLat = f.prevLon = f.prevSpeedKmh = f.prevDirection = f.prevTimeMs = NaN;
    }
    if (locate && this.fences && this.fences.size > 0 && f.located) {
      // At the lane's last located position (parked) the memo answers from the second such fix
      // on; a moving vehicle's fixes do not touch it (it would be a cache miss per fix).
      if (prev === null || !prev.located || prev.lat !== f.lat || prev.lon !== f.lon) this.fences.locateInto(f.lon, f.lat, this.hits, f.timeMs);
      else {
        let memo = this.memos.get(prev);
        if (memo === undefined) this.memos.set(prev, (memo = new LocateMemo()));
        this.fences.locateMemo(f.lon, f.lat, this.hits, f.timeMs, memo);
      }
    } else if (this.hits.length !== 0) this.hits.length = 0;
    return f;
  }
}

/** The lane memory of a fix (kept as the next fix's `prev`). */
export function remember(f: Fix, into: LaneMemory | null): LaneMemory {
  const m = into ?? { timeMs: 0, lat: 0, lon: 0, speedKmh: 0, direction: 0, located: false };
  m.timeMs = f.timeMs;
  // Distances run from the last valid position: an unlocated fix repeats stale coordinates.
  if (f.located) {
    m.located = true;
    m.lat = f.lat;
    m.lon = f.lon;
  }
  m.speedKmh = f.speedKmh;
  m.direction = f.direction;
  return m;
}
