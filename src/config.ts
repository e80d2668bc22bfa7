import { z } from 'zod';

/**
 * The one configuration object: a zod schema with units in the names, validated once at
 * start-up (a bad key is named in the message), then frozen and passed in. Environment
 * variables map onto it in `configFromEnv`.
 */
export const ConfigSchema = z.object({
  gateway: z.object({
    host: z.string().default('0.0.0.0'),
    /** TCP port terminals connect to. */
    port: z.number().int().min(0).max(65535).default(8808),
    /** The heartbeat interval terminals are told to use (parameter 0x0001); the idle timeout defaults to 3×. */
    heartbeatIntervalS: z.number().int().positive().default(60),
    /** Close a connection silent this long (default: three heartbeat intervals). */
    idleTimeoutMs: z.number().int().positive().optional(),
    /** Close a connection that holds an unfinished frame this long. */
    partialFrameTimeoutMs: z.number().int().positive().default(30_000),
    /** Largest escaped frame accepted, flags excluded (a full 1023-byte body escaped is ≤ 2090). */
    maxFrameBytes: z.number().int().min(64).default(4096),
    /** Frames per second one connection may send; more are refused and counted, then it is closed. */
    maxFramesPerSecond: z.number().int().positive().default(200),
    /** Connections held at once; more are closed on accept. */
    maxConnections: z.number().int().positive().default(100_000),
    /** Frames a connection may send before authenticating; then it is closed. */
    maxFramesBeforeAuth: z.number().int().min(1).default(5),
    /** What to do with a terminal that registers unknown: register it, or refuse with 0x8100 result 4. */
    unknownTerminals: z.enum(['register', 'reject']).default('register'),
    /** Bytes queued for a socket that does not drain before the connection is dropped. */
    maxWriteQueueBytes: z.number().int().positive().default(256 * 1024),
    /** Sub-package reassembly. */
    reassemblyTimeoutMs: z.number().int().positive().default(60_000),
    /** Re-request missing packets (0x8003) of a set this old. */
    reassemblyResendAfterMs: z.number().int().positive().default(10_000),
    reassemblyMaxBytesPerTerminal: z.number().int().positive().default(4 * 1024 * 1024),
    reassemblyMaxBytesTotal: z.number().int().positive().default(256 * 1024 * 1024),
    /** Messages waiting for the pipeline (all connections); above it sockets stop being read. */
    maxPendingMessages: z.number().int().positive().default(50_000),
  }).prefault({}),
  commands: z.object({
    /** Time to wait for a terminal's reply to one send. */
    replyTimeoutMs: z.number().int().positive().default(10_000),
    /** Sends after the first when no reply comes (JT/T 808 §2.4 retransmission). */
    retries: z.number().int().min(0).default(2),
    /** Commands in flight per terminal; more wait their turn. */
    windowPerTerminal: z.number().int().positive().default(4),
    /** Keep a command for an offline terminal this long. */
    offlineTtlMs: z.number().int().positive().default(24 * 3600_000),
    /** How long a synchronous HTTP request waits before answering 202 with an id to poll. */
    httpWaitMs: z.number().int().min(0).default(15_000),
  }).prefault({}),
  mqtt: z.object({
    /** External broker; unset = embedded broker (aedes) on `embeddedPort`. */
    url: z.string().url().optional(),
    embeddedPort: z.number().int().min(0).max(65535).default(1883),
    /** Interface of the embedded broker: loopback by default (it has no authentication); 0.0.0.0 to serve MQTT terminals elsewhere. */
    embeddedHost: z.string().default('127.0.0.1'),
    clientId: z.string().default('fleetgate'),
    /** Publishes held while the broker is unreachable; the oldest are dropped (counted) beyond it. */
    maxBufferedMessages: z.number().int().positive().default(100_000),
    /** Accept raw JT/T 808 frames on jt808/{id}/up. */
    ingress: z.boolean().default(true),
  }).prefault({}),
  http: z.object({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8080),
  }).prefault({}),
  store: z.object({
    /** 'database': PostgreSQL (DATABASE_URL) or the embedded PGlite; 'memory': nothing kept (tests). */
    kind: z.enum(['database', 'memory']).default('database'),
    /** PostgreSQL/TimescaleDB; unset = embedded PGlite under `dataDir`. */
    databaseUrl: z.string().optional(),
    /** Embedded database and spool live here. */
    dataDir: z.string().default('./data'),
    /** A batch is committed at this many rows or after this long, whichever comes first. */
    batchMaxRows: z.number().int().positive().default(2000),
    batchMaxMs: z.number().int().positive().default(50),
    /** Batches committing at once (each on a connection of its own, apart from the other queries). */
    maxInFlightBatches: z.number().int().positive().default(2),
    /**
     * PostgreSQL connections for everything else (registration, authentication, commands, API):
     * thousands of terminals (re)connecting at once run several queries each.
     */
    maxConnections: z.number().int().positive().default(16),
    /** Rows accepted and not yet durable before the gateway stops reading sockets. */
    maxPendingRows: z.number().int().positive().default(50_000),
    /** Local spool bound while the database is unreachable (then acknowledgements stop). */
    spoolMaxBytes: z.number().int().positive().default(1024 * 1024 * 1024),
    /** How often to try the database during an outage. */
    probeEveryMs: z.number().int().positive().default(1000),
    /** Days of positions kept (native partitions dropped past it; TimescaleDB has its own policy). */
    retentionDays: z.number().int().positive().default(400),
    /** ClickHouse mirror for analytics; unset = none. */
    clickhouseUrl: z.string().optional(),
    /** Archive every frame read and written, byte for byte, in `raw_frames` (forensic replay). */
    rawFrames: z.boolean().default(false),
    /** Days of raw frames kept (native partitions; TimescaleDB's policy keeps 30). */
    rawFramesRetentionDays: z.number().int().positive().default(30),
    /** Raw frames held while the database is slow or away; past it the oldest are dropped, counted. */
    rawFramesMaxBuffered: z.number().int().positive().default(200_000),
  }).prefault({}),
  rules: z.object({
    /** Evaluate geofence, behaviour and terminal-health rules on every stored position. */
    enabled: z.boolean().default(true),
    /** Sweep period: timers (offline), quiet late lanes, checkpoints. */
    sweepEveryMs: z.number().int().positive().default(1000),
    /**
     * Changed vehicle states are checkpointed to the store this often. A resume replays the
     * positions stored after a checkpoint, so this bounds that replay, not what can be lost.
     */
    checkpointEveryMs: z.number().int().positive().default(30_000),
    /**
     * A checkpoint's statements (1,000 vehicles each) are spread over this long, at most half the
     * interval, so the database writing them never holds up the position batches for long.
     */
    checkpointSpreadMs: z.number().int().min(0).default(10_000),
    /** A late lane (positions older than the live watermark) ends after this long without data. */
    lateLaneIdleMs: z.number().int().positive().default(60_000),
    /** GeoJSON FeatureCollection of geofences loaded at start-up (besides those stored in the database). */
    geofencesFile: z.string().optional(),
  }).prefault({}),
  log: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).prefault({}),
});

export type Config = z.infer<typeof ConfigSchema> & { gateway: { idleTimeoutMs: number } };
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  readonly code = 'FG_ERR_CONFIG';
}

/** Validates, fills defaults, derives, and freezes. Throws ConfigError naming the bad keys. */
export function loadConfig(input: ConfigInput = {}): Readonly<Config> {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  const c = parsed.data;
  const config = { ...c, gateway: { ...c.gateway, idleTimeoutMs: c.gateway.idleTimeoutMs ?? c.gateway.heartbeatIntervalS * 3000 } };
  return deepFreeze(config);
}

/** The environment variables fleetgate reads (documented in README). */
export function configFromEnv(env: NodeJS.ProcessEnv): ConfigInput {
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  return {
    gateway: { port: num(env.FLEETGATE_PORT), unknownTerminals: env.FLEETGATE_UNKNOWN_TERMINALS as 'register' | 'reject' | undefined },
    mqtt: { url: env.MQTT_URL || undefined, embeddedPort: num(env.FLEETGATE_MQTT_PORT), embeddedHost: env.FLEETGATE_MQTT_HOST || undefined },
    http: { port: num(env.FLEETGATE_HTTP_PORT) },
    store: {
      dataDir: env.FLEETGATE_DATA_DIR || undefined, databaseUrl: env.DATABASE_URL || undefined, clickhouseUrl: env.CLICKHOUSE_URL || undefined,
      rawFrames: env.FLEETGATE_RAW_FRAMES ? env.FLEETGATE_RAW_FRAMES === '1' || env.FLEETGATE_RAW_FRAMES === 'true' : undefined,
    },
    rules: { geofencesFile: env.FLEETGATE_GEOFENCES || undefined },
    log: { level: (env.LOG_LEVEL as Config['log']['level'] | undefined) ?? undefined },
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
