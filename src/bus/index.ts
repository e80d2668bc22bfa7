import type { Config } from '../config.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { EmbeddedBus } from './embedded-bus.js';
import { MqttBus } from './mqtt-bus.js';
import type { Bus } from './types.js';

export * from './types.js';
export { EmbeddedBus } from './embedded-bus.js';
export { MqttBus, gatewayStatusTopic, topicMatches, type MqttBusOptions } from './mqtt-bus.js';
export { startEmbeddedBroker, MqttPortInUseError, type EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.js';

/** How long start-up waits for the first connection before going on with publishes buffered. */
const FIRST_CONNECT_WAIT_MS = 5000;

/**
 * Connects the bus: to `cfg.url` when set, otherwise to an embedded broker started on
 * `cfg.embeddedPort` (rejects with `FG_ERR_MQTT_PORT_IN_USE` when that port is taken), published
 * to in-process.
 * An unreachable external broker does not fail start-up: publishes wait in the buffer.
 */
export async function createBus(cfg: Config['mqtt'], log: Log, metrics: Metrics): Promise<{ bus: Bus; broker?: EmbeddedBroker }> {
  if (cfg.url === undefined) {
    // Embedded: publish and subscribe inside the broker itself (see EmbeddedBus).
    const broker = await startEmbeddedBroker({ port: cfg.embeddedPort, host: cfg.embeddedHost }, log);
    return { bus: new EmbeddedBus(broker.aedes, cfg.clientId, log, metrics), broker };
  }
  const bus = new MqttBus({ url: cfg.url, clientId: cfg.clientId, maxBufferedMessages: cfg.maxBufferedMessages }, log, metrics);
  if (!(await bus.whenConnected(FIRST_CONNECT_WAIT_MS))) {
    log.warn({ waitedMs: FIRST_CONNECT_WAIT_MS }, 'MQTT broker not reachable yet; publishes are buffered until it is');
  }
  return { bus };
}
