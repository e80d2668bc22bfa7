/**
 * Frames waiting for the platform's answer (JT/T 808 §2.4 retransmission): each is re-sent,
 * same bytes and same serial, when its answer does not come in time, with the timeout growing
 * as the standard says — T(n+1) = T(n) × (n+1), T(0) the reply timeout (parameter 0x0002) —
 * until the re-sends (parameter 0x0003) run out.
 */
export interface InFlight {
  msgId: number;
  serial: number;
  frame: Buffer;
  /** Monotonic ms of the latest write: the latency of an ack is measured from it. */
  sentAt: number;
  deadline: number;
  /** Re-sends so far. */
  resends: number;
  timeoutMs: number;
  /** Positions in the frame (0x0200: 1, 0x0704: n); 0 for frames not counted as location frames. */
  positions: number;
  /** It carries the SOS bit, which the terminal clears once the platform has answered. */
  emergency: boolean;
}

/** The in-flight frames of one terminal: a short array, searched linearly (a handful at a time). */
export class InFlightList {
  private items: InFlight[] = [];

  get size(): number {
    return this.items.length;
  }

  add(msgId: number, serial: number, frame: Buffer, now: number, timeoutMs: number, positions: number, emergency: boolean): void {
    this.items.push({ msgId, serial, frame, sentAt: now, deadline: now + timeoutMs, resends: 0, timeoutMs, positions, emergency });
  }

  /** Removes and returns the frame a reply answers (matched by reply id and reply serial). */
  take(msgId: number, serial: number): InFlight | undefined {
    const i = this.items.findIndex((f) => f.msgId === msgId && f.serial === serial);
    if (i < 0) return undefined;
    return this.items.splice(i, 1)[0];
  }

  /** Removes and returns the oldest frame (the list is full). */
  shift(): InFlight | undefined {
    return this.items.shift();
  }

  /** Earliest deadline, or Infinity. */
  nextDeadline(): number {
    let d = Infinity;
    for (const f of this.items) if (f.deadline < d) d = f.deadline;
    return d;
  }

  /**
   * For each frame past its deadline: `resend` (deadline moved on, T(n+1) = T(n) × (n+1)) or,
   * with its re-sends used up, `giveUp` (removed).
   */
  expire(now: number, maxResends: number, resend: (f: InFlight) => void, giveUp: (f: InFlight) => void): void {
    for (let i = 0; i < this.items.length; i++) {
      const f = this.items[i]!;
      if (f.deadline > now) continue;
      if (f.resends >= maxResends) {
        this.items.splice(i--, 1);
        giveUp(f);
        continue;
      }
      f.resends++;
      f.timeoutMs *= f.resends;
      f.sentAt = now;
      f.deadline = now + f.timeoutMs;
      resend(f);
    }
  }

  /** Empties the list (connection closed, run ended). */
  drain(): InFlight[] {
    const all = this.items;
    this.items = [];
    return all;
  }
}
