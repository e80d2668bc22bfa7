/**
 * bench/gateway — what the gateway adds per frame, against a floor measured in the same run.
 * Prints one JSON line:
 *
 * - throughput: 0x0200 frames (typical extras) per second through a fleetgate (own process,
 *   startFleetgate, pipeline replaced by a null sink that accepts at once and publishes nothing,
 *   per-connection rate limit lifted) holding `sessions` authenticated sessions. Client processes
 *   pump precomputed frames round-robin over their sessions, each keeping `window` frames
 *   unacknowledged, and count the 0x8001 answers over `measureS` after `warmupS`. Baseline: the
 *   same clients and bytes against a bare TCP echo server process, counting echoed frames.
 * - latency: frame-in → MQTT-publish latency on the real broker (MQTT_URL, default
 *   mqtt://127.0.0.1:1883): a fleetgate with its normal PublishPipeline; clients send 0x0200 at
 *   `ratePerSec` in total over `latencySessions` sessions; a subscriber here on
 *   fleetgate/v1/terminals/+/location takes arrival − receivedAt (stamped by the gateway when it
 *   reads the frame). Baseline: the same subscriber, messages (same JSON, same topics, same rate)
 *   published straight to the broker by a plain mqtt.js client that stamps them as it publishes.
 *
 * Servers and clients share the machine's cores: the cpuPercent figures (of one core; the
 * machine figure includes everything else running) say when the cores, not the code, limited.
 * Run: npm run bench:gateway [-- sessions windowPerClient measureS latencySessions ratePerSec]
 */
import { gatewayLatency, publisherLatency, type LatencyOptions } from './support/latency-runs.js';
import { locationFrame, terminalId } from './support/frames.js';
import { progress } from './support/ipc.js';
import { measureThroughput, type ThroughputOptions } from './support/throughput.js';

const arg = (i: number, dflt: number): number => (process.argv[i] === undefined ? dflt : Number(process.argv[i]));
const throughputOpts: ThroughputOptions = {
  sessions: arg(2, 10_000),
  clientCount: 2,
  concurrency: 250,
  window: arg(3, 500),
  warmupMs: 3_000,
  measureMs: arg(4, 10) * 1000,
};
const latencyOpts: LatencyOptions = {
  url: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  sessions: arg(5, 2_000),
  clientCount: 2,
  concurrency: 250,
  ratePerSec: arg(6, 5_000),
  warmupMs: 2_000,
  measureMs: arg(4, 10) * 1000,
};

progress('throughput: echo baseline');
const echo = await measureThroughput('echo', throughputOpts);
progress('throughput: gateway with a null pipeline');
const gw = await measureThroughput('gateway', throughputOpts);
progress(`latency: gateway on ${latencyOpts.url}`);
const lat = await gatewayLatency(latencyOpts);
progress(`latency: direct publisher on ${latencyOpts.url}`);
const latBase = await publisherLatency(latencyOpts);

const ratio = (x: number, y: number): number | null => (y > 0 ? +(x / y).toFixed(3) : null);
console.log(JSON.stringify({
  bench: 'gateway',
  node: process.version,
  frameBytes: locationFrame(terminalId(0), 0).length,
  throughput: {
    sessions: throughputOpts.sessions,
    clientProcesses: throughputOpts.clientCount,
    windowPerClientProcess: throughputOpts.window,
    warmupS: throughputOpts.warmupMs / 1000,
    measureS: throughputOpts.measureMs / 1000,
    gateway: gw,
    baselineEcho: echo,
    gatewayToEcho: ratio(gw.framesPerSec, echo.framesPerSec),
    bestSpanGatewayToEcho: ratio(gw.bestSpanFramesPerSec, echo.bestSpanFramesPerSec),
  },
  latency: {
    broker: latencyOpts.url.replace(/\/\/[^@/]*@/, '//'),
    sessions: latencyOpts.sessions,
    targetRatePerSec: latencyOpts.ratePerSec,
    warmupS: latencyOpts.warmupMs / 1000,
    measureS: latencyOpts.measureMs / 1000,
    gateway: lat,
    baselineDirectPublish: latBase,
    p50AboveBaselineMs: +(lat.p50Ms - latBase.p50Ms).toFixed(2),
    p99AboveBaselineMs: +(lat.p99Ms - latBase.p99Ms).toFixed(2),
  },
}));
