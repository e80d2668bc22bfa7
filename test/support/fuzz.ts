/**
 * The fuzzer shared by the CI fuzz test and the long-running script (test/fuzz-long.ts): random
 * and mutated frames through the stream decoder. Any thrown exception is a failure; every
 * malformed input must come back as a coded error value.
 */
import { ErrorCode } from '../../src/codec/index.js';
import { MESSAGES } from '../../protocols/jt808/index.js';
import { Jt808StreamDecoder, encodeMessage, type DecodeResult } from '../../src/protocol/jt808/index.js';
import { prng } from './hex.js';

export interface FuzzReport {
  inputs: number;
  messages: number;
  errors: Record<string, number>;
  maxPendingBytes: number;
  heapGrowthBytes: number;
}

const CODES = new Set<string>(Object.values(ErrorCode));

/** Seeds: valid frames of every declared message, built by the encoder from sample bodies. */
export function seedFrames(samples: Buffer[]): Buffer[] {
  return samples.length > 0 ? samples : [encodeMessage({ msgId: 0x0002, terminal: '013912344321', serial: 1 }).frames[0]!];
}

function mutate(rand: () => number, seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  const kind = Math.floor(rand() * 7);
  const at = Math.floor(rand() * b.length);
  switch (kind) {
    case 0: // flip random bits
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
      return b;
    case 1: // truncate
      return b.subarray(0, at);
    case 2: // insert random bytes, flags and escapes included
      return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => [0x7e, 0x7d, Math.floor(rand() * 256)][Math.floor(rand() * 3)]!)), b.subarray(at)]);
    case 3: // corrupt the body-length bits or the sub-package/version bits
      if (b.length > 4) b[3] = Math.floor(rand() * 256);
      if (b.length > 3 && rand() < 0.5) b[2] = Math.floor(rand() * 256);
      return b;
    case 4: // pure noise
      return Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
    case 5: // duplicate a slice
      return Buffer.concat([b, b.subarray(at)]);
    default: // a dangling escape
      b[at] = 0x7d;
      return b;
  }
}

export function fuzz(seed: number, count: number, samples: Buffer[]): FuzzReport {
  const rand = prng(seed);
  const seeds = seedFrames(samples);
  const report: FuzzReport = { inputs: 0, messages: 0, errors: {}, maxPendingBytes: 0, heapGrowthBytes: 0 };
  const onResult = (r: DecodeResult): void => {
    if (r.ok) {
      report.messages++;
      for (const p of r.message.problems ?? []) if (!CODES.has(p.code)) throw new Error(`uncoded problem ${JSON.stringify(p)}`);
      return;
    }
    if (!CODES.has(r.error.code)) throw new Error(`uncoded error ${JSON.stringify(r.error)}`);
    report.errors[r.error.code] = (report.errors[r.error.code] ?? 0) + 1;
  };
  const editions = [undefined, 2011, 2013, 2019] as const;
  let decoder = new Jt808StreamDecoder({}, 2048);
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) {
      decoder = new Jt808StreamDecoder({
        edition: editions[Math.floor(rand() * 4)],
        checksum: rand() < 0.5 ? 'accept' : 'reject',
        bodyLength: rand() < 0.5 ? 'accept' : 'reject',
      }, 2048);
    }
    const frame = mutate(rand, seeds[Math.floor(rand() * seeds.length)]!);
    // Split the input at a random point to exercise partial frames.
    const cut = Math.floor(rand() * (frame.length + 1));
    decoder.push(frame.subarray(0, cut), onResult);
    decoder.push(frame.subarray(cut), onResult);
    report.inputs++;
    report.maxPendingBytes = Math.max(report.maxPendingBytes, decoder.pendingBytes);
  }
  report.heapGrowthBytes = process.memoryUsage().heapUsed - heapBefore;
  return report;
}

/** Sample frames for every declared message, from the fixture files. */
export function fixtureFrames(readAll: () => { hex: string }[]): Buffer[] {
  return readAll().map((c) => Buffer.from(c.hex, 'hex'));
}

export const DECLARED = MESSAGES.size;
