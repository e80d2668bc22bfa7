/**
 * A fleetgate in its own process, started the way `fleetgate serve` starts it (startFleetgate:
 * bus, terminal store, pipeline, gateway, HTTP API), on free ports, with a silent log and the
 * in-memory terminal store.
 */
import { startFleetgate, type Fleetgate } from '../../src/app.js';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { silentLog } from '../../src/log.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import { serveRequests } from './ipc.js';
import { cpuUs, sampleMemory, type MemorySample } from './memory.js';

export interface GatewayArgs {
  /** Merged over the bench defaults (loopback, port 0, embedded broker on a free port). */
  gateway?: ConfigInput['gateway'];
  /** External broker; unset = the embedded one. */
  mqttUrl?: string;
  /** Replace the pipeline by a sink that accepts at once and publishes nothing. */
  nullPipeline?: boolean;
}

export interface GatewayStarted {
  port: number;
  http: number;
  mqtt?: number;
  clientId: string;
}

export interface GatewaySample extends MemorySample {
  /** Authenticated sessions (the gateway's session map). */
  sessions: number;
  /** Every live session, authenticated or not. */
  live: number;
  busBuffered: number;
}

/** Resolves at once and publishes nothing: what is left is the gateway's own cost per frame. */
const nullPipeline: Pipeline = {
  submit: () => Promise.resolve(),
  saturated: false,
  onDrain: () => undefined,
  pending: 0,
  close: async () => undefined,
};

export function runGatewayServer(): void {
  let app: Fleetgate | undefined;
  serveRequests({
    start: async (raw): Promise<GatewayStarted> => {
      const a = raw as GatewayArgs;
      const clientId = `fg-bench-${process.pid}`;
      const config = loadConfig({
        gateway: { host: '127.0.0.1', port: 0, ...a.gateway },
        mqtt: { ...(a.mqttUrl ? { url: a.mqttUrl } : { embeddedPort: 0 }), clientId },
        http: { host: '127.0.0.1', port: 0 },
        // Sessions and the publish path are measured here, not the database: registrations stay
        // in memory, and the pipeline is PublishPipeline (or the null sink), as before the store.
        store: { kind: 'memory' },
        log: { level: 'silent' },
      });
      app = await startFleetgate(config, silentLog(), { http: true, ...(a.nullPipeline ? { pipeline: () => nullPipeline } : {}) });
      return { port: app.ports.gateway, http: app.ports.http, mqtt: app.ports.mqtt, clientId };
    },
    measure: async (): Promise<GatewaySample> => {
      if (!app) throw new Error('not started');
      // Status publishes of the last sessions still queued would count as session memory.
      await app.bus.flush(10_000);
      const m = await sampleMemory();
      const ctx = app.gateway.ctx;
      return { ...m, sessions: ctx.sessions.size, live: ctx.all.size, busBuffered: app.bus.stats.buffered };
    },
    cpu: () => cpuUs(),
    bus: () => app?.bus.stats,
    exit: async () => {
      await app?.close();
    },
  });
}
