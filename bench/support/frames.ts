/**
 * The frames the benchmark terminals send, encoded once with our encoder (clients then only
 * write bytes, so their CPU goes to the sockets, not to encoding).
 */
import { encodeMessage } from '../../src/protocol/jt808/index.js';

/** Bench terminal ids start here (12 digits), away from the ids tests and fixtures use. */
export const BENCH_ID_BASE = 990_000_000_000;

export function terminalId(n: number): string {
  return String(BENCH_ID_BASE + n).padStart(12, '0');
}

export function registerFrame(terminal: string): Buffer {
  const body = { province: 37, city: 100, makerId: 'FLEET', model: 'FG-BENCH', terminalId: terminal.slice(-7), plateColor: 1, plate: '鲁A12345' };
  return encodeMessage({ msgId: 0x0100, terminal, serial: 0, version: 2013, body }).frames[0]!;
}

export function authFrame(terminal: string, authCode: string): Buffer {
  return encodeMessage({ msgId: 0x0102, terminal, serial: 1, version: 2013, body: { authCode } }).frames[0]!;
}

/** A 0x0200 with the typical extras (mileage, fuel, signal strength, satellites), as in bench/codec. */
export function locationFrame(terminal: string, i: number): Buffer {
  const body = {
    alarm: 0, status: 0x000c0003, latitude: 36.651216 + (i % 100) * 1e-4, longitude: 117.120128 + (i % 50) * 1e-4,
    altitude: 48, speed: 42.5, direction: (i * 7) % 360, time: new Date(Date.UTC(2026, 10, 29, 4, 0, i % 60)),
    extras: { mileage: 12345.6 + i, fuel: 31.5, signalStrength: 25, satellites: 14 },
  };
  return encodeMessage({ msgId: 0x0200, terminal, serial: 2 + (i & 0x7fff), version: 2013, body }).frames[0]!;
}

/**
 * `n` different 0x0200 frames for one terminal (serials and device times apart), all of one
 * length (serials whose bytes or checksum would need escaping are skipped), sent in turn: a
 * terminal never sends the same frame twice except as a re-send, which the gateway answers
 * without storing it again — a bench repeating one frame would measure that shortcut.
 */
export function locationFrames(terminal: string, i: number, n = 16): Buffer[] {
  const length = locationFrame(terminal, i).length;
  const out: Buffer[] = [];
  for (let k = 0; out.length < n; k++) {
    const f = locationFrame(terminal, i * 64 + k);
    if (f.length === length) out.push(f);
  }
  return out;
}
