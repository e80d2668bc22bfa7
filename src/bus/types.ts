/**
 * The message bus fleetgate publishes on and listens to: MQTT, either an external broker
 * (`MQTT_URL`) or the embedded one. Publishing never blocks the terminal side: while the broker
 * is unreachable messages wait in a bounded buffer (oldest dropped, counted) and go out in order
 * on reconnect.
 */
export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

export interface BusStats {
  connected: boolean;
  /** Publishes waiting for the broker. */
  buffered: number;
  /** Publishes dropped because the buffer was full. */
  dropped: number;
  /** Publishes the broker refused or that errored. */
  failures: number;
}

export type BusHandler = (topic: string, payload: Buffer) => void;

export interface Bus {
  /** Queues a publish; returns at once. */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void;
  /** Subscribes (MQTT wildcards allowed); resolves when the broker granted it. */
  subscribe(filter: string, handler: BusHandler): Promise<void>;
  /** Resolves when everything buffered has been handed to the broker (or `timeoutMs` passed). */
  flush(timeoutMs?: number): Promise<void>;
  readonly stats: BusStats;
  close(): Promise<void>;
}

/** The versioned topic tree (documented in README). */
export const topics = {
  root: 'fleetgate/v1',
  location: (t: string) => `fleetgate/v1/terminals/${t}/location`,
  alarm: (t: string) => `fleetgate/v1/terminals/${t}/alarm`,
  event: (t: string) => `fleetgate/v1/terminals/${t}/event`,
  status: (t: string) => `fleetgate/v1/terminals/${t}/status`,
  up: (t: string, msgId: string) => `fleetgate/v1/terminals/${t}/up/${msgId}`,
  cmdReq: (t: string) => `fleetgate/v1/terminals/${t}/cmd/req`,
  cmdRes: (t: string) => `fleetgate/v1/terminals/${t}/cmd/res`,
  cmdReqAll: 'fleetgate/v1/terminals/+/cmd/req',
  /** The gateway's own retained online/offline (its last will). */
  gatewayStatus: (clientId: string) => `fleetgate/v1/gateway/${clientId}/status`,
  /** MQTT ingress: terminals that speak JT/T 808 over MQTT. */
  ingressUp: (t: string) => `jt808/${t}/up`,
  ingressUpAll: 'jt808/+/up',
  ingressDown: (t: string) => `jt808/${t}/down`,
} as const;
