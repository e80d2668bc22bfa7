/**
 * A longer fuzz run than CI's: `npm run fuzz -- [count] [seed]` (default 5,000,000, seed = now).
 * Prints a JSON report; exits non-zero on the first uncoded error or exception.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzz } from './support/fuzz.js';

const count = Number(process.argv[2] ?? 5_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const dir = fileURLToPath(new URL('../../fixtures/jt808/messages/', import.meta.url));
const samples = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(readFileSync(dir + f, 'utf8')) as { hex: string }[]).map((c) => Buffer.from(c.hex, 'hex')));
const t0 = Date.now();
const report = fuzz(seed, count, samples);
console.log(JSON.stringify({ seed, ...report, seconds: (Date.now() - t0) / 1000 }));
