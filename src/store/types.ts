import type { Edition } from '../../protocols/jt808/index.js';

/** What the platform knows of one terminal (registration 0x0100 and its auth code). */
export interface TerminalRecord {
  /** Header phone number, every BCD digit. */
  terminal: string;
  authCode: string;
  /** Edition of its registration; decoding of its 2011/2013 frames follows it. */
  edition: Edition;
  /** Force an edition for a device that sets header bit 14 wrongly (overrides detection). */
  editionOverride?: Edition;
  /** Accept bad checksums from this (known broken) device, counting them. */
  acceptBadChecksum?: boolean;
  province?: number;
  city?: number;
  makerId?: string;
  model?: string;
  deviceId?: string;
  plateColor?: number;
  plate?: string;
  registeredAt: string;
}

/** A downlink waiting for its terminal to come online (persistent across restarts in a durable store). */
export interface QueuedCommand {
  id: string;
  terminal: string;
  msgId: number;
  /** Body as JSON-compatible data (bytes as hex strings). */
  body: Record<string, unknown> | null;
  createdAt: string;
  expiresAt: string;
  /** Where the result goes: an MQTT request id to answer on …/cmd/res. */
  requestId?: string;
}

/**
 * The gateway's view of the store. The in-memory implementation (memory.ts) serves until the
 * track-store issue lands a PostgreSQL/PGlite one behind this same interface.
 */
export interface TerminalStore {
  getTerminal(terminal: string): Promise<TerminalRecord | undefined>;
  saveTerminal(record: TerminalRecord): Promise<void>;
  /** 0x0003 logout: the terminal must register again. */
  deleteTerminal(terminal: string): Promise<void>;
  enqueueCommand(cmd: QueuedCommand): Promise<void>;
  /** Removes and returns the terminal's queued commands, oldest first, dropping expired ones. */
  takeCommands(terminal: string, now: Date): Promise<QueuedCommand[]>;
  /** Commands queued for a terminal, without removing them. */
  listCommands(terminal: string): Promise<QueuedCommand[]>;
  /** Records a command's state in the command log (optional: the memory store keeps none). */
  logCommand?(entry: CommandLogEntry): Promise<void>;
  close(): Promise<void>;
}

/** One downlink command as the command log keeps it. */
export interface CommandLogEntry {
  id: string;
  terminal: string;
  msgId: number;
  status: string;
  attempts: number;
  serials: number[];
  result?: number;
  reply?: Record<string, unknown>;
  error?: string;
  createdAt: string;
  sentAt?: string;
  finishedAt?: string;
}
