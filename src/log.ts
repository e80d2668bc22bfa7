import { pino, type Logger } from 'pino';

export type Log = Logger;

/** The one logger, built at start-up and passed in (pino: structured JSON, cheap when silent). */
export function createLog(level: string, name = 'fleetgate'): Log {
  return pino({ name, level });
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLog(): Log {
  return pino({ level: 'silent' });
}
