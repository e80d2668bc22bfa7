/**
 * Baselines: a bare `net.createServer` in its own process that holds idle connections (read,
 * data dropped) or echoes every byte back — the floor the gateway is compared with.
 */
import net from 'node:net';
import { serveRequests } from './ipc.js';
import { cpuUs, sampleMemory, type MemorySample } from './memory.js';

const GREETING = Buffer.from([0]);

export interface BareArgs {
  mode: 'hold' | 'echo';
}

export interface BareSample extends MemorySample {
  connections: number;
}

export function runBareServer(): void {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  serveRequests({
    start: async (raw): Promise<{ port: number }> => {
      const { mode } = raw as BareArgs;
      // Like the gateway: no Nagle delay, every socket tracked, reading with a 'data' listener.
      server = net.createServer({ noDelay: true }, (socket) => {
        sockets.add(socket);
        socket.write(GREETING); // tells the client it was accepted (see clients.ts)
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
        if (mode === 'echo') socket.on('data', (chunk) => socket.write(chunk));
        else socket.on('data', () => undefined);
      });
      const s = server;
      await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
      return { port: (s.address() as net.AddressInfo).port };
    },
    measure: async (): Promise<BareSample> => ({ ...(await sampleMemory()), connections: sockets.size }),
    cpu: () => cpuUs(),
    exit: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  });
}
