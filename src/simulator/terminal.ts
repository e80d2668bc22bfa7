import type { LocationInput, Param } from '../../protocols/jt808/index.js';
import type { Jt808Message } from '../protocol/jt808/index.js';
import type { TerminalEnv } from './behaviour.js';
import { answerCommand, type CommandHost } from './commands.js';
import { TerminalConnection } from './connection.js';
import { plateOf, type TerminalIdentity } from './identity.js';
import type { InFlight } from './inflight.js';
import { Random } from './random.js';
import type { RoutePath } from './route.js';
import { Timeline } from './timeline.js';
import { Vehicle, type DrivingRules } from './vehicle.js';

/**
 * One virtual device: a vehicle driving its route and a JT/T 808 terminal in it. Once online it
 * reports positions (0x0200, every `intervalS` with ACC on, less often parked) and heartbeats
 * (0x0002) on its timeline, answers platform commands like a real device, and keeps positions
 * through outages and disconnections, uploading them afterwards as 0x0704 blind-area batches.
 * Session, acks, re-sends and reconnects are TerminalConnection's.
 */
export class VirtualTerminal extends TerminalConnection implements CommandHost {
  readonly vehicle: Vehicle;
  private readonly timeline: Timeline;
  /** Positions kept while the terminal cannot send (blind area), oldest first. */
  private queue: LocationInput[] | undefined;
  /** The rate cap booked the next batch for this monotonic time. */
  private flushAfter = 0;
  /** Positions of that booked batch (0: none booked). */
  private flushBooked = 0;
  /** The next report already has its slot under the rate cap. */
  private reportBooked = false;
  /** The run is ending: no new reports, only answers and acks. */
  private quiet = false;

  constructor(
    identity: TerminalIdentity,
    path: RoutePath,
    env: TerminalEnv,
    private readonly rng: Random = Random.derive(env.seed, identity.number),
  ) {
    super(identity, env);
    this.vehicle = new Vehicle(path, rng, env.epochMs);
    this.timeline = new Timeline(env.epochMs, env.behaviour, rng);
  }

  protected get radioDown(): boolean {
    return this.timeline.signalLost;
  }

  /** Logged in and radio up: frames can go out. */
  get canSend(): boolean {
    return this.state === 'online' && !this.timeline.signalLost;
  }

  /** Positions waiting in the blind-area store. */
  get queued(): number {
    return this.queue?.length ?? 0;
  }

  /** Forces a mobile-network outage of `durationS` simulated seconds from now (tests, demos). */
  loseSignal(durationS: number): void {
    if (this.timeline.forceLoss(this.timeline.virtual(this.env.scheduler.now()), durationS)) this.env.stats.signalLosses++;
    this.reschedule();
  }

  protected onOnline(now: number): void {
    this.timeline.begin(now); // the first time only: the timeline runs on across reconnects
    this.runDue(now);
    this.flushQueue(now);
  }

  protected onCommand(m: Jt808Message): void {
    if (answerCommand(this, m)) this.env.stats.countCommand(m.msgId);
  }

  protected onLocationAnswered(f: InFlight, result: number, now: number): void {
    const stats = this.env.stats;
    stats.acked++;
    if (result !== 0 && result !== 4) stats.ackedWithError++; // 4: alarm handled, a success
    stats.ackLatency.record(now - f.sentAt);
    if (f.emergency) this.vehicle.clearEmergency(); // §4.3 bit 0: cleared once answered
  }

  /** Stops producing (the run drains its acks before closing). */
  quiesce(): void {
    this.quiet = true;
  }

  protected nextDue(): number {
    if (this.quiet) return Infinity;
    const next = this.timeline.nextEventMono();
    return this.canSend && this.queued > 0 ? Math.min(next, this.flushAfter) : next;
  }

  /** Plays the timeline's events up to now in virtual-time order: outages, reports, heartbeats. */
  protected runDue(now: number): void {
    if (this.quiet) return;
    const tl = this.timeline;
    const vNow = tl.virtual(now);
    for (;;) {
      const event = tl.nextEvent(vNow);
      if (event === 'none') break;
      if (event === 'signalLost') this.env.stats.signalLosses++;
      else if (event === 'signalBack') this.flushQueue(now); // the backlog goes before newer reports
      else if (event === 'heartbeat') {
        if (this.canSend) this.send(0x0002, undefined, false);
      } else if (event === 'report' && !this.report(tl.nextReportVt, now)) break;
    }
    if (this.canSend && this.queued > 0) this.flushQueue(now);
  }

  private rules(): DrivingRules {
    return { maxSpeedKmh: this.settings.maxSpeedKmh, alarmProbability: this.env.behaviour.alarmProbability };
  }

  /** One position at virtual time vt: sent as 0x0200 when possible, else kept. False: postponed by the rate cap. */
  private report(vt: number, now: number): boolean {
    if (this.canSend && this.env.limiter && !this.reportBooked) {
      const waitMs = this.env.limiter.reserve(1, now);
      if (waitMs > 0) {
        this.reportBooked = true;
        this.timeline.postponeReport(this.timeline.virtual(now + waitMs));
        return false;
      }
    }
    this.reportBooked = false;
    const rules = this.rules();
    this.vehicle.step(vt, rules);
    // Always two draws, signal or not, so an outage does not shift the rest of the stream.
    const signal = this.timeline.signalLost ? this.rng.int(0, 5) : this.rng.int(12, 31);
    const loc = this.vehicle.location(vt, rules, signal, this.rng.int(8, 24));
    if (!this.canSend || !this.send(0x0200, loc, true, 1, this.vehicle.emergency)) this.keep(loc);
    this.timeline.reported(vt, this.intervalAfter(vt));
    return true;
  }

  /** The interval after a report: temporary tracking (0x8202), else by the ACC state just reported. */
  private intervalAfter(vt: number): number {
    return this.timeline.trackingInterval(vt) ?? (this.vehicle.accOn ? this.settings.intervalS : this.settings.parkedIntervalS);
  }

  private keep(loc: LocationInput): void {
    const q = (this.queue ??= []);
    if (q.length >= this.env.behaviour.maxQueued) {
      q.shift();
      this.env.stats.locationsDropped++;
    }
    q.push(loc);
    this.env.stats.locationsQueued++;
  }

  /** Uploads kept positions as 0x0704 batches (type 1, blind-area re-report), oldest first. */
  private flushQueue(now: number): void {
    if (now < this.flushAfter) return; // a batch is booked for later under the rate cap
    const q = this.queue;
    while (q && q.length > 0 && this.canSend) {
      let n = Math.min(this.env.behaviour.batchSize, q.length);
      if (this.flushBooked > 0) n = Math.min(n, this.flushBooked);
      else if (this.env.limiter) {
        const waitMs = this.env.limiter.reserve(n, now);
        if (waitMs > 0) {
          this.flushAfter = now + waitMs;
          this.flushBooked = n;
          return;
        }
      }
      this.flushBooked = 0;
      // A batch must fit one frame (1023-byte body): halve it until it does.
      while (!this.send(0x0704, { batchType: 1, locations: q.slice(0, n) }, true, n)) {
        if (n === 1 || !this.canSend) {
          this.flushAfter = now + 1000; // congested or closing: try again in a second
          return;
        }
        n = Math.ceil(n / 2);
      }
      q.splice(0, n);
    }
  }

  // CommandHost

  reply(msgId: number, body: Record<string, unknown>): void {
    this.send(msgId, body, false);
  }

  currentLocation(): LocationInput {
    const vt = this.timeline.started ? this.timeline.virtual(this.env.scheduler.now()) : this.env.epochMs;
    return this.vehicle.location(vt, this.rules(), 24, 14);
  }

  fixedParams(): Param[] {
    return [
      { id: 0x0013, value: this.env.host },
      { id: 0x0018, value: this.env.port },
      { id: 0x0080, value: Math.round(this.vehicle.odometerKm * 10) }, // 1/10 km
      { id: 0x0081, value: 37 }, // Shandong
      { id: 0x0082, value: 100 }, // Jinan
      { id: 0x0083, value: plateOf(this.identity.number) },
      { id: 0x0084, value: 1 },
    ];
  }

  settingsChanged(ids: readonly number[]): void {
    const vNow = this.timeline.virtual(this.env.scheduler.now());
    if (ids.includes(0x0029) || ids.includes(0x0027)) this.timeline.retimeReport(vNow, this.intervalAfter(this.timeline.lastReportVt));
    if (ids.includes(0x0001)) this.timeline.retimeHeartbeat(vNow, this.settings.heartbeatS);
  }

  track(intervalS: number, validityS: number): void {
    const vNow = this.timeline.virtual(this.env.scheduler.now());
    this.timeline.track(vNow, intervalS, validityS);
    this.timeline.retimeReport(vNow, this.intervalAfter(this.timeline.lastReportVt));
  }

  confirmAlarm(): void {
    this.vehicle.clearEmergency();
  }
}
