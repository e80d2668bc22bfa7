#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { catalogueMarkdown } from './catalogue.js';
import { runDecode } from './decode.js';
import { FRAMES_USAGE, runFrames } from './frames.js';
import { runMigrate } from './migrate.js';
import { runServe } from './serve.js';
import { SIMULATE_USAGE, runSimulateCli } from './simulate.js';

const USAGE = `fleetgate — JT/T 808 gateway and fleet-supervision engine

Usage:
  fleetgate serve [--port 8808] [--http-port 8080] [--mqtt-port 1883] [--log-level info]
                            the gateway, HTTP API and MQTT feed (embedded broker unless MQTT_URL is set)
  fleetgate simulate [--host 127.0.0.1] [--port 8808] [--terminals N] [--interval s] [--duration s] [--rate n/s]
                    [--edition 2013|2019|mix] [--seed n]   virtual terminals driving around Jinan (see below)
  fleetgate decode --hex <hex> [--edition 2011|2013|2019] [--lenient]
  fleetgate decode [--edition …] [--lenient] < frames.txt     (one hex frame or chunk per line)
  fleetgate messages        the declared messages, fields and units, as Markdown
  fleetgate migrate         apply database migrations (DATABASE_URL, or the embedded PGlite in ./data)
  ${FRAMES_USAGE}

Options:
  --hex <hex>        a frame (with or without its 0x7e flags) or several frames
  --edition <year>   force the edition instead of detecting it (devices that set bit 14 wrongly)
  --lenient          accept bad checksums and body lengths (reported under "problems")

${SIMULATE_USAGE}

Environment: DATABASE_URL (PostgreSQL/TimescaleDB; default: embedded PGlite), CLICKHOUSE_URL, MQTT_URL (external broker), FLEETGATE_PORT, FLEETGATE_HTTP_PORT, FLEETGATE_MQTT_PORT,
FLEETGATE_UNKNOWN_TERMINALS (register|reject), FLEETGATE_RAW_FRAMES (1: archive every frame), LOG_LEVEL.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 1 : 0;
  }
  if (command === 'decode') {
    const { values } = parseArgs({
      args: rest,
      options: { hex: { type: 'string' }, edition: { type: 'string' }, lenient: { type: 'boolean', default: false } },
      strict: true,
    });
    const edition = values.edition === undefined ? undefined : Number(values.edition);
    if (edition !== undefined && edition !== 2011 && edition !== 2013 && edition !== 2019) {
      process.stderr.write(`--edition must be 2011, 2013 or 2019, not ${values.edition}\n`);
      return 1;
    }
    return runDecode({ hex: values.hex, edition, lenient: values.lenient ?? false }, process.stdin, process.stdout, process.stderr);
  }
  if (command === 'serve') return runServe(rest);
  if (command === 'simulate') return runSimulateCli(rest);
  if (command === 'migrate') return runMigrate();
  if (command === 'frames') return runFrames(rest, process.stdout, process.stderr);
  if (command === 'messages') {
    process.stdout.write(catalogueMarkdown());
    return 0;
  }
  process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
