import { parseArgs } from 'node:util';
import { startFleetgate } from '../app.js';
import { ConfigError, configFromEnv, loadConfig, type ConfigInput } from '../config.js';
import { createLog } from '../log.js';

/**
 * `fleetgate serve`: the gateway, the HTTP API and the MQTT feed, on embedded defaults unless
 * MQTT_URL (and, with the store issue, DATABASE_URL) are set. Stops cleanly on SIGINT/SIGTERM.
 */
export async function runServe(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const env = configFromEnv(process.env);
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const input: ConfigInput = {
    ...env,
    gateway: { ...env.gateway, ...(values.port ? { port: num(values.port) } : {}) },
    mqtt: { ...env.mqtt, ...(values['mqtt-port'] ? { embeddedPort: num(values['mqtt-port']) } : {}) },
    http: { ...env.http, ...(values['http-port'] ? { port: num(values['http-port']) } : {}) },
    log: { level: (values['log-level'] as 'info' | undefined) ?? env.log?.level },
  };
  let config;
  try {
    config = loadConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const log = createLog(config.log.level);
  let app;
  try {
    app = await startFleetgate(config, log);
  } catch (e) {
    const err = e as { code?: string; message: string };
    process.stderr.write(`fleetgate could not start: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return 1;
  }
  const { ports } = app;
  process.stderr.write(
    `fleetgate serving: JT/T 808 on tcp://${config.gateway.host}:${ports.gateway}, HTTP on :${ports.http} (/metrics, /api), ` +
      `MQTT ${config.mqtt.url ?? `embedded broker on :${ports.mqtt}`}, ` +
      `store ${config.store.databaseUrl ? 'PostgreSQL' + (app.storage?.migration.timescale ? ' + TimescaleDB' : '') : `PGlite in ${config.store.dataDir}`}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('shutting down');
  await app.close();
  return 0;
}
