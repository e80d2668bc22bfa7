import { createBus } from './bus/index.js';
import { topics, type Bus } from './bus/types.js';
import type { Config } from './config.js';
import { Gateway } from './gateway/gateway.js';
import { buildApi } from './api/server.js';
import type { Log } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PublishPipeline } from './pipeline/publish.js';
import type { Pipeline } from './pipeline/types.js';
import { StorePipeline } from './pipeline/store.js';
import { RulesService } from './rules/service.js';
import { ClickHouseSink } from './store/clickhouse.js';
import { openStorage, type Storage } from './store/index.js';
import { MemoryTerminalStore } from './store/memory.js';
import type { TerminalStore } from './store/types.js';

export interface Fleetgate {
  config: Readonly<Config>;
  gateway: Gateway;
  bus: Bus;
  metrics: Metrics;
  /** The rule engine and what it reads (absent when `rules.enabled` is false). */
  rules?: RulesService;
  /** The database side, unless `store.kind` is 'memory'. */
  storage?: Storage;
  /** Bound ports (useful when the config asked for 0). */
  ports: { gateway: number; http: number; mqtt?: number };
  close(): Promise<void>;
}

export interface StartOptions {
  store?: TerminalStore;
  /** Replace the pipeline (tests: a stalled consumer; benchmarks: a null sink). */
  pipeline?: (bus: Bus) => Pipeline;
  metrics?: Metrics;
  http?: boolean;
}

/**
 * The composition root: config, log, metrics, bus, store, pipeline, gateway and API are built
 * here and passed in; nothing is a module global, so a test can start several in one process.
 */
export async function startFleetgate(config: Readonly<Config>, log: Log, opts: StartOptions = {}): Promise<Fleetgate> {
  const metrics = opts.metrics ?? createMetrics({ defaultMetrics: true });
  const { bus, broker } = await createBus(config.mqtt, log, metrics);
  const storage = config.store.kind === 'database' ? await openStorage(config.store, log, metrics) : undefined;
  const store = opts.store ?? storage?.terminals ?? new MemoryTerminalStore();
  // ClickHouse mirrors committed rows; it queues and retries on its own and never holds an ack.
  const clickhouse = storage && config.store.clickhouseUrl ? await ClickHouseSink.open(config.store.clickhouseUrl, log, metrics) : undefined;
  // Rules see positions once committed (with a store) or as they are published (without one).
  const rules = config.rules.enabled ? await RulesService.start({ config, bus, metrics, log, ...(storage ? { sql: storage.sql } : {}) }) : undefined;
  const publish = new PublishPipeline(bus, config.gateway.maxPendingMessages, storage ? undefined : rules);
  const mirrors = [clickhouse, rules].filter((m): m is NonNullable<typeof m> => m !== undefined);
  const pipeline = opts.pipeline
    ? opts.pipeline(bus)
    : storage
      ? new StorePipeline(storage.writer, publish, config.store.maxPendingRows, mirrors)
      : publish;
  // Positions an earlier run spooled and never committed: replayed now that the rules and the
  // mirror listen to commits, before terminals connect.
  await storage?.writer.recover();
  const gateway = new Gateway({ config, log, metrics, store, pipeline, bus, ...(storage?.archive ? { archive: storage.archive } : {}) });
  const gatewayPort = await gateway.listen();
  if (config.mqtt.ingress) await gateway.attachMqttIngress();
  await subscribeCommandRequests(bus, gateway, log);

  let httpPort = 0;
  const api = opts.http === false ? undefined : buildApi({
    gateway, metrics, log, httpWaitMs: config.commands.httpWaitMs, sql: storage?.sql,
    ...(rules ? { rules } : {}),
    ...(rules?.fenceRepo ? { geofences: { fences: rules.fences, repo: rules.fenceRepo } } : {}),
  });
  if (api) {
    await api.listen({ host: config.http.host, port: config.http.port });
    httpPort = (api.server.address() as { port: number }).port;
    log.info({ port: httpPort }, 'HTTP API listening');
  }
  return {
    config, gateway, bus, metrics, storage, ...(rules ? { rules } : {}),
    ports: { gateway: gatewayPort, http: httpPort, mqtt: broker?.port },
    async close() {
      await api?.close();
      await gateway.close();
      await pipeline.close();
      await rules?.close();
      await storage?.close();
      await clickhouse?.close(2000);
      await bus.flush(2000);
      await bus.close();
      await broker?.close();
      await store.close();
    },
  };
}

/** Commands over MQTT: JSON `{ requestId, msgId, body }` on …/cmd/req, results on …/cmd/res. */
async function subscribeCommandRequests(bus: Bus, gateway: Gateway, log: Log): Promise<void> {
  await bus.subscribe(topics.cmdReqAll, (topic, payload) => {
    const terminal = topic.split('/')[3]!;
    let req: { requestId?: string; msgId?: number | string; body?: Record<string, unknown> | null };
    try {
      req = JSON.parse(payload.toString('utf8'));
    } catch {
      bus.publish(topics.cmdRes(terminal), JSON.stringify({ status: 'failed', error: { code: 'FG_ERR_BAD_COMMAND', message: 'payload is not JSON' } }), { qos: 1 });
      return;
    }
    const requestId = req.requestId ?? '';
    gateway.commands.submit({ terminal, msgId: req.msgId ?? '', body: req.body ?? null, requestId }).then(
      ({ record }) => {
        if (record.status === 'queued') bus.publish(topics.cmdRes(terminal), JSON.stringify(record), { qos: 1 });
      },
      (e: { code?: string; message: string }) => {
        log.debug({ terminal, err: e.message }, 'MQTT command refused');
        bus.publish(topics.cmdRes(terminal), JSON.stringify({ requestId, terminal, status: 'failed', error: { code: e.code ?? 'FG_ERR_BAD_COMMAND', message: e.message } }), { qos: 1 });
      },
    );
  });
}
