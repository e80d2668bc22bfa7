import type { Bus } from '../bus/types.js';
import { topics } from '../bus/types.js';
import type { Transport } from './transport.js';

/**
 * A terminal that speaks JT/T 808 over MQTT: frames arrive as payloads on jt808/{id}/up and
 * replies go out on jt808/{id}/down. One transport per topic id; the session is the same as for
 * TCP. Pausing is a no-op: MQTT delivery has its own flow control at the broker.
 */
export class MqttTransport implements Transport {
  readonly kind = 'mqtt' as const;
  readonly remote: string;
  closed = false;

  constructor(
    private readonly bus: Bus,
    private readonly topicId: string,
    private readonly onClose: () => void,
  ) {
    this.remote = `mqtt:${topics.ingressUp(topicId)}`;
  }

  write(frame: Buffer): boolean {
    if (this.closed) return false;
    this.bus.publish(topics.ingressDown(this.topicId), frame, { qos: 1 });
    return true;
  }

  pause(): void {}
  resume(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
