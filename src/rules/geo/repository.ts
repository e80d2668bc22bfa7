/**
 * Geofences in the database: the `geofences` table of migration v3 (id, kind, feature jsonb,
 * updated_at), one GeoJSON Feature per fence in the form of `fenceToGeoJSON`, so what is stored
 * is what the API exports. Works on PostgreSQL and PGlite alike (src/store/sql.ts).
 */
import type { Sql } from '../../store/sql.js';
import { FenceError, FenceErrorCode, type Fence, type FenceKind } from './fence.js';
import { fenceFromGeoJSON, fenceToGeoJSON } from './geojson.js';

interface Row {
  id: string;
  feature: unknown;
}

export class FenceRepository {
  constructor(private readonly sql: Sql) {}

  /** Every stored fence (of one kind, when given), by id. */
  async list(filter: { kind?: FenceKind } = {}): Promise<Fence[]> {
    const rows = filter.kind === undefined
      ? await this.sql.query<Row>('select id, feature from geofences order by id')
      : await this.sql.query<Row>('select id, feature from geofences where kind = $1 order by id', [filter.kind]);
    return rows.map(toFence);
  }

  async get(id: string): Promise<Fence | undefined> {
    const [row] = await this.sql.query<Row>('select id, feature from geofences where id = $1', [id]);
    return row ? toFence(row) : undefined;
  }

  /**
   * Inserts or replaces the fences in one transaction: all are stored or none. The fences must
   * be valid already (fenceFromGeoJSON or assertValidFence); two with one id are refused.
   */
  async upsert(fences: readonly Fence[]): Promise<void> {
    if (fences.length === 0) return;
    const seen = new Set<string>();
    for (const f of fences) {
      if (seen.has(f.id)) throw new FenceError(FenceErrorCode.BAD_FENCE, 'the fence appears twice in one upsert', f.id);
      seen.add(f.id);
    }
    const rows = fences.map((f) => ({ id: f.id, kind: f.kind, feature: fenceToGeoJSON(f) }));
    await this.sql.tx(async (q) => {
      await q.query(
        `insert into geofences (id, kind, feature, updated_at)
         select id, kind, feature, now() from jsonb_to_recordset($1::jsonb) as x(id text, kind text, feature jsonb)
         on conflict (id) do update set kind = excluded.kind, feature = excluded.feature, updated_at = excluded.updated_at`,
        [JSON.stringify(rows)],
      );
    });
  }

  /** Deletes the fence; whether it was there. */
  async remove(id: string): Promise<boolean> {
    const rows = await this.sql.query<{ id: string }>('delete from geofences where id = $1 returning id', [id]);
    return rows.length > 0;
  }
}

/** A stored Feature back as a fence; a row that no longer validates throws its FenceError. */
function toFence(row: Row): Fence {
  const feature = typeof row.feature === 'string' ? (JSON.parse(row.feature) as unknown) : row.feature;
  return fenceFromGeoJSON(feature);
}
