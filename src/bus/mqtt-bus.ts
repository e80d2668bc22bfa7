import { connect, type MqttClient } from 'mqtt';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { topics, type Bus, type BusHandler, type BusStats, type PublishOptions } from './types.js';

export interface MqttBusOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883` (credentials in the URL are never logged). */
  url: string;
  /** MQTT client id; also names this gateway's status topic. */
  clientId: string;
  /** Publishes held while the broker is unreachable; beyond it the oldest is dropped and counted. */
  maxBufferedMessages: number;
  /** QoS 1 publishes handed to the client and not yet acknowledged; the rest wait in the buffer. */
  maxInflight?: number;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
  /** How long close() waits for buffered and in-flight publishes before giving up on them. */
  closeTimeoutMs?: number;
}

/** Retained `online`/`offline` of one gateway process (the offline is also its Last Will). */
export const gatewayStatusTopic = topics.gatewayStatus;

interface Outgoing {
  /** Publish order; re-buffered messages go back in this order. -1 for control messages. */
  seq: number;
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  retain: boolean;
}

/**
 * The bus on an MQTT broker. mqtt.js's own offline queue is unbounded, so this class keeps the
 * bounded buffer and hands a message to the client only while connected; QoS 1 messages already
 * handed over stay in mqtt.js's store, which resends them first on reconnect, so order holds.
 */
export class MqttBus implements Bus {
  private readonly client: MqttClient;
  private readonly buffer: Ring<Outgoing>;
  private readonly subscriptions: { filter: string; handler: BusHandler }[] = [];
  private readonly flushWaiters = new Set<() => void>();
  private readonly connectWaiters = new Set<() => void>();
  private readonly statusTopic: string;
  private readonly maxInflight: number;
  private readonly closeTimeoutMs: number;
  private readonly endpoint: string;
  private nextSeq = 0;
  private inflight = 0;
  private connected = false;
  private closed = false;
  private dropped = 0;
  private failures = 0;
  private droppedThisOutage = 0;

  constructor(opts: MqttBusOptions, private readonly log: Log, private readonly metrics: Metrics) {
    this.buffer = new Ring(opts.maxBufferedMessages);
    this.maxInflight = opts.maxInflight ?? 1000;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 2000;
    this.statusTopic = gatewayStatusTopic(opts.clientId);
    this.endpoint = redactUrl(opts.url);
    this.client = connect(opts.url, {
      clientId: opts.clientId,
      // A clean session plus mqtt.js's resubscribe restores our subscriptions without the broker
      // hoarding stale commands for a gateway that is gone (commands have their own offline TTL).
      clean: true,
      resubscribe: true,
      reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      queueQoSZero: false,
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.onClose());
    // mqtt.js emits connection failures as 'error'; reconnecting is automatic, so they are only logged.
    this.client.on('error', (err) => this.log.debug({ err: err.message, broker: this.endpoint }, 'mqtt client error'));
    this.client.on('message', (topic, payload) => this.dispatch(topic, payload));
    this.metrics.mqttBuffered.set(0);
  }

  get stats(): BusStats {
    return { connected: this.connected, buffered: this.buffer.size, dropped: this.dropped, failures: this.failures };
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void {
    if (this.closed) return this.countFailure('closed', 1);
    if (!isValidTopicName(topic)) {
      this.log.warn({ topic }, 'mqtt publish refused: invalid topic name');
      return this.countFailure('invalid_topic', 1);
    }
    this.enqueue({ seq: this.nextSeq++, topic, payload, qos: opts.qos, retain: opts.retain ?? false });
  }

  async subscribe(filter: string, handler: BusHandler): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    // Registered before SUBACK: retained messages follow the grant immediately.
    const entry = { filter, handler };
    this.subscriptions.push(entry);
    try {
      const granted = await this.client.subscribeAsync(filter, { qos: 1 });
      if (granted.some((g) => g.qos === 128)) throw new Error(`MQTT broker refused the subscription to ${filter}`);
    } catch (err) {
      this.subscriptions.splice(this.subscriptions.indexOf(entry), 1);
      throw err;
    }
  }

  flush(timeoutMs = 5000): Promise<void> {
    if (this.drained()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.flushWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.flushWaiters.add(done);
    });
  }

  /** Resolves true once connected, false after `timeoutMs` (publishing works either way). */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.connectWaiters.delete(done);
        resolve(this.connected);
      };
      const timer = setTimeout(done, timeoutMs);
      this.connectWaiters.add(done);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasConnected = this.connected;
    if (wasConnected) {
      // A graceful DISCONNECT suppresses the Last Will, so the gateway says "offline" itself.
      this.enqueue({ seq: -1, topic: this.statusTopic, payload: 'offline', qos: 1, retain: true });
      await this.flush(this.closeTimeoutMs);
    }
    const lost = this.buffer.clear();
    if (lost > 0) {
      this.log.warn({ lost }, 'mqtt bus closed with publishes still buffered');
      this.countFailure('closed', lost);
    }
    const graceful = wasConnected && this.client.connected && this.inflight === 0;
    const ended = await within(this.client.endAsync(!graceful), this.closeTimeoutMs);
    // end() never finishes when the stream closed underneath it; destroying it releases the socket.
    if (!ended) this.client.stream?.destroy();
    this.connected = false;
    this.inflight = 0;
    this.metrics.mqttBuffered.set(0);
    for (const w of [...this.flushWaiters, ...this.connectWaiters]) w();
  }

  private onConnect(): void {
    this.connected = true;
    this.log.info({ broker: this.endpoint, buffered: this.buffer.size, droppedWhileOffline: this.droppedThisOutage }, 'mqtt connected');
    this.droppedThisOutage = 0;
    // Ahead of the backlog, so subscribers learn the gateway is back before its old news arrives.
    this.send({ seq: -1, topic: this.statusTopic, payload: 'online', qos: 1, retain: true });
    this.pump();
    for (const w of [...this.connectWaiters]) w();
  }

  private onClose(): void {
    if (this.connected && !this.closed) this.log.warn({ broker: this.endpoint }, 'mqtt connection lost; buffering publishes');
    this.connected = false;
  }

  private enqueue(m: Outgoing): void {
    if (this.buffer.push(m) !== undefined) this.countDrop();
    this.pump();
  }

  /** Hands buffered messages to the client while connected and the in-flight window has room. */
  private pump(): void {
    while (this.connected && this.inflight < this.maxInflight) {
      const m = this.buffer.shift();
      if (m === undefined) break;
      this.send(m);
    }
    this.metrics.mqttBuffered.set(this.buffer.size);
    if (this.drained()) for (const w of [...this.flushWaiters]) w();
  }

  private send(m: Outgoing): void {
    if (m.qos === 1) this.inflight++;
    try {
      this.client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain }, (err) => {
        if (m.qos === 1) this.inflight--;
        if (err) this.onSendError(m, err);
        if (m.qos === 1) this.pump();
      });
    } catch (err) {
      // mqtt.js validates some things by throwing; one bad message must not stop the pump.
      if (m.qos === 1) this.inflight--;
      this.onSendError(m, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onSendError(m: Outgoing, err: Error): void {
    this.countFailure('error', 1);
    if (m.seq >= 0 && !this.closed && !this.client.connected) {
      // The connection dropped under it: back into the buffer, in publish order, for the reconnect.
      // Clearing `connected` here keeps pump() from handing it straight back to a dead client.
      this.connected = false;
      if (!this.buffer.insertInOrder(m, (a, b) => a.seq < b.seq)) this.countDrop();
      this.metrics.mqttBuffered.set(this.buffer.size);
      return;
    }
    this.log.warn({ topic: m.topic, err: err.message }, 'mqtt publish failed');
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const { filter, handler } of this.subscriptions) {
      if (!topicMatches(filter, topic)) continue;
      try {
        handler(topic, payload);
      } catch (err) {
        this.log.error({ err, topic }, 'bus handler threw');
      }
    }
  }

  private drained(): boolean {
    return this.buffer.size === 0 && this.inflight === 0;
  }

  private countDrop(): void {
    this.dropped++;
    this.droppedThisOutage++;
    if (this.droppedThisOutage === 1) this.log.warn({ max: this.buffer.capacity }, 'mqtt buffer full: dropping the oldest publishes');
    this.metrics.mqttPublishFailures.inc({ reason: 'buffer_full' });
  }

  private countFailure(reason: string, n: number): void {
    this.failures += n;
    this.metrics.mqttPublishFailures.inc({ reason }, n);
  }
}

/** MQTT 3.1.1 §4.7: does `topic` match the subscription `filter` (`+`, `#`, `$share/…`)? */
export function topicMatches(filter: string, topic: string): boolean {
  const f = (filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter).split('/');
  const t = topic.split('/');
  // §4.7.2: a filter starting with a wildcard does not match topics starting with '$'.
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // §4.7.1.2: also matches the parent level ("a/#" matches "a")
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** §4.7.3: a topic name is non-empty and has no wildcards. */
function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic);
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([p.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fixed-capacity FIFO: O(1) at both ends, no shifting of a 100k-element array per publish. */
class Ring<T> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity);
  }

  /** Appends; when full, evicts and returns the oldest. */
  push(item: T): T | undefined {
    const evicted = this.size === this.capacity ? this.shift() : undefined;
    this.slots[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return evicted;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  /** Puts an item back near the front, after the items `before` it; false (not added) when full. */
  insertInOrder(item: T, before: (a: T, b: T) => boolean): boolean {
    if (this.size === this.capacity) return false;
    this.head = (this.head - 1 + this.capacity) % this.capacity;
    this.size++;
    let i = 0;
    for (; i + 1 < this.size; i++) {
      const next = this.slots[(this.head + i + 1) % this.capacity] as T;
      if (!before(next, item)) break;
      this.slots[(this.head + i) % this.capacity] = next;
    }
    this.slots[(this.head + i) % this.capacity] = item;
    return true;
  }

  /** Empties the ring; returns how many items it held. */
  clear(): number {
    const n = this.size;
    this.slots.fill(undefined);
    this.head = 0;
    this.size = 0;
    return n;
  }
}
