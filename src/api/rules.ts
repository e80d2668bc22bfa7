import type { FastifyInstance } from 'fastify';
import { eventToJson } from '../rules/recorder.js';
import type { RulesService } from '../rules/service.js';
import { THRESHOLD_SCOPES, ThresholdOverride, type ThresholdScope } from '../rules/thresholds.js';

const TERMINAL = /^[0-9]{1,20}$/;
const SCOPE_ID = /^[\p{L}\p{N}_.:\- ]{1,200}$/u;

const apiError = (code: string, message: string) => ({ error: { code, message } });
const terminalId = (raw: string): string => raw.padStart(raw.length > 12 ? 20 : 12, '0');

/**
 * The rules over HTTP: thresholds per organisation, vehicle group and vehicle, changed at run
 * time (stored, then in force for the next position, no restart), the thresholds a vehicle
 * gets after overrides, and the events open now. Stored events are under `/api/events`.
 */
export function registerRuleRoutes(app: FastifyInstance, rules: RulesService): void {
  const { thresholds } = rules;

  app.get('/api/rules', async () => ({
    rules: rules.engine.ruleNames, defaults: thresholds.defaultThresholds, overrides: thresholds.list(),
  }));

  app.get('/api/rules/thresholds', async () => ({ defaults: thresholds.defaultThresholds, overrides: thresholds.list() }));

  const scopeOf = (raw: string): ThresholdScope | undefined => (THRESHOLD_SCOPES as readonly string[]).includes(raw) ? (raw as ThresholdScope) : undefined;
  const target = (p: { scope: string; id: string }): { scope: ThresholdScope; id: string } | { error: string } => {
    const scope = scopeOf(p.scope);
    if (!scope) return { error: `scope is one of ${THRESHOLD_SCOPES.join(', ')}` };
    if (!SCOPE_ID.test(p.id)) return { error: 'id is 1–200 letters, digits, spaces or _.:-' };
    if (scope === 'vehicle') {
      if (!TERMINAL.test(p.id)) return { error: 'a vehicle is named by its terminal id (1–20 digits)' };
      return { scope, id: terminalId(p.id) };
    }
    return { scope, id: p.id };
  };

  app.get<{ Params: { scope: string; id: string } }>('/api/rules/thresholds/:scope/:id', async (req, reply) => {
    const t = target(req.params);
    if ('error' in t) return reply.code(400).send(apiError('FG_ERR_BAD_PARAM', t.error));
    const o = thresholds.get(t.scope, t.id);
    if (!o) return reply.code(404).send(apiError('FG_ERR_NOT_FOUND', `no thresholds for ${t.scope} ${t.id}`));
    return { ...t, thresholds: o };
  });

  app.put<{ Params: { scope: string; id: string }; Body: unknown }>('/api/rules/thresholds/:scope/:id', async (req, reply) => {
    const t = target(req.params);
    if ('error' in t) return reply.code(400).send(apiError('FG_ERR_BAD_PARAM', t.error));
    const parsed = ThresholdOverride.safeParse(req.body ?? {});
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      return reply.code(400).send(apiError('FG_ERR_BAD_THRESHOLDS', msg));
    }
    // Stored first: what the API confirms survives a restart.
    await rules.thresholdStore?.save(t.scope, t.id, parsed.data);
    thresholds.set(t.scope, t.id, parsed.data);
    return { ...t, thresholds: parsed.data };
  });

  app.delete<{ Params: { scope: string; id: string } }>('/api/rules/thresholds/:scope/:id', async (req, reply) => {
    const t = target(req.params);
    if ('error' in t) return reply.code(400).send(apiError('FG_ERR_BAD_PARAM', t.error));
    const stored = (await rules.thresholdStore?.delete(t.scope, t.id)) ?? false;
    const held = thresholds.delete(t.scope, t.id);
    if (!stored && !held) return reply.code(404).send(apiError('FG_ERR_NOT_FOUND', `no thresholds for ${t.scope} ${t.id}`));
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/api/terminals/:id/thresholds', async (req, reply) => {
    if (!TERMINAL.test(req.params.id)) return reply.code(400).send(apiError('FG_ERR_BAD_TERMINAL', 'terminal id is 1–20 digits'));
    const terminal = terminalId(req.params.id);
    const info = await rules.vehicleInfo(terminal);
    return { terminal, vehicle: info, thresholds: thresholds.resolve(info) };
  });

  app.get<{ Querystring: { terminal?: string } }>('/api/events/open', async (req, reply) => {
    const raw = req.query.terminal;
    if (raw !== undefined && !TERMINAL.test(raw)) return reply.code(400).send(apiError('FG_ERR_BAD_TERMINAL', 'terminal id is 1–20 digits'));
    return { events: rules.engine.openEvents(raw === undefined ? undefined : terminalId(raw)).map(eventToJson) };
  });
}
