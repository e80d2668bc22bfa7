import { configFromEnv, loadConfig } from '../config.js';
import { openSql } from '../store/index.js';
import { migrate } from '../store/migrations.js';

/** `fleetgate migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite in ./data. */
export async function runMigrate(): Promise<number> {
  const config = loadConfig(configFromEnv(process.env));
  const sql = await openSql(config.store);
  try {
    const r = await migrate(sql);
    process.stdout.write(JSON.stringify({ database: config.store.databaseUrl ? 'postgres' : `pglite:${config.store.dataDir}`, ...r }) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`migration failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await sql.close();
  }
}
