import net from 'node:net';
import { topics } from '../bus/types.js';
import { MESSAGES } from '../../protocols/jt808/index.js';
import type { FrameTally, Metrics } from '../metrics.js';
import { Reassembler, hexId } from '../protocol/jt808/index.js';
import { CommandService } from './commands.js';
import type { GatewayContext, GatewayDeps } from './context.js';
import { MqttTransport } from './mqtt-ingress.js';
import { Session, type SessionState } from './session.js';
import { TcpTransport } from './tcp.js';

/** Metric label for a message id: declared ids by name, the rest as "other" (bounded cardinality). */
function msgLabel(id: number): string {
  return MESSAGES.has(id) ? hexId(id) : 'other';
}

/** fleetgate_frames_total by message id and direction: a plain increment of the pair's tally. */
function frameCounter(metrics: Metrics): (msgId: number, direction: 'up' | 'down') => void {
  const tallies = new Map<number, FrameTally>();
  return (msgId, direction) => {
    const key = msgId * 2 + (direction === 'up' ? 0 : 1);
    let t = tallies.get(key);
    if (t === undefined) {
      const labels = { msg_id: msgLabel(msgId), direction };
      const name = `${labels.msg_id}|${direction}`;
      t = metrics.frameTally.get(name) ?? { labels, total: 0, reported: 0 };
      metrics.frameTally.set(name, t);
      tallies.set(key, t);
    }
    t.total++;
  };
}

/**
 * The terminal side: a TCP server (net) and MQTT ingress feeding sessions, the command service,
 * limits at the edge, and backpressure: when the pipeline is saturated every connection stops
 * being read until it drains, so memory does not grow with a stalled consumer.
 */
export class Gateway {
  readonly ctx: GatewayContext;
  private readonly server: net.Server;
  private readonly mqttSessions = new Map<string, Session>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(deps: GatewayDeps) {
    const now = deps.now ?? Date.now;
    const g = deps.config.gateway;
    const sessions = new Map<string, Session>();
    this.ctx = {
      ...deps, now, sessions, all: new Set(), archive: deps.archive, countFrame: frameCounter(deps.metrics),
      reassembler: new Reassembler({ timeoutMs: g.reassemblyTimeoutMs, maxBytesPerTerminal: g.reassemblyMaxBytesPerTerminal, maxBytesTotal: g.reassemblyMaxBytesTotal }),
      commands: new CommandService({ ...deps, sessions, now }),
    };
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.maxConnections = g.maxConnections;
    deps.pipeline.onDrain(() => this.resumeAll());
  }

  get commands(): CommandService {
    return this.ctx.commands;
  }

  /** Starts listening; resolves with the bound port (0 in the config = any free port). */
  async listen(): Promise<number> {
    const { host, port } = this.ctx.config.gateway;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
    const bound = (this.server.address() as net.AddressInfo).port;
    this.ctx.log.info({ port: bound }, 'JT/T 808 gateway listening');
    return bound;
  }

  /** Terminals that send raw frames on jt808/{id}/up get replies on jt808/{id}/down. */
  async attachMqttIngress(): Promise<void> {
    await this.ctx.bus.subscribe(topics.ingressUpAll, (topic, payload) => {
      const id = topic.split('/')[1]!;
      let session = this.mqttSessions.get(id);
      if (!session) {
        const transport = new MqttTransport(this.ctx.bus, id, () => this.mqttSessions.delete(id));
        session = this.open(transport);
        this.mqttSessions.set(id, session);
        this.ctx.metrics.connectionsTotal.inc({ transport: 'mqtt' });
      }
      session.onData(payload);
      if (this.ctx.pipeline.saturated) this.pauseAll();
    });
  }

  private accept(socket: net.Socket): void {
    const transport = new TcpTransport(socket, this.ctx.config.gateway.maxWriteQueueBytes);
    const session = this.open(transport);
    this.ctx.metrics.connectionsTotal.inc({ transport: 'tcp' });
    this.ctx.metrics.connections.inc({ transport: 'tcp' });
    if (this.paused) transport.pause();
    socket.on('data', (chunk) => {
      session.onData(chunk);
      if (this.ctx.pipeline.saturated) this.pauseAll();
    });
    socket.on('error', () => session.close('socket_error'));
    socket.on('close', () => {
      this.ctx.metrics.connections.dec({ transport: 'tcp' });
      session.close('peer_closed');
    });
  }

  private open(transport: TcpTransport | MqttTransport): Session {
    const session = new Session(transport, this.ctx);
    this.ctx.all.add(session);
    return session;
  }

  private pauseAll(): void {
    if (this.paused) return;
    this.paused = true;
    this.ctx.metrics.backpressure.inc({ kind: 'paused_reading' });
    for (const s of this.ctx.all) s.transport.pause();
  }

  private resumeAll(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const s of this.ctx.all) s.transport.resume();
  }

  private sweep(): void {
    const now = this.ctx.now();
    const counts: Record<SessionState, number> = { connected: 0, registered: 0, online: 0, closed: 0 };
    for (const s of this.ctx.all) {
      s.sweep(now);
      counts[s.state]++;
    }
    for (const [state, n] of Object.entries(counts)) if (state !== 'closed') this.ctx.metrics.sessions.set({ state }, n);
    const r = this.ctx.reassembler;
    for (const stale of r.dueForResend(now, this.ctx.config.gateway.reassemblyResendAfterMs)) {
      const s = this.ctx.sessions.get(stale.terminal);
      if (!s || stale.missing.length === 0) continue;
      // Ask for the missing packets: 0x8800 for multimedia (JT/T 808 §6.2), 0x8003 (2013+) for the rest.
      if (stale.msgId === 0x0801 && stale.mediaId !== undefined) s.send(0x8800, { mediaId: stale.mediaId, retransmit: stale.missing });
      else if (stale.firstSerial !== undefined && s.edition !== 2011) s.send(0x8003, { originalSerial: stale.firstSerial, packetIndexes: stale.missing });
    }
    for (const gone of r.expire(now)) this.ctx.log.warn({ terminal: gone.terminal, msgId: gone.msgId, missing: gone.missing }, 'sub-package set expired incomplete');
    this.ctx.metrics.reassembly.set(r.setsInProgress);
    this.ctx.metrics.reassemblyBytes.set(r.bytesHeld);
    this.ctx.metrics.queueDepth.set({ queue: 'pipeline' }, this.ctx.pipeline.pending);
    this.ctx.metrics.queueDepth.set({ queue: 'mqtt_buffer' }, this.ctx.bus.stats.buffered);
  }

  /** Online sessions (for the API). */
  online(): Session[] {
    return [...this.ctx.sessions.values()];
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.ctx.commands.close();
    for (const s of [...this.ctx.all]) s.close('shutdown');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
