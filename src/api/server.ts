import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Gateway } from '../gateway/gateway.js';
import type { Sql } from '../store/sql.js';
import { registerFrameRoutes } from './frames.js';
import { registerTrackRoutes } from './tracks.js';
import { registerGeofenceRoutes } from './geofences.js';
import type { FenceIndex } from '../rules/geo/index.js';
import type { FenceRepository } from '../rules/geo/repository.js';
import type { Log } from '../log.js';
import type { RulesService } from '../rules/service.js';
import { registerRuleRoutes } from './rules.js';
import type { Metrics } from '../metrics.js';

export interface ApiDeps {
  gateway: Gateway;
  metrics: Metrics;
  log: Log;
  /** How long a command request waits for its result before answering 202 with an id to poll. */
  httpWaitMs: number;
  /** The track store, for the read routes (absent when nothing is stored). */
  sql?: Sql;
  /** The rules (thresholds, open events); absent when they do not run. */
  rules?: RulesService;
  /** Geofences: the store and the rules' live index (absent: no geofence routes). */
  geofences?: { fences: FenceIndex; repo: FenceRepository };
}

const TERMINAL = /^[0-9]{1,20}$/;

function apiError(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * HTTP API: terminals and their commands, health, and Prometheus metrics. Errors are JSON
 * `{ error: { code, message } }` with a 4xx status for the caller's mistakes.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  // Request logs are info level: the API logger starts at warn so a busy API does not flood the log.
  const log = deps.log.child({ component: 'api' }, { level: deps.log.isLevelEnabled('debug') ? 'debug' : 'warn' });
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit: 4 * 1024 * 1024 });
  const { gateway } = deps;

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/api/terminals', async () => ({ terminals: gateway.online().map((s) => s.describe()) }));

  app.get<{ Params: { id: string } }>('/api/terminals/:id', async (req, reply) => {
    if (!TERMINAL.test(req.params.id)) return reply.code(400).send(apiError('FG_ERR_BAD_TERMINAL', 'terminal id is 1–20 digits'));
    const id = req.params.id.padStart(req.params.id.length > 12 ? 20 : 12, '0');
    const s = gateway.ctx.sessions.get(id);
    const queued = await gateway.ctx.store.listCommands(id);
    if (!s && !(await gateway.ctx.store.getTerminal(id))) return reply.code(404).send(apiError('FG_ERR_NOT_FOUND', `terminal ${id} is unknown`));
    return { terminal: id, online: Boolean(s), session: s?.describe(), queuedCommands: queued.length };
  });

  app.post<{ Params: { id: string }; Body: { msgId?: number | string; body?: Record<string, unknown> | null; wait?: boolean } }>(
    '/api/terminals/:id/commands',
    async (req, reply) => {
      if (!TERMINAL.test(req.params.id)) return reply.code(400).send(apiError('FG_ERR_BAD_TERMINAL', 'terminal id is 1–20 digits'));
      const b = req.body ?? {};
      if (b.msgId === undefined) return reply.code(400).send(apiError('FG_ERR_BAD_COMMAND', 'msgId is required: a number, "0x8103", or a name such as "setParams"'));
      const terminal = req.params.id.padStart(req.params.id.length > 12 ? 20 : 12, '0');
      let submitted;
      try {
        submitted = await gateway.commands.submit({ terminal, msgId: b.msgId, body: b.body ?? null });
      } catch (e) {
        const err = e as { code?: string; message: string };
        return reply.code(400).send(apiError(err.code ?? 'FG_ERR_BAD_COMMAND', err.message));
      }
      const { record, done } = submitted;
      if (b.wait !== false) {
        const finished = await Promise.race([done, new Promise<undefined>((r) => setTimeout(r, deps.httpWaitMs))]);
        if (finished) return reply.code(200).send(finished);
      }
      return reply.code(202).header('location', `/api/commands/${record.id}`).send({ id: record.id, status: record.status, href: `/api/commands/${record.id}` });
    },
  );

  app.get<{ Params: { id: string } }>('/api/commands/:id', async (req, reply) => {
    const r = gateway.commands.get(req.params.id);
    if (!r) return reply.code(404).send(apiError('FG_ERR_NOT_FOUND', `no command ${req.params.id}`));
    return r;
  });

  if (deps.sql) registerTrackRoutes(app, { sql: deps.sql });
  if (deps.sql) registerFrameRoutes(app, { sql: deps.sql });
  if (deps.rules) registerRuleRoutes(app, deps.rules);
  if (deps.geofences) registerGeofenceRoutes(app, { ...deps.geofences, commands: gateway.commands, log: deps.log, httpWaitMs: deps.httpWaitMs });
  return app;
}
