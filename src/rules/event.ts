import type { EventPoint, Fix, RuleEvent, Severity } from './types.js';

/** The point of a fix, for an event's start or end. */
export const pointOf = (f: Pick<Fix, 'timeMs' | 'lat' | 'lon'>): EventPoint => ({ timeMs: f.timeMs, lat: f.lat, lon: f.lon });

/**
 * A new event opening at `at`. `key` tells apart events of one kind that can be open at once
 * (a fence id, an alarm bit); the id is deterministic so a replay updates the same event.
 */
export function openEvent(
  terminal: string, rule: string, kind: string, severity: Severity, at: EventPoint, late: boolean,
  data: Record<string, unknown> = {}, key = '',
): RuleEvent {
  return {
    id: eventId(terminal, kind, key, at.timeMs), terminal, rule, kind, severity, phase: 'start',
    start: at, end: null, late, data,
  };
}

/** The closing emission of an open event (a new object; the open one is left as it was). */
export function closeEvent(e: RuleEvent, at: EventPoint, data?: Record<string, unknown>): RuleEvent {
  return { ...e, phase: 'end', end: at, data: data ? { ...e.data, ...data } : e.data };
}

/** Something without a duration: one emission that starts and ends at `at` (or spans `from`→`at`). */
export function instantEvent(
  terminal: string, rule: string, kind: string, severity: Severity, at: EventPoint, late: boolean,
  data: Record<string, unknown> = {}, key = '', from: EventPoint = at,
): RuleEvent {
  return { ...openEvent(terminal, rule, kind, severity, from, late, data, key), phase: 'instant', end: at };
}

export function eventId(terminal: string, kind: string, key: string, startMs: number): string {
  return `${terminal}/${kind}${key ? `/${key}` : ''}/${startMs}`;
}

/** Great-circle distance in metres (haversine, mean Earth radius). */
export function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r, dLon = (lon2 - lon1) * r;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
}

const CHINA_OFFSET_MS = 8 * 3600_000;

/** Minutes after midnight, China time (UTC+8, no daylight saving). */
export function chinaMinuteOfDay(epochMs: number): number {
  const d = (epochMs + CHINA_OFFSET_MS) % 86_400_000;
  return Math.floor((d < 0 ? d + 86_400_000 : d) / 60_000);
}

/** Whether a minute of day falls in [start, end), a window that may wrap past midnight. */
export function inDailyWindow(minute: number, startMin: number, endMin: number): boolean {
  return startMin <= endMin ? minute >= startMin && minute < endMin : minute >= startMin || minute < endMin;
}
