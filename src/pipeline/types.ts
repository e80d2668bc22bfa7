import type { Jt808Message } from '../protocol/jt808/index.js';

/** A decoded uplink on its way downstream, with where it came from. */
export interface Uplink {
  message: Jt808Message;
  /** When the gateway read it (ms epoch). */
  receivedAt: number;
  transport: 'tcp' | 'mqtt';
}

/**
 * The ordered chain a decoded message passes (normalise → dedupe → rules → store → publish).
 * `submit` resolves when the message is durable: a location's 0x8001 waits for it, so a
 * terminal hears an acknowledgement only for what will not be lost.
 */
export interface Pipeline {
  submit(up: Uplink): Promise<void>;
  /** True while downstream cannot keep up: the gateway stops reading sockets until `onDrain`. */
  readonly saturated: boolean;
  onDrain(listener: () => void): void;
  /** Messages accepted and not yet durable. */
  readonly pending: number;
  close(): Promise<void>;
}
