/**
 * bench/codec — JT/T 808 codec throughput and allocation on one core. Prints one JSON line:
 *
 * - decodePerSec: 0x0200 frames (typical extras: mileage, fuel, signal, satellites) through
 *   decodeFrame (unescape, XOR, header, body, extras) per second;
 * - streamDecodePerSec: the same frames as MSS-sized TCP chunks through FrameReader + decoder
 *   (what one connection does);
 * - baselinePerSec: in the same run, a loop that only unescapes and XORs the same bytes;
 * - encode8001PerSec: 0x8001 general replies built per second (body, header, checksum, escape);
 * - bytesPerDecode: heap bytes allocated per decoded frame (results kept alive), measured in a
 *   child process whose young generation is large enough that no GC runs in the measured loop
 *   (gcDuringMeasure must be 0); bytesRetainedPerDecode: what the kept results hold after GC.
 *
 * Each figure is measured in its own child process (a fresh JIT, so one loop's type feedback
 * cannot slow another's), with Node's default heap settings, best of `rounds` rounds of
 * `seconds` each after a warm-up. Run: npm run bench:codec [-- seconds rounds]
 */
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Jt808StreamDecoder, decodeFrame, encodeMessage, unescape, xor, type DecodeResult } from '../src/protocol/jt808/index.js';

const CASES = ['baseline', 'decode', 'stream', 'encode8001', 'alloc'] as const;
type Case = (typeof CASES)[number];
const childCase = process.argv[2] === '--case' ? (process.argv[3] as Case) : undefined;
const seconds = Number(childCase ? process.argv[4] : process.argv[2] ?? 1);
const rounds = Number(childCase ? process.argv[5] : process.argv[3] ?? 5);

function locationFrame(i: number): Buffer {
  const body = {
    alarm: 0, status: 0x000c0003, latitude: 36.651216 + (i % 100) * 1e-4, longitude: 117.120128 + (i % 50) * 1e-4,
    altitude: 48, speed: 42.5, direction: (i * 7) % 360, time: new Date(Date.UTC(2026, 10, 29, 4, 0, i % 60)),
    extras: { mileage: 12345.6 + i, fuel: 31.5, signalStrength: 25, satellites: 14 },
  };
  return encodeMessage({ msgId: 0x0200, terminal: '013912344321', serial: i & 0xffff, version: 2013, body }).frames[0]!;
}

const N = 1024;
const frames = Array.from({ length: N }, (_, i) => locationFrame(i));
const contents = frames.map((f) => f.subarray(1, f.length - 1));

function timeOnce(fn: (i: number) => void): number {
  let count = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < 10_000; i++) fn(count + i);
    count += 10_000;
    now = process.hrtime.bigint();
  }
  return count / (Number(now - t0) / 1e9);
}

/** Warms up, then returns the best of `rounds` timed rounds (operations per second). */
function timeLoop(fn: (i: number) => void): number {
  for (let i = 0; i < 500_000; i++) fn(i);
  let best = 0;
  for (let k = 0; k < rounds; k++) best = Math.max(best, timeOnce(fn));
  return best;
}

interface AllocProbe {
  bytesPerDecode: number;
  bytesRetainedPerDecode: number;
  gcDuringMeasure: number;
}

async function allocationProbe(): Promise<AllocProbe> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 300_000; i++) decodeFrame(contents[i & (N - 1)]!); // optimise first
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const M = 20_000;
  const keep: DecodeResult[] = new Array(M);
  gc();
  await new Promise((r) => setTimeout(r, 20));
  gcs = 0;
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < M; i++) keep[i] = decodeFrame(contents[i & (N - 1)]!);
  const after = process.memoryUsage().heapUsed;
  await new Promise((r) => setTimeout(r, 20));
  const gcDuringMeasure = gcs;
  gc();
  const retained = process.memoryUsage().heapUsed;
  obs.disconnect();
  if (keep.some((k) => !k.ok)) throw new Error('a bench frame failed to decode');
  return { bytesPerDecode: (after - before) / M, bytesRetainedPerDecode: (retained - before) / M, gcDuringMeasure };
}

function runCase(c: Exclude<Case, 'alloc'>): { perSec: number; check: number } {
  let sink = 0;
  if (c === 'baseline') {
    const perSec = timeLoop((i) => {
      const raw = unescape(contents[i & (N - 1)]!);
      sink ^= xor(raw, 0, raw.length - 1);
    });
    return { perSec, check: sink };
  }
  if (c === 'decode') {
    const perSec = timeLoop((i) => {
      const r = decodeFrame(contents[i & (N - 1)]!);
      if (r.ok) sink++;
    });
    return { perSec, check: sink };
  }
  if (c === 'stream') {
    const stream = Buffer.concat(frames);
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 1460) chunks.push(stream.subarray(i, i + 1460)); // one TCP MSS
    const dec = new Jt808StreamDecoder();
    const onResult = (r: DecodeResult): void => {
      if (r.ok) sink++;
    };
    const chunksPerSec = timeLoop((i) => dec.push(chunks[i % chunks.length]!, onResult));
    return { perSec: chunksPerSec * (N / chunks.length), check: sink };
  }
  const reply = { msgId: 0x8001, terminal: '013912344321', serial: 0, version: 2013 as const, body: { replySerial: 0, replyMsgId: 0x0200, result: 0 } };
  const perSec = timeLoop((i) => {
    reply.serial = i & 0xffff;
    reply.body.replySerial = i & 0xffff;
    sink += encodeMessage(reply).frames[0]!.length;
  });
  return { perSec, check: sink };
}

function child<T>(c: Case, flags: string[] = []): T {
  const self = fileURLToPath(import.meta.url);
  return JSON.parse(execFileSync(process.execPath, [...flags, self, '--case', c, String(seconds), String(rounds)], { encoding: 'utf8' })) as T;
}

if (childCase === 'alloc') {
  console.log(JSON.stringify(await allocationProbe()));
} else if (childCase) {
  console.log(JSON.stringify(runCase(childCase)));
} else {
  const speed = (c: Exclude<Case, 'alloc'>): number => {
    const res = child<{ perSec: number; check: number }>(c);
    if (!(res.check > 0)) throw new Error(`${c}: the loop did no work`);
    return res.perSec;
  };
  const baselinePerSec = speed('baseline');
  const decodePerSec = speed('decode');
  const streamDecodePerSec = speed('stream');
  const encode8001PerSec = speed('encode8001');
  const probe = child<AllocProbe>('alloc', ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64']);
  const r = Math.round;
  console.log(JSON.stringify({
    bench: 'codec',
    node: process.version,
    frameBytes: frames[0]!.length,
    framesWithEscapes: contents.filter((c) => c.includes(0x7d)).length,
    baselinePerSec: r(baselinePerSec),
    decodePerSec: r(decodePerSec),
    streamDecodePerSec: r(streamDecodePerSec),
    decodeToBaseline: +(decodePerSec / baselinePerSec).toFixed(3),
    encode8001PerSec: r(encode8001PerSec),
    bytesPerDecode: r(probe.bytesPerDecode),
    bytesRetainedPerDecode: r(probe.bytesRetainedPerDecode),
    gcDuringMeasure: probe.gcDuringMeasure,
    secondsPerRound: seconds,
    rounds,
  }));
}
