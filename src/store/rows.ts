import type { Location } from '../../protocols/jt808/index.js';
import type { Uplink } from '../pipeline/types.js';

/** Kinds of stored positions (`positions.kind`, part of the duplicate key). */
export const PositionKind = { LIVE: 0, BATCH: 1, BLIND_AREA: 2, REPLY: 3 } as const;

/** One row of `positions` (and of the ClickHouse mirror). Times are epoch milliseconds. */
export interface PositionRow {
  terminal: string;
  /** Device time (UTC); the receive time when the device sent no valid time. */
  time: number;
  kind: number;
  receivedAt: number;
  latitude: number;
  longitude: number;
  altitude: number;
  speed: number;
  direction: number;
  alarm: number;
  status: number;
  mileage: number | null;
  fuel: number | null;
  /** The other additional items, as JSON text (null when none). */
  extras: string | null;
}

function row(terminal: string, loc: Location, kind: number, receivedAt: number): PositionRow {
  const { mileage, fuel, ...rest } = (loc.extras ?? {}) as { mileage?: number; fuel?: number } & Record<string, unknown>;
  const others = Object.keys(rest).length > 0 ? JSON.stringify(rest) : null;
  return {
    terminal,
    time: Number.isNaN(loc.timeSec) ? receivedAt : loc.timeSec * 1000,
    kind,
    receivedAt,
    latitude: loc.latitude,
    longitude: loc.longitude,
    altitude: loc.altitude,
    speed: loc.speed,
    direction: loc.direction,
    alarm: loc.alarmValue,
    status: loc.statusValue,
    mileage: typeof mileage === 'number' ? mileage : null,
    fuel: typeof fuel === 'number' ? fuel : null,
    extras: others,
  };
}

/** The position rows an uplink carries: one for 0x0200/0x0201/0x0500, one per 0x0704 item, else none. */
export function positionRows(up: Uplink): PositionRow[] {
  const m = up.message;
  const b = m.body;
  if (!b) return [];
  switch (m.msgId) {
    case 0x0200:
      return [row(m.terminal, b as unknown as Location, PositionKind.LIVE, up.receivedAt)];
    case 0x0201:
    case 0x0500:
      return [row(m.terminal, b.location as Location, PositionKind.REPLY, up.receivedAt)];
    case 0x0704: {
      const kind = b.batchType === 1 ? PositionKind.BLIND_AREA : PositionKind.BATCH;
      return (b.locations as Location[]).map((l) => row(m.terminal, l, kind, up.receivedAt));
    }
    default:
      return [];
  }
}
