import { z } from 'zod';

/**
 * Rule thresholds. Defaults follow `domain.md` (Road Transport regulation for fatigue, common
 * platform defaults for the rest); an organisation, a vehicle group and a vehicle may each
 * override any of them, most specific last. Times of day are minutes after midnight, China time.
 */
export interface Thresholds {
  /** Below this speed a vehicle is stopped (GNSS drift while parked reads a few km/h). */
  movingMinKmh: number;
  /** A live position whose device time is older than its receipt by more than this is late. */
  lateAfterS: number;
  overspeed: {
    /** The vehicle's own limit; a fence or a corridor segment with a lower limit wins. */
    limitKmh: number;
    /** Over the limit for at least this long before it counts. */
    minDurationS: number;
    /** Ends only once the speed is this far back under the limit (no flapping at the limit). */
    hysteresisKmh: number;
  };
  fatigue: {
    /** Continuous driving without a rest of `restS`. */
    continuousS: number;
    restS: number;
    /** Continuous driving inside the night window. */
    nightContinuousS: number;
    /** Driving in any 24 h. */
    dailyS: number;
  };
  harsh: {
    accelMs2: number;
    brakeMs2: number;
    cornerMs2: number;
    /** Longest gap between fixes that still gives an acceleration (≥ 1 Hz data). */
    maxGapS: number;
  };
  idling: { minS: number };
  night: {
    startMin: number;
    endMin: number;
    /** Shortest night drive that is reported. */
    minS: number;
  };
  offline: {
    /** Expected report interval while ACC is on. */
    reportIntervalS: number;
    /** Offline after this many missed intervals (last seen with ACC on). */
    intervals: number;
  };
  geofence: {
    /** Fixes on the new side of a boundary before enter/exit counts (GNSS jitter). */
    confirmFixes: number;
    /** Inside a forbidden-place or depot fence this long is a dwell. */
    dwellS: number;
    /** Two fixes further apart than this are not joined to look for fences crossed between them. */
    maxCrossGapS: number;
    /**
     * Nor are two fixes closer than this: a fence that fits between them is within the GNSS
     * error of the fixes (and at ≥ 1 Hz a vehicle's own fixes show where it went).
     */
    minCrossStepM: number;
  };
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  movingMinKmh: 5,
  lateAfterS: 300,
  overspeed: { limitKmh: 120, minDurationS: 10, hysteresisKmh: 5 },
  fatigue: { continuousS: 4 * 3600, restS: 20 * 60, nightContinuousS: 2 * 3600, dailyS: 8 * 3600 },
  harsh: { accelMs2: 2.5, brakeMs2: 2.7, cornerMs2: 3.4, maxGapS: 1.5 },
  idling: { minS: 600 },
  night: { startMin: 22 * 60, endMin: 6 * 60, minS: 60 },
  offline: { reportIntervalS: 30, intervals: 3 },
  geofence: { confirmFixes: 2, dwellS: 300, maxCrossGapS: 600, minCrossStepM: 50 },
};

const seconds = z.number().finite().min(0).max(7 * 86400);
const minuteOfDay = z.number().int().min(0).max(1439);
const accel = z.number().finite().positive().max(50);

/** A partial override, as the HTTP API takes it: unknown keys are refused, values range-checked. */
export const ThresholdOverride = z.strictObject({
  movingMinKmh: z.number().finite().min(0).max(50).optional(),
  lateAfterS: seconds.optional(),
  overspeed: z.strictObject({ limitKmh: z.number().finite().positive().max(300).optional(), minDurationS: seconds.optional(), hysteresisKmh: z.number().finite().min(0).max(50).optional() }).optional(),
  fatigue: z.strictObject({ continuousS: seconds.optional(), restS: seconds.optional(), nightContinuousS: seconds.optional(), dailyS: seconds.optional() }).optional(),
  harsh: z.strictObject({ accelMs2: accel.optional(), brakeMs2: accel.optional(), cornerMs2: accel.optional(), maxGapS: z.number().finite().positive().max(60).optional() }).optional(),
  idling: z.strictObject({ minS: seconds.optional() }).optional(),
  night: z.strictObject({ startMin: minuteOfDay.optional(), endMin: minuteOfDay.optional(), minS: seconds.optional() }).optional(),
  offline: z.strictObject({ reportIntervalS: z.number().finite().positive().max(86400).optional(), intervals: z.number().int().min(1).max(1000).optional() }).optional(),
  geofence: z.strictObject({ confirmFixes: z.number().int().min(1).max(10).optional(), dwellS: seconds.optional(), maxCrossGapS: seconds.optional(), minCrossStepM: z.number().finite().min(0).max(100_000).optional() }).optional(),
});
export type ThresholdOverride = z.infer<typeof ThresholdOverride>;

/** Where an override applies, least specific first. */
export type ThresholdScope = 'organisation' | 'group' | 'vehicle';
export const THRESHOLD_SCOPES: readonly ThresholdScope[] = ['organisation', 'group', 'vehicle'];

/** `base` with `o`'s values laid over it, group by group (a new object; neither is changed). */
export function applyOverride(base: Thresholds, o: ThresholdOverride | undefined): Thresholds {
  if (!o) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'object' ? { ...(base[k as keyof Thresholds] as object), ...stripUndefined(v) } : v;
  }
  return out as unknown as Thresholds;
}

function stripUndefined(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Who a vehicle is, for finding its overrides. */
export interface VehicleInfo {
  terminal: string;
  plate?: string;
  organisation?: string;
  group?: string;
}

/**
 * The overrides in force, resolved per vehicle and cached until the next change. `version`
 * grows with each change so the engine can tell when a vehicle's thresholds are stale.
 */
export class ThresholdTable {
  private readonly overrides = new Map<string, ThresholdOverride>();
  private readonly cache = new Map<string, Thresholds>();
  private v = 0;

  constructor(private readonly defaults: Thresholds = DEFAULT_THRESHOLDS) {}

  get version(): number {
    return this.v;
  }

  /** Sets (replaces) the override of one organisation, group or vehicle (by terminal id). */
  set(scope: ThresholdScope, id: string, o: ThresholdOverride): void {
    this.overrides.set(`${scope}:${id}`, ThresholdOverride.parse(o));
    this.changed();
  }

  delete(scope: ThresholdScope, id: string): boolean {
    const had = this.overrides.delete(`${scope}:${id}`);
    if (had) this.changed();
    return had;
  }

  get(scope: ThresholdScope, id: string): ThresholdOverride | undefined {
    return this.overrides.get(`${scope}:${id}`);
  }

  list(): { scope: ThresholdScope; id: string; thresholds: ThresholdOverride }[] {
    return [...this.overrides].map(([k, thresholds]) => {
      const i = k.indexOf(':');
      return { scope: k.slice(0, i) as ThresholdScope, id: k.slice(i + 1), thresholds };
    });
  }

  get defaultThresholds(): Thresholds {
    return this.defaults;
  }

  /** Defaults ← organisation ← group ← vehicle. */
  resolve(v: VehicleInfo): Thresholds {
    const key = `${v.organisation ?? ''}\u0000${v.group ?? ''}\u0000${v.terminal}`;
    let t = this.cache.get(key);
    if (t) return t;
    t = this.defaults;
    if (v.organisation !== undefined) t = applyOverride(t, this.overrides.get(`organisation:${v.organisation}`));
    if (v.group !== undefined) t = applyOverride(t, this.overrides.get(`group:${v.group}`));
    t = applyOverride(t, this.overrides.get(`vehicle:${v.terminal}`));
    this.cache.set(key, t);
    return t;
  }

  private changed(): void {
    this.cache.clear();
    this.v++;
  }
}
