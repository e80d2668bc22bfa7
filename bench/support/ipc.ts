/**
 * Request/reply over the fork IPC channel, so a benchmark's main process can drive its child
 * processes (servers and clients) step by step and collect figures measured inside them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** Pushed by a child without being asked (progress). */
interface Pushed {
  event: string;
  data: unknown;
}

export type Handler = (args: unknown) => unknown;

/** The roles a child can play (bench/support/child.ts dispatches on them). */
export type Role = 'gateway' | 'bare' | 'clients' | 'publisher';

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));

/** A child process answering requests; `stop` ends it and waits for its exit. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;
  /** Events the child pushes with `emitEvent`. */
  onEvent: (event: string, data: unknown) => void = () => undefined;

  private constructor(readonly name: string, private readonly proc: ChildProcess) {
    proc.on('message', (raw) => {
      if ('event' in (raw as object)) return this.onEvent((raw as Pushed).event, (raw as Pushed).data);
      const reply = raw as Reply;
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.error !== undefined) p.reject(new Error(`${name}: ${reply.error}`));
      else p.resolve(reply.result);
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (code ${code}) with a request pending`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  /**
   * Forks `entry` (bench/support/child.js by default) in `role`. The child's stdout goes to our
   * stderr: the benchmark's stdout carries its one JSON line and nothing else.
   */
  static start(name: string, role: string, execArgv: string[] = [], entry = CHILD_ENTRY): Child {
    const proc = fork(entry, [role], { execArgv, stdio: ['ignore', 2, 'inherit', 'ipc'] });
    return new Child(name, proc);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  ask<T>(cmd: string, args?: unknown, timeoutMs = 180_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: '${cmd}' got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to close what it holds and exit; kills it if it has not exited in time. */
  async stop(timeoutMs = 60_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await this.ask('exit', undefined, timeoutMs).catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * In a child: answers requests with `handlers`. 'exit' runs its handler (closing sockets and
 * servers), replies, then exits the process.
 */
export function serveRequests(handlers: Record<string, Handler>): void {
  process.on('message', (raw) => {
    const req = raw as Request;
    const handler = handlers[req.cmd];
    const done = (reply: Reply): void => {
      process.send?.(reply, undefined, {}, () => {
        if (req.cmd === 'exit') process.exit(0);
      });
    };
    if (!handler) return done({ id: req.id, error: `unknown command '${req.cmd}'` });
    Promise.resolve()
      .then(() => handler(req.args))
      .then(
        (result) => done({ id: req.id, result: result ?? null }),
        (e: unknown) => done({ id: req.id, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
      );
  });
  // The parent going away (a crashed benchmark) must not leave this child holding sockets.
  process.on('disconnect', () => process.exit(1));
}

/** In a child: pushes an event to the parent (progress, not an answer). */
export function emitEvent(event: string, data: unknown): void {
  process.send?.({ event, data } satisfies Pushed);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Progress for the reader, on stderr (stdout carries only the result line). */
export function progress(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}
