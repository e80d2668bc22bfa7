import type { Aedes } from 'aedes';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { topics, type Bus, type BusHandler, type BusStats, type PublishOptions } from './types.js';

/**
 * The bus when the broker is embedded: publishes go straight into aedes in this process, with no
 * MQTT client and no loopback socket in between (about 7 µs a message instead of about 40 µs
 * through a client). There is no outage to buffer for — the broker lives and dies with us —
 * and external subscribers still get QoS 1 and retained messages from aedes as usual.
 */
export class EmbeddedBus implements Bus {
  private inFlight = 0;
  private failures = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];
  private readonly statusTopic: string;

  constructor(
    private readonly aedes: Aedes,
    clientId: string,
    private readonly log: Log,
    private readonly metrics: Metrics,
  ) {
    this.statusTopic = topics.gatewayStatus(clientId);
    this.publish(this.statusTopic, JSON.stringify({ state: 'online', at: new Date().toISOString() }), { qos: 1, retain: true });
  }

  get stats(): BusStats {
    return { connected: !this.closed, buffered: this.inFlight, dropped: 0, failures: this.failures };
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void {
    if (this.closed) {
      this.metrics.mqttPublishFailures.inc({ reason: 'closed' });
      return;
    }
    this.inFlight++;
    this.aedes.publish(
      { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos, retain: opts.retain ?? false, dup: false },
      (err) => {
        this.inFlight--;
        if (err) {
          this.failures++;
          this.metrics.mqttPublishFailures.inc({ reason: 'error' });
          this.log.warn({ topic, err: err.message }, 'embedded broker refused a publish');
        }
        if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
      },
    );
  }

  subscribe(filter: string, handler: BusHandler): Promise<void> {
    return new Promise((resolve) => {
      this.aedes.subscribe(filter, (packet, done) => {
        try {
          handler(packet.topic, packet.payload as Buffer);
        } catch (e) {
          this.log.error({ topic: packet.topic, err: (e as Error).message }, 'bus handler failed');
        }
        done();
      }, () => resolve());
    });
  }

  flush(timeoutMs = 5000): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.publish(this.statusTopic, JSON.stringify({ state: 'offline', at: new Date().toISOString() }), { qos: 1, retain: true });
    await this.flush(2000);
    this.closed = true;
  }
}
