import { FixBuilder, remember, type LaneMemory, type RuleInput } from '../../src/rules/fix.js';
import type { FenceIndex } from '../../src/rules/geo/index.js';
import { DEFAULT_THRESHOLDS, applyOverride, type ThresholdOverride, type Thresholds } from '../../src/rules/thresholds.js';
import type { Rule, RuleEvent } from '../../src/rules/types.js';

/** 2026-11-30 09:00 China time. */
export const T0 = Date.UTC(2026, 10, 30, 1, 0, 0);
export const TERMINAL = '013800000001';
const ACC = 1, LOCATED = 2;

/** One leg of a synthetic drive: `seconds` at `speedKmh` heading `headingDeg`, a fix every `everyS`. */
export interface Leg {
  seconds: number;
  speedKmh: number;
  headingDeg?: number;
  everyS?: number;
  acc?: boolean;
  alarm?: number;
  /** Marks the leg's fixes as coming from a blind-area batch. */
  blindArea?: boolean;
}

/**
 * Positions of a vehicle that drives the legs one after the other from `from` ([lon, lat]) at
 * `startMs`: dead reckoning on a sphere, so distances and speeds agree. The first fix is at
 * `startMs`; each leg's fixes follow its `everyS` (default 1 s).
 */
export function drive(legs: Leg[], from: [number, number] = [117.0, 36.65], startMs = T0, terminal = TERMINAL): RuleInput[] {
  const out: RuleInput[] = [];
  let [lon, lat] = from;
  let t = startMs;
  let first = true;
  for (const leg of legs) {
    const every = leg.everyS ?? 1;
    const heading = leg.headingDeg ?? 90;
    for (let s = first ? 0 : every; s <= leg.seconds + 1e-9; s += every) {
      if (!first) {
        const d = (leg.speedKmh / 3.6) * every;
        const r = (heading * Math.PI) / 180;
        lat += ((d * Math.cos(r)) / 6371008.8) * (180 / Math.PI);
        lon += ((d * Math.sin(r)) / (6371008.8 * Math.cos((lat * Math.PI) / 180))) * (180 / Math.PI);
        t += every * 1000;
      }
      first = false;
      out.push({
        terminal, time: t, receivedAt: leg.blindArea ? t + 3600_000 : t + 500, latitude: lat, longitude: lon,
        speed: leg.speedKmh, direction: heading, alarm: leg.alarm ?? 0,
        status: (leg.acc === false ? 0 : ACC) | LOCATED, blindArea: leg.blindArea ?? false,
      });
    }
  }
  return out;
}

export interface RunOptions {
  thresholds?: ThresholdOverride;
  fences?: FenceIndex;
  /** Wall-clock times at which to call the rule's onTick after the fixes (ms epoch). */
  ticks?: number[];
  /** Starting state (e.g. one taken from an earlier run, through JSON as a checkpoint would). */
  state?: unknown;
}

/**
 * Feeds positions to one rule the way the engine's live lane does, and returns what it emitted
 * and its final state (after a JSON round trip, as a checkpoint would keep it).
 */
export function runRule<S>(rule: Rule<S>, inputs: RuleInput[], o: RunOptions = {}): { events: RuleEvent[]; state: S } {
  const t: Thresholds = applyOverride(DEFAULT_THRESHOLDS, o.thresholds);
  const builder = new FixBuilder(o.fences);
  const events: RuleEvent[] = [];
  const out = { emit: (e: RuleEvent) => events.push(structuredClone(e)) };
  let state = (o.state === undefined ? rule.init() : structuredClone(o.state)) as S;
  let prev: LaneMemory | null = null;
  for (const p of inputs) {
    const fix = builder.build(p, prev, t, false);
    rule.onFix(state, fix, t, out);
    prev = remember(fix, prev);
    state = JSON.parse(JSON.stringify(state)) as S;
  }
  if (rule.onTick && o.ticks) {
    const last = prev && inputs.length ? builder.build(inputs[inputs.length - 1]!, null, t, false) : null;
    for (const now of o.ticks) rule.onTick(state, now, last, t, out);
  }
  return { events, state };
}
