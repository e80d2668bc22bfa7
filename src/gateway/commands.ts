import { randomUUID } from 'node:crypto';
import { MESSAGES, MESSAGES_BY_NAME } from '../../protocols/jt808/index.js';
import { topics, type Bus } from '../bus/types.js';
import type { Config } from '../config.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { encodeMessage, hexId, messageToJson, normalise, type Jt808Message } from '../protocol/jt808/index.js';
import type { TerminalStore } from '../store/types.js';
import type { Session } from './session.js';

export type CommandStatus = 'queued' | 'sent' | 'acknowledged' | 'answered' | 'timeout' | 'failed' | 'expired';

/** A downlink command and what became of it (what the API and …/cmd/res return). */
export interface CommandRecord {
  id: string;
  terminal: string;
  msgId: string;
  status: CommandStatus;
  attempts: number;
  /** Serials of the frames sent (several when the body was split). */
  serials: number[];
  createdAt: string;
  sentAt?: string;
  finishedAt?: string;
  /** The terminal's reply, decoded (JSON form). */
  reply?: Record<string, unknown>;
  /** For a general reply 0x0001: 0 success, 1 failure, 2 message error, 3 not supported. */
  result?: number;
  error?: string;
  requestId?: string;
}

export interface CommandRequest {
  terminal: string;
  /** Number, `"0x8103"`, or a declaration name (`setParams`). */
  msgId: number | string;
  body?: Record<string, unknown> | null;
  requestId?: string;
  id?: string;
}

interface Pending {
  record: CommandRecord;
  msgId: number;
  /** The body as given (JSON-compatible), to re-queue if the terminal goes offline. */
  body: Record<string, unknown> | null;
  frames: Buffer[];
  /** Reply ids that answer it, and the one that ends it (0x8500: 0x0001 first, 0x0500 last). */
  replies: ReadonlySet<number>;
  final: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface TerminalQueue {
  inFlight: Pending[];
  waiting: Pending[];
}

/** Replies that carry no serial: matched to the oldest pending command they answer. */
const UNSERIALED_REPLIES = new Set([0x0107, 0x0608, 0x0702]);
/** Commands whose general reply is only a receipt: the command ends with this later reply. */
const FINAL_REPLY: Record<number, number> = { 0x8500: 0x0500 };

export function resolveMsgId(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (/^0x[0-9a-f]{1,4}$/i.test(v)) return parseInt(v, 16);
  return MESSAGES_BY_NAME.get(v)?.id;
}

/**
 * Downlink commands: send to a terminal by id, match its reply (0x0001 by serial and id, or the
 * specific reply), retry on timeout, keep a window of commands in flight per terminal, and hold
 * commands for offline terminals in the store's queue until their next authentication.
 */
export class CommandService {
  private readonly records = new Map<string, { record: CommandRecord; done: Promise<CommandRecord> }>();
  private readonly queues = new Map<string, TerminalQueue>();
  private readonly resolvers = new Map<string, (r: CommandRecord) => void>();

  constructor(
    private readonly deps: {
      config: Readonly<Config>;
      log: Log;
      metrics: Metrics;
      store: TerminalStore;
      bus: Bus;
      sessions: Map<string, Session>;
      now: () => number;
    },
  ) {}

  /** Accepts a command; `done` settles when it is answered, times out, fails, or expires. */
  async submit(req: CommandRequest): Promise<{ record: CommandRecord; done: Promise<CommandRecord> }> {
    const msgId = resolveMsgId(req.msgId);
    const decl = msgId === undefined ? undefined : MESSAGES.get(msgId);
    if (msgId === undefined || !decl || decl.direction !== 'down') {
      throw Object.assign(new Error(`"${String(req.msgId)}" is not a declared downlink message`), { code: 'FG_ERR_BAD_COMMAND' });
    }
    const record: CommandRecord = {
      id: req.id ?? randomUUID(), terminal: req.terminal, msgId: hexId(msgId), status: 'queued', attempts: 0, serials: [],
      createdAt: new Date(this.deps.now()).toISOString(), requestId: req.requestId,
    };
    // Encode once now, with a placeholder edition, so a body that does not fit is refused at once.
    encodeMessage({ msgId, terminal: '0', serial: 0, version: 2013, body: req.body ?? undefined });
    let resolve!: (r: CommandRecord) => void;
    const done = new Promise<CommandRecord>((r) => (resolve = r));
    this.records.set(record.id, { record, done });
    this.resolvers.set(record.id, resolve);
    this.log(record);
    const session = this.deps.sessions.get(req.terminal);
    if (session) {
      this.dispatch(session, record, msgId, req.body ?? null);
    } else {
      await this.deps.store.enqueueCommand({
        id: record.id, terminal: req.terminal, msgId, body: (normalise(req.body ?? null) as Record<string, unknown> | null),
        createdAt: record.createdAt, expiresAt: new Date(this.deps.now() + this.deps.config.commands.offlineTtlMs).toISOString(),
        requestId: req.requestId,
      });
      this.deps.metrics.commands.inc({ outcome: 'queued_offline' });
    }
    return { record, done };
  }

  get(id: string): CommandRecord | undefined {
    return this.records.get(id)?.record;
  }

  /** A terminal authenticated: send what waited for it. */
  async onOnline(session: Session): Promise<void> {
    const queued = await this.deps.store.takeCommands(session.terminal!, new Date(this.deps.now()));
    for (const q of queued) {
      let entry = this.records.get(q.id);
      if (!entry) {
        // Queued by an earlier process: recreate its record.
        let resolve!: (r: CommandRecord) => void;
        const done = new Promise<CommandRecord>((r) => (resolve = r));
        entry = { record: { id: q.id, terminal: q.terminal, msgId: hexId(q.msgId), status: 'queued', attempts: 0, serials: [], createdAt: q.createdAt, requestId: q.requestId }, done };
        this.records.set(q.id, entry);
        this.resolvers.set(q.id, resolve);
      }
      this.dispatch(session, entry.record, q.msgId, q.body);
    }
  }

  /** A terminal went offline: commands in flight go back to the offline queue. */
  onOffline(terminal: string): void {
    const q = this.queues.get(terminal);
    if (!q) return;
    this.queues.delete(terminal);
    for (const p of [...q.inFlight, ...q.waiting]) {
      clearTimeout(p.timer);
      p.record.status = 'queued';
      void this.deps.store.enqueueCommand({
        id: p.record.id, terminal, msgId: p.msgId, body: normalise(p.body) as Record<string, unknown> | null, createdAt: p.record.createdAt,
        expiresAt: new Date(this.deps.now() + this.deps.config.commands.offlineTtlMs).toISOString(), requestId: p.record.requestId,
      });
    }
  }

  /** Routes a terminal's reply to the command it answers; returns whether one matched. */
  onReply(session: Session, m: Jt808Message): boolean {
    const q = this.queues.get(session.terminal!);
    if (!q || !m.body) return false;
    const b = m.body as { replySerial?: number; replyMsgId?: number; result?: number };
    const p = q.inFlight.find((x) => {
      if (!x.replies.has(m.msgId)) return false;
      if (m.msgId === 0x0001) return b.replyMsgId === x.msgId && x.record.serials.includes(b.replySerial!);
      if (UNSERIALED_REPLIES.has(m.msgId)) return true;
      return x.record.serials.includes(b.replySerial!);
    });
    if (!p) return false;
    p.record.reply = messageToJson(m);
    if (m.msgId === 0x0001) p.record.result = b.result;
    if (p.final !== undefined && m.msgId !== p.final) {
      p.record.status = 'acknowledged';
      return true;
    }
    this.finish(session, p, 'answered');
    return true;
  }

  /** 0x0801 complete: answer with 0x8800 (no list: everything arrived). */
  mediaComplete(session: Session, m: Jt808Message): void {
    session.send(0x8800, { mediaId: m.body?.mediaId ?? 0 });
  }

  /** 0x0005 (2019): the terminal asks again for packets of a split downlink. */
  resendParts(session: Session, originalSerial: number, indexes: number[]): void {
    const q = this.queues.get(session.terminal!);
    const p = q?.inFlight.find((x) => x.record.serials[0] === originalSerial);
    if (!p) return;
    const frames = indexes.map((i) => p.frames[i - 1]).filter((f): f is Buffer => f !== undefined);
    session.writeFrames(frames, p.msgId);
  }

  private dispatch(session: Session, record: CommandRecord, msgId: number, body: Record<string, unknown> | null): void {
    const decl = MESSAGES.get(msgId)!;
    const replies = new Set(decl.replies && decl.replies.length > 0 ? decl.replies : [0x0001]);
    if (FINAL_REPLY[msgId] !== undefined) replies.add(0x0001);
    const serial = session.nextSerial(0);
    let frames: Buffer[];
    try {
      const enc = encodeMessage({ msgId, terminal: session.terminal!, serial, version: session.edition, body: body ?? undefined });
      frames = enc.frames;
      record.serials = enc.serials;
      session.nextSerial(frames.length);
    } catch (e) {
      record.status = 'failed';
      record.error = (e as Error).message;
      this.settle(record);
      return;
    }
    const p: Pending = { record, msgId, body, frames, replies, final: FINAL_REPLY[msgId], timer: undefined };
    const q = this.queues.get(session.terminal!) ?? { inFlight: [], waiting: [] };
    this.queues.set(session.terminal!, q);
    if (q.inFlight.length < this.deps.config.commands.windowPerTerminal) this.transmit(session, q, p);
    else q.waiting.push(p);
    this.deps.metrics.queueDepth.set({ queue: 'commands_waiting' }, this.countWaiting());
  }

  private transmit(session: Session, q: TerminalQueue, p: Pending): void {
    if (!q.inFlight.includes(p)) q.inFlight.push(p);
    p.record.attempts++;
    p.record.status = p.record.status === 'acknowledged' ? 'acknowledged' : 'sent';
    p.record.sentAt ??= new Date(this.deps.now()).toISOString();
    session.writeFrames(p.frames, p.msgId);
    // JT/T 808 §2.4: the n-th wait is n times the first (T(N+1) = T(N) × (N+1)).
    p.timer = setTimeout(() => this.onTimeout(session, q, p), this.deps.config.commands.replyTimeoutMs * p.record.attempts);
    p.timer.unref?.();
  }

  private onTimeout(session: Session, q: TerminalQueue, p: Pending): void {
    if (session.state === 'closed') return;
    if (p.record.attempts <= this.deps.config.commands.retries && p.record.status !== 'acknowledged') {
      this.deps.metrics.commands.inc({ outcome: 'retried' });
      this.transmit(session, q, p); // same frames, same serials: a duplicate is recognisable
      return;
    }
    this.finish(session, p, p.record.status === 'acknowledged' ? 'acknowledged' : 'timeout');
  }

  private finish(session: Session, p: Pending, status: CommandStatus): void {
    clearTimeout(p.timer);
    const q = this.queues.get(session.terminal!);
    if (q) {
      q.inFlight = q.inFlight.filter((x) => x !== p);
      const next = q.waiting.shift();
      if (next) this.transmit(session, q, next);
      if (q.inFlight.length === 0 && q.waiting.length === 0) this.queues.delete(session.terminal!);
    }
    p.record.status = status;
    this.settle(p.record);
  }

  /** The command log is a record, not a gate: a failing write is logged, never blocks a command. */
  private log(record: CommandRecord): void {
    const store = this.deps.store;
    if (!store.logCommand) return;
    store.logCommand({ ...record, msgId: parseInt(record.msgId, 16) }).catch((e: Error) =>
      this.deps.log.warn({ err: e.message, command: record.id }, 'command log write failed'),
    );
  }

  private settle(record: CommandRecord): void {
    record.finishedAt = new Date(this.deps.now()).toISOString();
    this.log(record);
    this.deps.metrics.commands.inc({ outcome: record.status });
    this.resolvers.get(record.id)?.(record);
    this.resolvers.delete(record.id);
    if (record.requestId !== undefined) {
      this.deps.bus.publish(topics.cmdRes(record.terminal), JSON.stringify(record), { qos: 1 });
    }
    // Keep finished records for polling for a while, then forget them.
    const t = setTimeout(() => this.records.delete(record.id), 3600_000);
    t.unref?.();
  }

  private countWaiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting.length;
    return n;
  }

  close(): void {
    for (const q of this.queues.values()) for (const p of q.inFlight) clearTimeout(p.timer);
    this.queues.clear();
  }
}
