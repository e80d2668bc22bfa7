import type { Edition } from '../../protocols/jt808/index.js';
import type { Sql } from './sql.js';
import type { CommandLogEntry, QueuedCommand, TerminalRecord, TerminalStore } from './types.js';

interface TerminalRow {
  terminal: string; auth_code: string; edition: number; edition_override: number | null; accept_bad_checksum: boolean;
  province: number | null; city: number | null; maker_id: string | null; model: string | null; device_id: string | null;
  plate_color: number | null; plate: string | null; registered_at: Date | string;
}

/** TerminalStore in the database (PostgreSQL or PGlite): terminals and the offline command queue. */
export class SqlTerminalStore implements TerminalStore {
  constructor(private readonly sql: Sql) {}

  async getTerminal(terminal: string): Promise<TerminalRecord | undefined> {
    const [r] = await this.sql.query<TerminalRow>('select * from terminals where terminal = $1', [terminal]);
    if (!r) return undefined;
    return {
      terminal: r.terminal, authCode: r.auth_code, edition: r.edition as Edition,
      editionOverride: (r.edition_override ?? undefined) as Edition | undefined, acceptBadChecksum: r.accept_bad_checksum,
      province: r.province ?? undefined, city: r.city ?? undefined, makerId: r.maker_id ?? undefined, model: r.model ?? undefined,
      deviceId: r.device_id ?? undefined, plateColor: r.plate_color ?? undefined, plate: r.plate ?? undefined,
      registeredAt: new Date(r.registered_at).toISOString(),
    };
  }

  async saveTerminal(t: TerminalRecord): Promise<void> {
    await this.sql.query(
      `insert into terminals (terminal, auth_code, edition, edition_override, accept_bad_checksum, province, city, maker_id, model, device_id, plate_color, plate, registered_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       on conflict (terminal) do update set auth_code = excluded.auth_code, edition = excluded.edition, province = excluded.province,
         city = excluded.city, maker_id = excluded.maker_id, model = excluded.model, device_id = excluded.device_id,
         plate_color = excluded.plate_color, plate = excluded.plate`,
      [t.terminal, t.authCode, t.edition, t.editionOverride ?? null, t.acceptBadChecksum ?? false, t.province ?? null, t.city ?? null,
        t.makerId ?? null, t.model ?? null, t.deviceId ?? null, t.plateColor ?? null, t.plate ?? null, t.registeredAt],
    );
    // The minimal vehicle binding: a registered plate is a vehicle fitted with this terminal.
    if (t.plate) {
      await this.sql.query(
        `insert into vehicles (plate, plate_color, terminal) values ($1, $2, $3)
         on conflict (plate, plate_color) do update set terminal = excluded.terminal`,
        [t.plate, t.plateColor ?? null, t.terminal],
      ).catch(() => undefined); // another vehicle already bound to this terminal: leave the binding to an operator
    }
  }

  async deleteTerminal(terminal: string): Promise<void> {
    await this.sql.query('delete from terminals where terminal = $1', [terminal]);
  }

  async enqueueCommand(c: QueuedCommand): Promise<void> {
    await this.sql.query(
      `insert into command_queue (id, terminal, msg_id, body, request_id, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (id) do nothing`,
      [c.id, c.terminal, c.msgId, c.body === null ? null : JSON.stringify(c.body), c.requestId ?? null, c.createdAt, c.expiresAt],
    );
  }

  async takeCommands(terminal: string, now: Date): Promise<QueuedCommand[]> {
    const rows = await this.sql.query<{ id: string; terminal: string; msg_id: number; body: Record<string, unknown> | null; request_id: string | null; created_at: Date; expires_at: Date }>(
      'delete from command_queue where terminal = $1 returning *', [terminal],
    );
    return rows
      .filter((r) => new Date(r.expires_at).getTime() > now.getTime())
      .sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime())
      .map((r) => ({
        id: r.id, terminal: r.terminal, msgId: r.msg_id, body: r.body, requestId: r.request_id ?? undefined,
        createdAt: new Date(r.created_at).toISOString(), expiresAt: new Date(r.expires_at).toISOString(),
      }));
  }

  async listCommands(terminal: string): Promise<QueuedCommand[]> {
    const rows = await this.sql.query<{ id: string; terminal: string; msg_id: number; body: Record<string, unknown> | null; request_id: string | null; created_at: Date; expires_at: Date }>(
      'select * from command_queue where terminal = $1 order by created_at', [terminal],
    );
    return rows.map((r) => ({
      id: r.id, terminal: r.terminal, msgId: r.msg_id, body: r.body, requestId: r.request_id ?? undefined,
      createdAt: new Date(r.created_at).toISOString(), expiresAt: new Date(r.expires_at).toISOString(),
    }));
  }

  async logCommand(e: CommandLogEntry): Promise<void> {
    await this.sql.query(
      `insert into command_log (id, terminal, msg_id, status, attempts, serials, result, reply, error, created_at, sent_at, finished_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       on conflict (id) do update set status = excluded.status, attempts = excluded.attempts, serials = excluded.serials,
         result = excluded.result, reply = excluded.reply, error = excluded.error, sent_at = excluded.sent_at, finished_at = excluded.finished_at`,
      [e.id, e.terminal, e.msgId, e.status, e.attempts, e.serials, e.result ?? null, e.reply === undefined ? null : JSON.stringify(e.reply),
        e.error ?? null, e.createdAt, e.sentAt ?? null, e.finishedAt ?? null],
    );
  }

  async close(): Promise<void> {}
}
