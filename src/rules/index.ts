import { terminalAlarmRule } from './alarms.js';
import { fatigueRule } from './fatigue.js';
import { geofenceRule } from './geofence.js';
import type { FenceIndex } from './geo/index.js';
import { harshRule } from './harsh.js';
import { idlingRule } from './idling.js';
import { nightDrivingRule } from './night.js';
import { offlineRule } from './offline.js';
import { overspeedRule } from './overspeed.js';
import type { Rule } from './types.js';

export { RuleEngine, type RuleEngineOptions, type Checkpoint, type CheckpointStore, type VehicleDirectory } from './engine.js';
export { DEFAULT_THRESHOLDS, ThresholdOverride, ThresholdTable, applyOverride, type Thresholds, type ThresholdScope } from './thresholds.js';
export type { Fix, Rule, RuleEvent, EventOut, Severity } from './types.js';

/** Every rule fleetgate runs, in evaluation order (one file each). */
export function standardRules(fences: FenceIndex): Rule[] {
  return [
    terminalAlarmRule, overspeedRule, geofenceRule(fences), fatigueRule, harshRule, idlingRule, nightDrivingRule, offlineRule,
  ] as Rule[];
}
