import type { RateLimiter, ConnectGate, Scheduler } from './scheduler.js';
import type { TerminalDefaults } from './settings.js';
import type { SimulationStats } from './stats.js';

/** How every terminal of a run behaves (one object shared by all of them). */
export interface TerminalBehaviour extends TerminalDefaults {
  /** Simulated seconds per real second: 300 plays a 30 s report interval every 0.1 s. */
  timeScale: number;
  /** Chance per driving report that a speeding episode starts (SOS: a twentieth of it). */
  alarmProbability: number;
  /** Mobile-network outages: mean simulated seconds between them and mean length; null: none. */
  signalLoss: { meanEveryS: number; meanDurationS: number } | null;
  /** Positions per 0x0704 batch (any count whose body fits one 1023-byte frame). */
  batchSize: number;
  /** Blind-area store: positions kept while offline; the oldest go when it is full. */
  maxQueued: number;
  /** Frames awaiting an answer at once; beyond it the oldest is given up. */
  maxInFlight: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  /** Serial of the first message (tests start near 0xFFFF to see the wrap). */
  firstSerial: number;
}

export function defaultBehaviour(over: Partial<TerminalBehaviour> = {}): TerminalBehaviour {
  const intervalS = over.intervalS ?? 30;
  return {
    intervalS,
    parkedIntervalS: intervalS * 6, // 30 s moving → 3 min parked, as fleets are usually configured
    heartbeatS: 60,
    ackTimeoutMs: 10_000,
    maxResends: 3,
    maxSpeedKmh: 80,
    timeScale: 1,
    alarmProbability: 0.002,
    signalLoss: { meanEveryS: 3600, meanDurationS: 180 },
    batchSize: 20,
    maxQueued: 2000,
    maxInFlight: 64,
    reconnectMinMs: 1000,
    reconnectMaxMs: 60_000,
    connectTimeoutMs: 10_000,
    firstSerial: 0,
    ...over,
  };
}

/** What a terminal shares with the rest of its run. */
export interface TerminalEnv {
  host: string;
  port: number;
  scheduler: Scheduler;
  stats: SimulationStats;
  behaviour: TerminalBehaviour;
  /** Virtual time (epoch ms) at which every terminal's timeline starts: fixed, so a seed fixes the frames. */
  epochMs: number;
  seed: number;
  gate?: ConnectGate;
  limiter?: RateLimiter;
  /** Tap on every frame written (tests, traces); `resend` for a re-sent frame. */
  onFrame?: (phone: string, msgId: number, serial: number, frame: Buffer, resend: boolean) => void;
}
