/**
 * How a session reaches its terminal: a TCP socket, or MQTT topics for terminals that speak
 * JT/T 808 over MQTT. The session never touches a socket directly.
 */
export interface Transport {
  readonly kind: 'tcp' | 'mqtt';
  /** Peer address, for logs. */
  readonly remote: string;
  /**
   * Sends one frame. Returns false when the frame could not be queued because the peer is not
   * draining (the session then drops the connection: bounded memory per slow consumer).
   */
  write(frame: Buffer): boolean;
  /** Stop / restart reading (backpressure from downstream). */
  pause(): void;
  resume(): void;
  close(): void;
}
