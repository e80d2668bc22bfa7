import type { FenceHit } from './geo/index.js';
import type { Thresholds } from './thresholds.js';

/**
 * What the rule engine works on. A `Fix` is one stored position of a vehicle (terminal), with
 * what every rule would otherwise compute again: ACC, the fences holding it, and the step from
 * the previous fix of the same lane. The engine fills it once per position and reuses it.
 */
export interface Fix {
  terminal: string;
  /** Device time, epoch ms (UTC). Positions reach the rules in this order per vehicle and lane. */
  timeMs: number;
  /** When the gateway read it, epoch ms. */
  receivedMs: number;
  lat: number;
  lon: number;
  speedKmh: number;
  /** Heading, degrees clockwise from north. */
  direction: number;
  /** Raw alarm and status words (JT/T 808 §4.3/§4.4). */
  alarm: number;
  status: number;
  /** Status bit 0. */
  acc: boolean;
  /** Status bit 1: the fix is a valid GNSS position (rules that measure distance skip the others). */
  located: boolean;
  /** `speedKmh ≥ thresholds.movingMinKmh`. */
  moving: boolean;
  /** From a blind-area batch, received long after its time, or older than the vehicle's live watermark. */
  late: boolean;
  /** Fences holding the position at its time (empty when none are loaded). Do not keep: reused. */
  fences: readonly FenceHit[];
  /** Seconds since the previous fix of the lane (NaN for the first). */
  dtS: number;
  /** Great-circle metres from the lane's last located fix (0 for the first, or when this one is not located). */
  stepM: number;
  /** The previous fix's values (NaN for the first). */
  prevLat: number;
  prevLon: number;
  prevSpeedKmh: number;
  prevDirection: number;
  prevTimeMs: number;
}

/** 0 info, 1 warning, 2 critical (`events.severity`). */
export type Severity = 0 | 1 | 2;
export const Severity = { INFO: 0, WARNING: 1, CRITICAL: 2 } as const;

export interface EventPoint {
  timeMs: number;
  lat: number;
  lon: number;
}

/**
 * An event with a beginning and an end. A rule emits it when it opens (`phase: 'start'`) and
 * again when it closes (`'end'`, with `end` and the final `data`); something that has no
 * duration is one `'instant'` emission. The id is derived from the vehicle, the kind, its key
 * and its start time, so re-emitting after a restart or a replay updates, never duplicates.
 */
export interface RuleEvent {
  id: string;
  terminal: string;
  /** The rule that raised it (`overspeed`, `geofence`, `alarm` …). */
  rule: string;
  /** What happened (`overspeed`, `geofence.inside`, `alarm.emergency` …). */
  kind: string;
  severity: Severity;
  phase: 'start' | 'end' | 'instant';
  start: EventPoint;
  end: EventPoint | null;
  /** Raised from late data (blind-area batches, old or out-of-order positions): not a live alert. */
  late: boolean;
  /** Rule-specific figures: maxSpeedKmh, limitKmh, distanceM, fenceId … */
  data: Record<string, unknown>;
}

/** Where rules put what they raise. */
export interface EventOut {
  emit(e: RuleEvent): void;
}

/**
 * One rule, one file. Its per-vehicle state is plain JSON (numbers, strings, arrays, plain
 * objects, null): the engine checkpoints it to the store and restores it after a restart or
 * on another gateway process, so an open event is neither lost nor raised twice.
 */
export interface Rule<S = unknown> {
  readonly name: string;
  /** A vehicle's state before its first fix. */
  init(): S;
  /** Called for each fix of a vehicle, in device-time order within its lane. */
  onFix(state: S, fix: Fix, t: Thresholds, out: EventOut): void;
  /**
   * Called from the engine's sweep with the wall clock, for what the absence of data means
   * (offline). `last` is the vehicle's last live fix (null before any).
   */
  onTick?(state: S, nowMs: number, last: Fix | null, t: Thresholds, out: EventOut): void;
}
