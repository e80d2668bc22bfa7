import type { Bus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Pipeline } from '../pipeline/types.js';
import type { Reassembler } from '../protocol/jt808/index.js';
import type { FrameArchive } from '../store/raw-frames.js';
import type { TerminalStore } from '../store/types.js';
import type { CommandService } from './commands.js';
import type { Session } from './session.js';

/** What the gateway is given: built by the composition root (src/app.ts). */
export interface GatewayDeps {
  config: Readonly<Config>;
  log: Log;
  metrics: Metrics;
  store: TerminalStore;
  pipeline: Pipeline;
  bus: Bus;
  now?: () => number;
  /** Every frame read and written goes here too (store.rawFrames); none = no archive. */
  archive?: FrameArchive;
}

/** Everything a session needs, built once by the gateway and shared (never module globals). */
export interface GatewayContext extends Required<Omit<GatewayDeps, 'archive'>> {
  archive: FrameArchive | undefined;
  reassembler: Reassembler;
  commands: CommandService;
  /** Online sessions by terminal. */
  sessions: Map<string, Session>;
  /** Every live session (online or not), for sweeps and limits. */
  all: Set<Session>;
  /** Counts a frame in fleetgate_frames_total (label children cached: twice a position, every position). */
  countFrame(msgId: number, direction: 'up' | 'down'): void;
}
