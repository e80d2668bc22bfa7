import { performance } from 'node:perf_hooks';

/** Something the scheduler wakes: it does whatever is due and asks for its next wake itself. */
export interface Wakeable {
  wake(nowMs: number): void;
}

interface Entry {
  at: number;
  seq: number;
  target: Wakeable;
}

/**
 * One timer for a whole fleet. Ten thousand terminals with a report timer, a heartbeat timer and
 * resend timers each would be tens of thousands of Node timers; here every terminal keeps one
 * entry in a binary heap ordered by due time, and a single setTimeout is armed for the earliest.
 * A terminal that reschedules leaves its old entry behind; it is skipped when it comes up
 * (lazy deletion: cheaper than finding it in the heap).
 */
export class Scheduler {
  private readonly heap: Entry[] = [];
  /** The one live due time of each target; an entry with another time is stale. */
  private readonly due = new WeakMap<Wakeable, number>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    /** Monotonic milliseconds. */
    readonly now: () => number = () => performance.now(),
    /** Entries due within this many ms of each other run in one pass (fewer timer firings). */
    private readonly resolutionMs = 2,
  ) {}

  /** Wake `target` at `atMs` (monotonic ms), replacing its previous wake. */
  schedule(target: Wakeable, atMs: number): void {
    if (this.stopped) return;
    if (this.due.get(target) === atMs) return;
    this.due.set(target, atMs);
    this.push({ at: atMs, seq: this.seq++, target });
    if (atMs < this.timerAt) this.arm(atMs);
  }

  /** Forget `target`'s wake. */
  cancel(target: Wakeable): void {
    this.due.delete(target);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
  }

  private arm(atMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = atMs;
    this.timer = setTimeout(() => this.run(), Math.max(0, atMs - this.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    // Bounded pass: a target that keeps rescheduling itself into the past cannot starve the loop.
    let budget = this.heap.length + 1024;
    while (this.heap.length > 0 && this.heap[0]!.at <= now + this.resolutionMs && budget-- > 0) {
      const e = this.pop();
      if (this.due.get(e.target) !== e.at) continue; // stale
      this.due.delete(e.target);
      // Woken up to resolutionMs early: tell the target it is its due time, so it acts now.
      e.target.wake(Math.max(now, e.at));
    }
    if (this.heap.length > 0 && !this.stopped) this.arm(this.heap[0]!.at);
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    let i = h.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The run's overall position rate (`--rate`), as a generic cell rate algorithm with one second
 * of burst. Every caller books its own slot and is told how long to wait for it; it then sends
 * at that time without asking again. Booking (rather than "try again when there is a token")
 * keeps thousands of waiting terminals from waking every few milliseconds to retry, and a
 * postponed report stretches that terminal's interval, so offered load above the cap settles
 * at the cap without a backlog growing.
 */
export class RateLimiter {
  /** Theoretical arrival time: when the positions booked so far have all been paid for. */
  private tat: number;
  private readonly costMs: number;
  private readonly burstMs = 1000;

  constructor(perSecond: number, now: number) {
    this.costMs = 1000 / perSecond;
    this.tat = now;
  }

  /** Books n positions; returns the ms to wait before sending them (0: now). */
  reserve(n: number, now: number): number {
    const start = Math.max(this.tat, now);
    const sendAt = Math.max(now, start - this.burstMs);
    this.tat = start + n * this.costMs;
    return sendAt - now;
  }
}

/** Something waiting for a connection slot. */
export interface GateWaiter {
  /** Starts connecting in the slot just granted; false when it no longer wants one (stopped). */
  connectNow(): boolean;
}

/**
 * Limits terminals in the connect-and-authenticate phase at once, so ten thousand terminals
 * (or all of them reconnecting after a gateway restart) arrive as a stream, not a stampede.
 * A terminal gives its slot back once online or once its attempt failed.
 */
export class ConnectGate {
  private active = 0;
  private waiting: GateWaiter[] = [];
  private head = 0;

  constructor(private readonly concurrency: number) {}

  acquire(w: GateWaiter): void {
    if (this.active < this.concurrency) this.grant(w);
    else this.waiting.push(w);
  }

  release(): void {
    this.active = Math.max(0, this.active - 1);
    while (this.active < this.concurrency && this.head < this.waiting.length) this.grant(this.waiting[this.head++]!);
    // Compact now and then instead of shifting the array on every grant.
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  private grant(w: GateWaiter): void {
    this.active++;
    if (!w.connectNow()) this.active--;
  }
}
