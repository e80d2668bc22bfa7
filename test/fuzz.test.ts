import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fuzz } from './support/fuzz.js';

const DIR = fileURLToPath(new URL('../fixtures/jt808/messages/', import.meta.url));
const samples = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(readFileSync(DIR + f, 'utf8')) as { hex: string }[]).map((c) => Buffer.from(c.hex, 'hex')));

describe('fuzz (fixed seed, bounded)', () => {
  it('100,000 random and mutated inputs: only coded errors, no exception, bounded memory', () => {
    const report = fuzz(0x808, 100_000, samples);
    expect(report.inputs).toBe(100_000);
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    expect(report.messages).toBeGreaterThan(1000);
    expect(Object.values(report.errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(10_000);
    expect(Object.keys(report.errors)).toEqual(expect.arrayContaining(['FG_ERR_CHECKSUM', 'FG_ERR_TRUNCATED', 'FG_ERR_ESCAPE', 'FG_ERR_BODY_LENGTH']));
    // A partial frame never holds more than the frame limit; the heap does not keep what was fed.
    expect(report.maxPendingBytes).toBeLessThanOrEqual(2048);
    expect(report.heapGrowthBytes).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
