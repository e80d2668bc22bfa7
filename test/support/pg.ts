/** Test support: throwaway PostgreSQL databases on the real server, and a TCP proxy to cut. */
import net from 'node:net';
import { PostgresSql } from '../../src/store/sql.js';

export const PG_ADMIN = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function createDatabase(prefix = 'fg_test'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new PostgresSql(PG_ADMIN);
  await admin.exec(`create database ${name}`);
  await admin.close();
  const url = PG_ADMIN.replace(/\/[^/]*$/, `/${name}`);
  return {
    url, name,
    async drop() {
      const a = new PostgresSql(PG_ADMIN);
      await a.exec(`drop database if exists ${name} with (force)`);
      await a.close();
    },
  };
}

/** A TCP proxy to PostgreSQL that a test can cut (every connection dropped, new ones refused) and restore. */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(port || this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every connection and stops listening: the database is "unreachable". */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
