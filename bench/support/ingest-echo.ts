/**
 * The floor under any JT/T 808 gateway on this machine: what it costs just to move one frame up
 * and one reply down over loopback TCP, per position, with no decoding, no database and no
 * logic — a bare server that answers every 60-byte "frame" with a 20-byte "ack", and a client
 * spreading frames over many sockets at a fixed rate (as the terminals do). CPU is measured in
 * both processes (user + system), so the figure includes the kernel's TCP work, and machine-wide
 * (/proc/stat: softirq and every other process included).
 *
 * With `replyAfterMs` the server holds its replies and writes them every that many
 * milliseconds, as a gateway that acknowledges only committed batches must: the frame and its
 * reply no longer travel together, so TCP sends its own ACKs and each side wakes twice.
 */
import net from 'node:net';
import { IngestChild, machineCpu, serveIngestRequests, sleep } from './ingest-proc.js';

export interface EchoRunArgs {
  ratePerSec: number;
  seconds: number;
}

export interface EchoRunResult {
  sent: number;
  acked: number;
  seconds: number;
  clientCpuUs: number;
}

const FRAME = 60;
const ACK = 20;

export function runEchoServer(): void {
  let server: net.Server | undefined;
  let flusher: NodeJS.Timeout | undefined;
  serveIngestRequests({
    start: (raw) => new Promise<number>((resolve) => {
      const replyAfterMs = (raw as { replyAfterMs?: number } | undefined)?.replyAfterMs ?? 0;
      const ack = Buffer.alloc(ACK, 1);
      let held: net.Socket[] = [];
      if (replyAfterMs > 0) {
        flusher = setInterval(() => {
          const due = held;
          held = [];
          for (const s of due) s.write(ack);
        }, replyAfterMs);
      }
      server = net.createServer({ noDelay: true }, (s) => {
        let carry = 0;
        s.on('data', (c: Buffer) => {
          carry += c.length;
          for (; carry >= FRAME; carry -= FRAME) {
            if (replyAfterMs > 0) held.push(s);
            else s.write(ack);
          }
        });
        s.on('error', () => undefined);
      });
      server.listen(0, '127.0.0.1', () => resolve((server!.address() as net.AddressInfo).port));
    }),
    cpuUs: () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
    exit: () => {
      clearInterval(flusher);
      return null;
    },
  });
}

export function runEchoClient(): void {
  let sockets: net.Socket[] = [];
  let acked = 0;
  serveIngestRequests({
    connect: async (raw) => {
      const a = raw as { port: number; sockets: number };
      sockets = await Promise.all(Array.from({ length: a.sockets }, () => new Promise<net.Socket>((resolve) => {
        const s = net.connect(a.port, '127.0.0.1', () => resolve(s));
        s.setNoDelay(true);
        s.on('data', (c: Buffer) => (acked += c.length / ACK));
        // A reset socket counts as unanswered frames (ackedPerSec shows it), not as a crash.
        s.on('error', () => undefined);
      })));
      return null;
    },
    run: async (raw): Promise<EchoRunResult> => {
      const a = raw as EchoRunArgs;
      const frame = Buffer.alloc(FRAME, 2);
      let sent = 0;
      let carry = 0;
      acked = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const timer = setInterval(() => {
        for (carry += a.ratePerSec / 100; carry >= 1; carry--) sockets[sent++ % sockets.length]!.write(frame);
      }, 10);
      await sleep(a.seconds * 1000);
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      await sleep(200); // the last acks
      const c = process.cpuUsage(c0);
      return { sent, acked, seconds, clientCpuUs: c.user + c.system };
    },
    exit: () => {
      for (const s of sockets) s.destroy();
      return null;
    },
  });
}

export interface TcpFloor {
  sockets: number;
  ratePerSec: number;
  /** 0: each reply written as its frame is read; else replies held and written every that many ms. */
  replyAfterMs: number;
  ackedPerSec: number;
  /** CPU (client + server, user + system) per frame-and-ack round trip. */
  cpuUsPerPosition: number;
  /** The whole machine's busy time per round trip (softirq and everything else included). */
  machineUsPerPosition: number;
  /** Of all cores, during the run. */
  machineBusyPercentOfAllCores: number;
}

/** Runs the bare server and client in two processes and returns the CPU cost per round trip. */
export async function measureTcpFloor(sockets: number, ratePerSec: number, seconds: number, replyAfterMs = 0): Promise<TcpFloor> {
  const server = IngestChild.start('echo server', 'echoServer');
  const client = IngestChild.start('echo client', 'echoClient');
  try {
    const port = await server.ask<number>('start', { replyAfterMs });
    await client.ask('connect', { port, sockets });
    const s0 = await server.ask<number>('cpuUs');
    const m0 = machineCpu();
    const r = await client.ask<EchoRunResult>('run', { ratePerSec, seconds } satisfies EchoRunArgs);
    const m1 = machineCpu();
    const s1 = await server.ask<number>('cpuUs');
    return {
      sockets, ratePerSec, replyAfterMs,
      ackedPerSec: Math.round(r.acked / r.seconds),
      cpuUsPerPosition: +((r.clientCpuUs + (s1 - s0)) / r.sent).toFixed(1),
      machineUsPerPosition: +(((m1.busy - m0.busy) * 1e6) / r.sent).toFixed(1),
      machineBusyPercentOfAllCores: Math.round((100 * (m1.busy - m0.busy)) / (m1.total - m0.total)),
    };
  } finally {
    await client.stop(5000);
    await server.stop(5000);
  }
}
