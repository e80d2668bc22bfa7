import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * The few things fleetgate asks of a SQL database, over PostgreSQL (node-postgres pool) and
 * the embedded PGlite alike: the same migrations and queries run on both.
 */
export interface Sql {
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Several statements, no parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection. */
  tx<T>(fn: (q: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlTx {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Several statements, no parameters. */
  exec(text: string): Promise<void>;
  /** node-postgres only: the client, for COPY streams. */
  readonly pgClient?: pg.PoolClient;
}

export class PostgresSql implements Sql {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(url: string, opts: { max?: number; connectionTimeoutMillis?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: opts.max ?? 8, connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 5000 });
    // A client losing its connection (database restarted, network cut) must not crash the
    // process: the query in progress fails with the error, and the pool replaces the client.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    return (await this.pool.query(text, params as unknown[])).rows as T[];
  }

  async exec(text: string): Promise<void> {
    await this.pool.query(text);
  }

  async tx<T>(fn: (q: SqlTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      const out = await fn({
        query: async <R>(t: string, p?: unknown[]) => (await client.query(t, p as unknown[])).rows as R[],
        exec: async (t: string) => void (await client.query(t)),
        pgClient: client,
      });
      await client.query('commit');
      return out;
    } catch (e) {
      try {
        await client.query('rollback');
      } catch {
        broken = true;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export class PgliteSql implements Sql {
  readonly kind = 'pglite' as const;
  private constructor(readonly db: PGlite) {}

  /** Opens (or creates) the embedded database in `dir`; `memory://` for a throwaway one. */
  static async open(dir: string): Promise<PgliteSql> {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dir);
    return new PgliteSql(db);
  }

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    return (await this.db.query<T>(text, params)).rows;
  }

  async exec(text: string): Promise<void> {
    await this.db.exec(text);
  }

  async tx<T>(fn: (q: SqlTx) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) =>
      fn({ query: async <R>(q: string, p?: unknown[]) => (await t.query<R>(q, p)).rows, exec: async (q: string) => void (await t.exec(q)) }),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
