import { parseArgs } from 'node:util';
import { loadRoutes, runSimulation, type SimEdition, type SimulationProgress } from '../simulator/index.js';

export const SIMULATE_USAGE = `fleetgate simulate — virtual JT/T 808 terminals driving routes around Jinan

Usage:
  fleetgate simulate [--host 127.0.0.1] [--port 8808] [--terminals 10] [--interval 30]
                     [--duration <s>] [--rate <positions/s>] [--edition 2013|2019|mix] [--seed 1]

Options:
  --host, --port       the gateway (default 127.0.0.1:8808)
  --terminals N        virtual terminals (default 10)
  --interval S         report interval while driving, simulated seconds (default 30)
  --duration S         run this long, then print the report; without it, until Ctrl-C
  --rate N             cap on positions per second over all terminals
  --edition E          2013, 2019 or mix (default mix: half and half)
  --seed N             seed of every random choice: same seed, same frames (default 1)
  --concurrency N      terminals connecting at once (default 200)
  --time-scale X       simulated seconds per real second (default 1)
  --first-id N         number of the first terminal, for several simulators on one gateway (default 1)
  --routes FILE        routes file (default fixtures/routes/jinan.json)
  --alarm-probability P  chance per driving report of a speeding episode; SOS is 20× rarer (default 0.002)
  --no-signal-loss     no simulated mobile-network outages

Progress goes to stderr every 5 s; the report is printed as JSON on stdout.
Exit status: 0, 1 for bad options, 2 when no terminal came online.`;

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function numberOption(values: Record<string, string | boolean | undefined>, name: string, fallback?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} must be a number, not "${String(v)}"`);
  return n;
}

function progressLine(p: SimulationProgress, terminals: number): string {
  const rate = p.elapsedS > 0 ? (p.locationsSent / p.elapsedS).toFixed(1) : '0';
  return `simulate: ${p.elapsedS.toFixed(0)}s online ${p.online}/${terminals} positions ${p.locationsSent} (${rate}/s) `
    + `acked ${p.acked} resent ${p.resent} unacked ${p.unacked} reconnects ${p.reconnects}\n`;
}

/** `fleetgate simulate`: parses the options, runs the simulation, prints the report. */
export async function runSimulateCli(argv: string[], io: CliIo = process): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' }, port: { type: 'string' }, terminals: { type: 'string' }, interval: { type: 'string' },
        duration: { type: 'string' }, rate: { type: 'string' }, edition: { type: 'string' }, seed: { type: 'string' },
        concurrency: { type: 'string' }, 'time-scale': { type: 'string' }, 'first-id': { type: 'string' },
        routes: { type: 'string' }, 'alarm-probability': { type: 'string' }, 'no-signal-loss': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${SIMULATE_USAGE}\n`);
    return 1;
  }
  if (values.help) {
    io.stdout.write(SIMULATE_USAGE + '\n');
    return 0;
  }
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  try {
    const edition = values.edition ?? 'mix';
    if (edition !== 'mix' && edition !== '2013' && edition !== '2019') throw new Error(`--edition must be 2013, 2019 or mix, not "${String(edition)}"`);
    const terminals = numberOption(values, 'terminals', 10)!;
    const durationS = numberOption(values, 'duration');
    const timeScale = numberOption(values, 'time-scale', 1)!;
    if (!(timeScale > 0)) throw new Error('--time-scale must be positive');
    const alarmProbability = numberOption(values, 'alarm-probability');
    if (alarmProbability !== undefined && !(alarmProbability >= 0 && alarmProbability <= 1)) throw new Error('--alarm-probability must be within 0–1');
    const routes = typeof values.routes === 'string' ? loadRoutes(values.routes) : undefined;
    process.once('SIGINT', onSigint);
    const report = await runSimulation({
      host: typeof values.host === 'string' ? values.host : '127.0.0.1',
      port: numberOption(values, 'port', 8808)!,
      terminals,
      intervalS: numberOption(values, 'interval', 30)!,
      durationS,
      rateLimit: numberOption(values, 'rate'),
      editions: edition === 'mix' ? 'mix' : (Number(edition) as SimEdition),
      seed: numberOption(values, 'seed', 1),
      connectConcurrency: numberOption(values, 'concurrency'),
      firstId: numberOption(values, 'first-id'),
      routes,
      behaviour: {
        timeScale,
        ...(alarmProbability === undefined ? {} : { alarmProbability }),
        ...(values['no-signal-loss'] ? { signalLoss: null } : {}),
      },
      signal: abort.signal,
      onProgress: (p) => io.stderr.write(progressLine(p, terminals)),
    });
    io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return report.everOnline > 0 ? 0 : 2;
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
