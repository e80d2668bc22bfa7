import { Location } from '../../protocols/jt808/index.js';
import { topics, type Bus } from '../bus/types.js';
import { hexId, messageToJson } from '../protocol/jt808/index.js';
import { LocationJson } from './location-json.js';
import { positionRows } from '../store/rows.js';
import type { RowMirror } from './store.js';
import type { Pipeline, Uplink } from './types.js';

/** Replies whose body holds one location (0x0201, 0x0500): published on …/up/{msgId}. */
const REPLY_LOCATIONS = new Set([0x0201, 0x0500]);

/**
 * Publishes every decoded uplink on MQTT (topics in README): locations on …/location (QoS 1),
 * locations with alarm bits set also on …/alarm (QoS 1), each 0x0704 item as a location marked
 * `batch`, everything else on …/up/{msgId}. The store stage is not here yet: `submit` resolves
 * once the publish is queued (the bus buffers while the broker is away), which is what the
 * acknowledgement waits on until the track store makes it "durable in PostgreSQL".
 */
export class PublishPipeline implements Pipeline {
  private inFlight = 0;
  private readonly json = new LocationJson();
  private readonly drainListeners: (() => void)[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly maxPending: number,
    /** Without a store, positions go on to the rules from here (with one they go once committed). */
    private readonly positions?: RowMirror,
  ) {}

  get saturated(): boolean {
    return this.inFlight >= this.maxPending;
  }

  get pending(): number {
    return this.inFlight;
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  async submit(up: Uplink): Promise<void> {
    this.inFlight++;
    try {
      if (this.positions) {
        const rows = positionRows(up);
        if (rows.length > 0) this.positions.push(rows);
      }
      this.publish(up);
    } finally {
      this.inFlight--;
      if (this.inFlight === this.maxPending - 1) for (const l of this.drainListeners) l();
    }
  }

  private publish(up: Uplink): void {
    const m = up.message;
    const t = m.terminal;
    const receivedAt = new Date(up.receivedAt).toISOString();
    if (m.msgId === 0x0200 && m.body instanceof Location) {
      const payload = this.json.message(m, m.body, receivedAt);
      this.bus.publish(topics.location(t), payload, { qos: 1 });
      if (m.body.alarmValue !== 0) this.bus.publish(topics.alarm(t), payload, { qos: 1 });
      return;
    }
    if (REPLY_LOCATIONS.has(m.msgId)) {
      const loc = m.body?.location as Location | undefined;
      const payload = JSON.stringify({ ...messageToJson(m), receivedAt });
      this.bus.publish(topics.up(t, hexId(m.msgId)), payload, { qos: 1 });
      if (loc && loc.alarmValue !== 0) this.bus.publish(topics.alarm(t), payload, { qos: 1 });
      return;
    }
    if (m.msgId === 0x0704 && m.body) {
      const body = m.body as { batchType: number; locations: Location[] };
      for (const loc of body.locations) {
        const payload = this.json.batchItem(m, loc, body.batchType === 1, receivedAt);
        this.bus.publish(topics.location(t), payload, { qos: 1 });
        if (loc.alarmValue !== 0) this.bus.publish(topics.alarm(t), payload, { qos: 1 });
      }
      return;
    }
    this.bus.publish(topics.up(t, hexId(m.msgId)), JSON.stringify({ ...messageToJson(m), receivedAt }), { qos: 0 });
  }

  async close(): Promise<void> {}
}
