import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric fleetgate exports, in a private registry created at start-up and passed in.
 * Label names are fixed here; there is never a label per terminal.
 */
/** One label pair of fleetgate_frames_total: counted by the gateway, reported on collect. */
export interface FrameTally {
  labels: { msg_id: string; direction: string };
  total: number;
  reported: number;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const frameTally = new Map<string, FrameTally>();
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'fleetgate_process_' });
  const r = [registry];
  return {
    registry,
    connections: new Gauge({ name: 'fleetgate_connections', help: 'Open terminal connections (TCP and MQTT ingress)', labelNames: ['transport'] as const, registers: r }),
    connectionsTotal: new Counter({ name: 'fleetgate_connections_total', help: 'Connections accepted', labelNames: ['transport'] as const, registers: r }),
    connectionsClosed: new Counter({ name: 'fleetgate_connections_closed_total', help: 'Connections closed, by reason', labelNames: ['reason'] as const, registers: r }),
    sessions: new Gauge({ name: 'fleetgate_sessions', help: 'Sessions by state', labelNames: ['state'] as const, registers: r }),
    frames: new Counter({
      name: 'fleetgate_frames_total', help: 'Frames by message id and direction', labelNames: ['msg_id', 'direction'] as const, registers: r,
      // Counted in plain numbers (frameTally) on the hot path, twice a position; handed over when read.
      collect() {
        for (const t of frameTally.values()) {
          if (t.total > t.reported) this.inc(t.labels, t.total - t.reported);
          t.reported = t.total;
        }
      },
    }),
    frameTally,
    errors: new Counter({ name: 'fleetgate_errors_total', help: 'Malformed input and refusals, by error code', labelNames: ['code'] as const, registers: r }),
    ackLatency: new Histogram({
      name: 'fleetgate_ack_latency_seconds', help: 'Frame received to 0x8001 written, for locations (includes the durability wait)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r,
    }),
    queueDepth: new Gauge({ name: 'fleetgate_queue_depth', help: 'Items waiting, by queue', labelNames: ['queue'] as const, registers: r }),
    reassembly: new Gauge({ name: 'fleetgate_reassembly_sets', help: 'Sub-package sets being reassembled', registers: r }),
    reassemblyBytes: new Gauge({ name: 'fleetgate_reassembly_bytes', help: 'Bytes held for sub-package reassembly', registers: r }),
    commands: new Counter({ name: 'fleetgate_commands_total', help: 'Downlink commands by outcome', labelNames: ['outcome'] as const, registers: r }),
    mqttPublishFailures: new Counter({ name: 'fleetgate_mqtt_publish_failures_total', help: 'MQTT publishes that failed or were dropped from a full buffer', labelNames: ['reason'] as const, registers: r }),
    mqttBuffered: new Gauge({ name: 'fleetgate_mqtt_buffered', help: 'Publishes held while the broker is unreachable', registers: r }),
    storeRows: new Counter({ name: 'fleetgate_store_rows_total', help: 'Position rows by outcome (inserted, duplicate, spooled, rejected)', labelNames: ['result'] as const, registers: r }),
    storeBatchSeconds: new Histogram({ name: 'fleetgate_store_batch_seconds', help: 'Time to commit one batch of positions', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r }),
    storeOutage: new Gauge({ name: 'fleetgate_store_outage', help: '1 while the database is unreachable and positions go to the spool', registers: r }),
    spoolBytes: new Gauge({ name: 'fleetgate_spool_bytes', help: 'Bytes in the local spool waiting for the database', registers: r }),
    rulePositions: new Counter({ name: 'fleetgate_rule_positions_total', help: 'Positions through the rule engine: evaluated (all), of which late and replayed; skipped (duplicates, out of order in a late lane)', labelNames: ['lane'] as const, registers: r }),
    ruleEvents: new Counter({ name: 'fleetgate_rule_events_total', help: 'Rule event emissions, by rule, phase (start, end, instant) and late', labelNames: ['rule', 'phase', 'late'] as const, registers: r }),
    ruleEventsOpen: new Gauge({ name: 'fleetgate_rule_events_open', help: 'Rule events open now', registers: r }),
    ruleVehicles: new Gauge({ name: 'fleetgate_rule_vehicles', help: 'Vehicles whose rule state is held in memory', registers: r }),
    ruleCheckpoints: new Counter({ name: 'fleetgate_rule_checkpoints_total', help: 'Vehicle rule states written to the store', registers: r }),
    ruleEventStore: new Counter({ name: 'fleetgate_rule_event_store_total', help: 'Rule events written to the store, by outcome (stored, failed, dropped)', labelNames: ['result'] as const, registers: r }),
    ruleSweepSeconds: new Histogram({ name: 'fleetgate_rule_sweep_seconds', help: 'Time of one rule sweep (timers, late lanes, checkpoints)', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: r }),
    rawFrames: new Counter({ name: 'fleetgate_raw_frames_total', help: 'Frames for the raw-frame archive, by outcome (stored, dropped while the database was away)', labelNames: ['result'] as const, registers: r }),
    locationResends: new Counter({ name: 'fleetgate_location_resends_total', help: 'Location frames a terminal sent again before hearing the ack, answered without storing them twice: waited (the original was still being stored) or acked (already stored)', labelNames: ['outcome'] as const, registers: r }),
    backpressure: new Counter({ name: 'fleetgate_backpressure_total', help: 'Times reading was paused or a slow socket was dropped', labelNames: ['kind'] as const, registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
