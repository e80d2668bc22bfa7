/**
 * bench/ingest checks and baseline: every acknowledged position looked up in `positions` (the
 * simulators' key files loaded into a temp table, then an anti-join), and the COPY baseline —
 * the stored rows exported, then loaded by psql with `COPY positions (…) FROM STDIN` into a
 * fresh database with the same migrations, timed.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import { identityFor } from '../../src/simulator/index.js';
import { migrate } from '../../src/store/migrations.js';
import { PostgresSql, type Sql } from '../../src/store/sql.js';

const COLUMNS = 'terminal, time, kind, received_at, latitude, longitude, altitude, speed, direction, alarm, status, mileage, fuel, extras';

export interface AckedKeys {
  terminals: Uint32Array;
  times: Uint32Array;
  kinds: Uint8Array;
}

/** Reads and concatenates the simulators' key files ([u32 n][u32 terminals][u32 times][u8 kinds]). */
export function readKeys(files: string[]): AckedKeys {
  const parts = files.map((f) => {
    const b = readFileSync(f);
    const n = b.readUInt32LE(0);
    const u32 = (off: number): Uint32Array => new Uint32Array(b.buffer.slice(b.byteOffset + off, b.byteOffset + off + n * 4));
    return { terminals: u32(4), times: u32(4 + n * 4), kinds: new Uint8Array(b.subarray(4 + n * 8, 4 + n * 9)) };
  });
  const total = parts.reduce((s, p) => s + p.terminals.length, 0);
  const out: AckedKeys = { terminals: new Uint32Array(total), times: new Uint32Array(total), kinds: new Uint8Array(total) };
  let at = 0;
  for (const p of parts) {
    out.terminals.set(p.terminals, at);
    out.times.set(p.times, at);
    out.kinds.set(p.kinds, at);
    at += p.terminals.length;
  }
  return out;
}

export interface Verification {
  rowsStored: number;
  ackedKeys: number;
  distinctAckedKeys: number;
  /** Acknowledged and not in the table. */
  lost: number;
  /** Rows stored more than once for one (terminal, time, kind): the primary key should make it 0. */
  duplicateRows: number;
}

const phoneOf = (n: number): string => identityFor(n, 2013).phone;

/** Loads the keys into a temp table on one connection and counts what is missing. */
export async function verifyStored(sql: Sql, keys: AckedKeys): Promise<Verification> {
  const n = keys.terminals.length;
  return sql.tx(async (q) => {
    await q.exec('create temp table acked_keys (terminal text not null, time timestamptz not null, kind smallint not null) on commit drop');
    const iso = (i: number): string => new Date(keys.times[i]! * 1000).toISOString();
    if (q.pgClient) {
      const lines = function* (): Generator<string> {
        for (let i = 0; i < n; i += 10_000) {
          let s = '';
          for (let j = i; j < Math.min(n, i + 10_000); j++) s += `${phoneOf(keys.terminals[j]!)}\t${iso(j)}\t${keys.kinds[j]}\n`;
          yield s;
        }
      };
      await pipeline(Readable.from(lines()), q.pgClient.query(copyStreams.from('copy acked_keys (terminal, time, kind) from stdin')));
    } else {
      for (let i = 0; i < n; i += 20_000) {
        const idx = Array.from({ length: Math.min(n, i + 20_000) - i }, (_, k) => i + k);
        await q.query('insert into acked_keys select * from unnest($1::text[], $2::timestamptz[], $3::smallint[])', [
          idx.map((j) => phoneOf(keys.terminals[j]!)), idx.map(iso), idx.map((j) => keys.kinds[j]!),
        ]);
      }
    }
    const one = async (text: string): Promise<number> => Number(Object.values((await q.query<Record<string, unknown>>(text))[0]!)[0]);
    return {
      rowsStored: await one('select count(*) from positions'),
      ackedKeys: n,
      distinctAckedKeys: await one('select count(*) from (select distinct terminal, time, kind from acked_keys) d'),
      lost: await one(`select count(*) from (select distinct terminal, time, kind from acked_keys) a
        where not exists (select 1 from positions p where p.terminal = a.terminal and p.time = a.time and p.kind = a.kind)`),
      duplicateRows: await one('select count(*) - (select count(*) from (select distinct terminal, time, kind from positions) d) from positions'),
    };
  });
}

/** Runs psql against `url`; throws with its stderr when it fails. */
function psql(url: string, args: string[], stdinFile?: string): void {
  const fd = stdinFile ? openSync(stdinFile, 'r') : undefined;
  try {
    const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-X', '-q', ...args], { stdio: [fd ?? 'ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Creates a database on the server of `adminUrl` and applies the migrations; returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new PostgresSql(adminUrl, { max: 1 });
  try {
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.close();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const sql = new PostgresSql(u.toString(), { max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.close();
  }
  return u.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new PostgresSql(adminUrl, { max: 1 });
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.close();
  }
}

export interface CopyBaseline {
  rows: number;
  bytes: number;
  seconds: number;
  copyRowsPerSec: number;
}

/**
 * The floor: the rows the gateway stored, exported as COPY text, then loaded with psql
 * (`COPY positions (…) FROM STDIN`, fed the file on stdin) into `freshUrl`'s empty positions
 * table — same schema, partitions and primary key — timed from psql's start to its exit.
 */
export function copyBaseline(sourceUrl: string, freshUrl: string, file: string): CopyBaseline {
  psql(sourceUrl, ['-c', `\\copy (select ${COLUMNS} from positions) to '${file}'`]);
  const bytes = statSync(file).size;
  const rows = readFileSync(file, 'latin1').split('\n').length - 1;
  psql(freshUrl, ['-c', 'checkpoint']); // the migrations' WAL is not the baseline's
  const t0 = performance.now();
  psql(freshUrl, ['-c', `COPY positions (${COLUMNS}) FROM STDIN`], file);
  const seconds = (performance.now() - t0) / 1000;
  return { rows, bytes, seconds: +seconds.toFixed(3), copyRowsPerSec: Math.round(rows / seconds) };
}
