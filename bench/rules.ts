/**
 * bench/rules — positions per second through the whole rule set on one core, with the 10,000
 * mixed Jinan geofences of bench/rules-geo loaded. Prints one JSON line:
 *
 * - positionsPerSec: the standard rule set (terminal alarms, overspeed, geofences, fatigue,
 *   harsh driving, idling, night driving, offline) in a `RuleEngine` with the fences, best of
 *   `rounds` (each round a fresh engine: vehicle states are created as in a real start);
 * - baselinePerSec: the same positions through an engine with an empty rule set and no fences
 *   (what the engine itself costs: lanes, order, fix derivation); ratio = positionsPerSec / baseline;
 * - geoOnlyPerSec: an empty rule set with the fences loaded (the per-position fence lookup alone);
 * - bytesPerFence: JS heap + array buffers of the loaded index, after full GCs, per fence;
 * - bytesPerVehicle: memory the engine holds per vehicle after the run (lanes, every rule's state,
 *   open events), measured as the drop when the engine is released;
 * - eventsPerPosition: emissions per position (so a reader sees the rules did fire).
 *
 * The positions: `vehicles` vehicles in the urban box (36.55–36.75 N, 116.9–117.2 E) driving
 * (dead reckoning, turns, speed changes between 0 and 130 km/h, stops with ACC on, a rare SOS
 * bit) with a fix every 10 s (a tenth of them at 1 Hz, so the harsh-driving rule works), fed in
 * time order, interleaved across vehicles, in batches of 1,000 as the writer commits them.
 *
 * Run: npm run bench:rules [-- positions vehicles rounds]
 */
import { exposeGc, settledMemory } from './support/memory.js';
import { RuleEngine, ThresholdTable, standardRules } from '../src/rules/index.js';
import type { RuleInput } from '../src/rules/fix.js';
import { FenceIndex } from '../src/rules/geo/index.js';
import type { Rule } from '../src/rules/types.js';
import { BOX, M_LAT, M_LON, between, makeFences, rnd } from './support/jinan-fences.js';

const POSITIONS = Number(process.argv[2] ?? 1_000_000);
const VEHICLES = Number(process.argv[3] ?? 10_000);
const ROUNDS = Number(process.argv[4] ?? 3);
/** Profiling: only the full rule set (no baselines). */
const ONLY_FULL = process.env.BENCH_ONLY_FULL === '1';
const FENCES = 10_000;
const BATCH = 1000;
/** A weekday 10:00 in China. */
const START_MS = Date.UTC(2026, 10, 30, 2, 0, 0);

const gc = exposeGc();

interface Car { lon: number; lat: number; heading: number; speed: number; target: number; everyS: number; t: number; stopLeft: number; terminal: string }

/** The positions, in time order across vehicles. */
function positions(): RuleInput[] {
  const cars: Car[] = Array.from({ length: VEHICLES }, (_, i) => ({
    lon: between(BOX.w, BOX.e), lat: between(BOX.s, BOX.n), heading: rnd() * 360, speed: 0, target: between(20, 90),
    everyS: i % 10 === 0 ? 1 : 10, t: START_MS + Math.floor(rnd() * 10_000), stopLeft: 0, terminal: `0138${String(i).padStart(8, '0')}`,
  }));
  const out: RuleInput[] = [];
  // Every car advances to the next time step; cars at 1 Hz give ten fixes per step.
  while (out.length < POSITIONS) {
    for (const c of cars) {
      const steps = 10 / c.everyS;
      for (let k = 0; k < steps && out.length < POSITIONS; k++) {
        step(c);
        out.push({
          terminal: c.terminal, time: c.t, receivedAt: c.t + 800, latitude: c.lat, longitude: c.lon, speed: Math.round(c.speed * 10) / 10,
          direction: Math.round(c.heading) % 360, alarm: rnd() < 0.0005 ? 1 : 0, status: 3, kind: 0,
        });
      }
    }
  }
  return out;
}

function step(c: Car): void {
  const dt = c.everyS;
  c.t += dt * 1000;
  if (c.stopLeft > 0) {
    c.stopLeft -= dt;
    c.speed = 0;
    return;
  }
  if (rnd() < 0.002 * dt) { c.stopLeft = between(60, 900); return; } // stop (lights, idling, parking)
  if (rnd() < 0.02 * dt) c.target = rnd() < 0.05 ? between(100, 130) : between(20, 90);
  c.speed += Math.max(-3 * 3.6 * dt, Math.min(2 * 3.6 * dt, c.target - c.speed)); // ≤ 2 m/s² up, 3 m/s² down
  c.speed = Math.max(0, c.speed);
  c.heading = (c.heading + (rnd() - 0.5) * 6 * dt + 360) % 360;
  const d = (c.speed / 3.6) * dt, r = (c.heading * Math.PI) / 180;
  c.lat += (d * Math.cos(r)) / M_LAT;
  c.lon += (d * Math.sin(r)) / M_LON;
  // Stay in the box: turn round at its edges.
  if (c.lat < BOX.s || c.lat > BOX.n || c.lon < BOX.w || c.lon > BOX.e) c.heading = (c.heading + 180) % 360;
}

const byKind = new Map<string, number>();

function run(ps: RuleInput[], rules: (f: FenceIndex) => Rule[], fences: FenceIndex): { perSec: number; events: number; engine: RuleEngine } {
  let events = 0;
  byKind.clear();
  const engine = new RuleEngine({
    rules: rules(fences), thresholds: new ThresholdTable(), fences,
    onEvent: (e) => {
      events++;
      byKind.set(e.kind, (byKind.get(e.kind) ?? 0) + 1);
    },
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ps.length; i += BATCH) engine.submit(ps.slice(i, i + BATCH));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSec: ps.length / s, events, engine };
}

async function main(): Promise<void> {
  const fenceList = makeFences(FENCES);
  const ps = positions();
  const none = new FenceIndex();
  const before = await settledMemory(gc);
  const fences = new FenceIndex(fenceList);
  const bytesPerFence = ((await settledMemory(gc)) - before) / FENCES;
  const empty = (): Rule[] => [];

  // Warm up each path on a slice, then best of ROUNDS, alternating so drift hits all alike.
  const warm = ps.slice(0, 100_000);
  if (!ONLY_FULL) run(warm, empty, none);
  if (!ONLY_FULL) run(warm, empty, fences);
  run(warm, standardRules, fences);
  let baseline = 0, geoOnly = 0, full = 0, events = 0, bytesPerVehicle = 0;
  for (let r = 0; r < ROUNDS; r++) {
    if (!ONLY_FULL) baseline = Math.max(baseline, run(ps, empty, none).perSec);
    if (!ONLY_FULL) geoOnly = Math.max(geoOnly, run(ps, empty, fences).perSec);
    let res: ReturnType<typeof run> | undefined = run(ps, standardRules, fences);
    full = Math.max(full, res.perSec);
    events = res.events;
    // What the engine holds: memory with it, then without it (after full GCs both times).
    const vehicles = res.engine.size, withEngine = await settledMemory(gc);
    res = undefined;
    bytesPerVehicle = (withEngine - (await settledMemory(gc))) / vehicles;
  }
  console.log(JSON.stringify({
    bench: 'rules', fences: FENCES, positions: ps.length, vehicles: VEHICLES, rounds: ROUNDS, rules: standardRules(fences).map((r) => r.name),
    positionsPerSec: Math.round(full), baselinePerSec: Math.round(baseline), ratio: +(full / baseline).toFixed(3),
    geoOnlyPerSec: Math.round(geoOnly), goalPerSec: 250_000, meetsGoal: full >= 250_000,
    eventsPerPosition: +(events / ps.length).toFixed(4), eventsByKind: Object.fromEntries([...byKind].sort((a, b) => b[1] - a[1])), bytesPerFence: Math.round(bytesPerFence), bytesPerVehicle: Math.round(bytesPerVehicle),
    node: process.version,
  }));
}

await main();
