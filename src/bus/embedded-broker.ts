import net from 'node:net';
import { Aedes } from 'aedes';
import type { Log } from '../log.js';

/** The in-process MQTT broker (aedes) `fleetgate serve` runs when no `MQTT_URL` is configured. */
export interface EmbeddedBroker {
  /** The port actually bound (differs from the requested one when that was 0). */
  readonly port: number;
  /**
   * The aedes instance, for in-process publish/subscribe (e.g. MQTT ingress without a loopback
   * client) and for tests that must subscribe before the first client can connect.
   */
  readonly aedes: Aedes;
  /** Disconnects every client, stops listening, and closes the broker. */
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  /** 0 = any free port. */
  port: number;
  /**
   * Interface to bind. Defaults to loopback because the embedded broker has no authentication:
   * on all interfaces anyone could publish downlink commands. Set it to expose MQTT ingress.
   */
  host?: string;
}

export class MqttPortInUseError extends Error {
  readonly code = 'FG_ERR_MQTT_PORT_IN_USE';
  constructor(readonly port: number, options?: { cause?: unknown }) {
    super(`MQTT port ${port} is in use: set MQTT_URL to use that broker, or FLEETGATE_MQTT_PORT to choose another port`, options);
    this.name = 'MqttPortInUseError';
  }
}

/** Starts aedes on a TCP server; rejects with `FG_ERR_MQTT_PORT_IN_USE` when the port is taken. */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions, log: Log): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  // aedes caps client ids at 23 characters (the MQTT 3.1.1 minimum); gateways and terminals
  // on the ingress topics use longer ones.
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 256 });
  // aedes reports per-client protocol errors here; without a listener they would be unhandled.
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt broker: client error'));
  aedes.on('connectionError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt broker: connection error'));

  // Tracked so close() does not wait for idle clients to hang up on their own.
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new MqttPortInUseError(opts.port, { cause: err });
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'mqtt broker: server error'));

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  log.info({ host, port }, 'embedded MQTT broker listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await serverClosed;
      log.info({ port }, 'embedded MQTT broker closed');
    })();
    return closing;
  };
  return { port, aedes, close };
}
