import net from 'node:net';
import type { Transport } from './transport.js';

/** A TCP socket as a session transport; writes beyond `maxQueuedBytes` unsent are refused. */
export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  readonly remote: string;

  constructor(
    private readonly socket: net.Socket,
    private readonly maxQueuedBytes: number,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  write(frame: Buffer): boolean {
    if (this.socket.destroyed) return false;
    if (this.socket.writableLength + frame.length > this.maxQueuedBytes) return false;
    this.socket.write(frame);
    return true;
  }

  /** Pauses nest: the gateway (downstream saturated) and the session (its own queue) each hold one. */
  private pauses = 0;

  pause(): void {
    if (this.pauses++ === 0) this.socket.pause();
  }

  resume(): void {
    if (this.pauses > 0 && --this.pauses === 0) this.socket.resume();
  }

  close(): void {
    // end() flushes what is queued (a final 0x8001 or 0x8100); destroy if it never drains.
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
