/**
 * Geofence routes: GeoJSON import/export over the store (`FenceRepository`), kept in step with
 * the rules' live `FenceIndex`, and pushing fences to terminals as JT/T 808 area/route commands
 * through the command service.
 *
 *   GET    /api/geofences[?kind=]      FeatureCollection (ordered by id)
 *   GET    /api/geofences/:id          Feature, or 404 FG_ERR_NOT_FOUND
 *   PUT    /api/geofences              import a FeatureCollection: every fence valid or none stored;
 *                                      fences with other ids are kept (an upsert, not a replace-all)
 *   PUT    /api/geofences/:id          one Feature (its id, if any, must be the URL's)
 *   DELETE /api/geofences/:id          204, or 404
 *   POST   /api/geofences/:id/push     { terminals, action?: "set" | "delete", outerRingOnly?, wait? } → 202
 *                                      { fence, areaId, action, msgIds, results: [{ terminal, commandIds, status, ok }] },
 *                                      having waited up to httpWaitMs for the replies to what was sent
 *
 * An invalid fence answers 400 `{ error: { code, message, fenceId } }` with the FenceError code
 * (FG_ERR_BAD_GEOMETRY, FG_ERR_BAD_FENCE) of the first bad fence; a valid fence that no JT/T 808
 * area can express answers 422 FG_ERR_NOT_PUSHABLE (see src/rules/geo/push.ts). The index is
 * changed only after the store has committed, so it never holds what the store refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CommandRecord, CommandService, CommandStatus } from '../gateway/commands.js';
import type { Log } from '../log.js';
import { FENCE_KINDS, FenceError, FenceErrorCode, type Fence, type FenceIndex, type FenceKind } from '../rules/geo/index.js';
import { fenceFromGeoJSON, fencesToGeoJSON, fenceToGeoJSON } from '../rules/geo/geojson.js';
import { areaIdConflict, areaIdOf, fenceDeleteCommand, fencePushCommands, FencePushError, type FenceCommand } from '../rules/geo/push.js';
import type { FenceRepository } from '../rules/geo/repository.js';

export interface GeofenceRouteDeps {
  /** The live index the rules read; replaced/removed after each committed change. */
  fences: FenceIndex;
  repo: FenceRepository;
  commands: Pick<CommandService, 'submit'>;
  log: Log;
  /** How long a push waits for the terminals' replies before answering (default 0: answer at once). */
  httpWaitMs?: number;
}

/** Limits of the geofence API. */
export const GEOFENCE_LIMITS = {
  /** Jurisdiction boundaries are large: an import may be bigger than the API's default body limit. */
  importBodyBytes: 32 * 1024 * 1024,
  maxIdLength: 256,
  maxPushTerminals: 1000,
} as const;

const TERMINAL = /^[0-9]{1,20}$/;

interface ErrorBody {
  error: { code: string; message: string; fenceId?: string };
}

/** A caller's mistake: answered with `status` and `{ error: { code, message[, fenceId] } }`. */
class RequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly fenceId?: string) {
    super(message);
  }
}

const notFound = (id: string) => new RequestError(404, 'FG_ERR_NOT_FOUND', `no geofence ${JSON.stringify(id)}`);

function fenceRefused(e: FenceError, fenceId?: string): RequestError {
  return new RequestError(400, e.code, e.message, e.fenceId ?? fenceId);
}

type Handler = (req: FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, unknown>; Body: unknown }>, reply: FastifyReply) => Promise<unknown>;

/** Answers a RequestError with its status and coded body; anything else stays a 500. */
function answer(fn: Handler): Handler {
  return async (req, reply) => {
    try {
      return await fn(req, reply);
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      const body: ErrorBody = { error: { code: e.code, message: e.message } };
      if (e.fenceId !== undefined) body.error.fenceId = e.fenceId;
      return reply.code(e.status).send(body);
    }
  };
}

function fenceIdParam(v: string | undefined): string {
  if (!v || v.length > GEOFENCE_LIMITS.maxIdLength) {
    throw new RequestError(400, FenceErrorCode.BAD_FENCE, `a geofence id is 1–${GEOFENCE_LIMITS.maxIdLength} characters`);
  }
  return v;
}

/** The id a Feature names itself by (as fenceFromGeoJSON reads it), for error reports. */
function featureId(f: unknown): string | undefined {
  if (f === null || typeof f !== 'object') return undefined;
  const { id, properties } = f as { id?: unknown; properties?: { id?: unknown } | null };
  const raw = id ?? properties?.id;
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
}

/** Every Feature of a collection as a fence; the first bad one (or a repeated id) is refused. */
function parseCollection(body: unknown): Fence[] {
  const features = (body as { type?: unknown; features?: unknown } | null)?.features;
  if ((body as { type?: unknown } | null)?.type !== 'FeatureCollection' || !Array.isArray(features)) {
    throw new RequestError(400, FenceErrorCode.BAD_FENCE, 'the body must be a GeoJSON FeatureCollection');
  }
  const seen = new Set<string>();
  return features.map((feature: unknown, i) => {
    let fence: Fence;
    try {
      fence = fenceFromGeoJSON(feature);
    } catch (e) {
      if (!(e instanceof FenceError)) throw e;
      throw new RequestError(400, e.code, `feature ${i}: ${e.message}`, e.fenceId ?? featureId(feature));
    }
    if (seen.has(fence.id)) throw new RequestError(400, FenceErrorCode.BAD_FENCE, `feature ${i}: the id appears twice in the collection`, fence.id);
    seen.add(fence.id);
    return fence;
  });
}

/** One Feature for the URL's id: an id in the Feature must be that id. */
function parseFeature(body: unknown, id: string): Fence {
  const own = featureId(body);
  if (own !== undefined && own !== id) {
    throw new RequestError(400, FenceErrorCode.BAD_FENCE, `the Feature's id ${JSON.stringify(own)} is not the URL's ${JSON.stringify(id)}`, id);
  }
  const feature = body !== null && typeof body === 'object' ? { ...(body as object), id } : body;
  try {
    return fenceFromGeoJSON(feature);
  } catch (e) {
    if (e instanceof FenceError) throw fenceRefused(e, id);
    throw e;
  }
}

interface PushRequest {
  terminals?: unknown;
  action?: unknown;
  outerRingOnly?: unknown;
  wait?: unknown;
}

function parseTerminals(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > GEOFENCE_LIMITS.maxPushTerminals || !v.every((t) => typeof t === 'string' && TERMINAL.test(t))) {
    throw new RequestError(400, 'FG_ERR_BAD_TERMINAL', `terminals is a list of 1–${GEOFENCE_LIMITS.maxPushTerminals} terminal ids of 1–20 digits`);
  }
  // As in the header: 12 BCD digits (20 in 2019), leading zeros kept.
  return [...new Set((v as string[]).map((t) => t.padStart(t.length > 12 ? 20 : 12, '0')))];
}

/** What became of one terminal's commands: the first not answered, or answered; ok = all answered with result 0. */
export interface PushResult {
  terminal: string;
  commandIds: string[];
  status: CommandStatus;
  ok: boolean;
  /** The terminal's 0x0001 result when not 0 (1 failure, 2 message error, 3 not supported). */
  result?: number;
  error?: string;
}

function summarise(terminal: string, records: CommandRecord[]): PushResult {
  const pending = records.find((r) => r.status !== 'answered' || (r.result !== undefined && r.result !== 0));
  const out: PushResult = {
    terminal, commandIds: records.map((r) => r.id), status: pending?.status ?? 'answered', ok: pending === undefined,
  };
  if (pending?.result !== undefined && pending.result !== 0) out.result = pending.result;
  if (pending?.error !== undefined) out.error = pending.error;
  return out;
}

export function registerGeofenceRoutes(app: FastifyInstance, deps: GeofenceRouteDeps): void {
  const { fences, repo, commands, log } = deps;
  if (!app.hasContentTypeParser('application/geo+json')) {
    app.addContentTypeParser('application/geo+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  }

  /** Applies committed fences to the live index; a failure here is logged (the store has them). */
  const applyToIndex = (committed: readonly Fence[]): void => {
    for (const f of committed) {
      try {
        fences.replace(f);
      } catch (e) {
        log.error({ err: (e as Error).message, fence: f.id }, 'geofence stored but not indexed');
      }
    }
  };

  app.get('/api/geofences', answer(async (req) => {
    const kind = req.query.kind;
    if (kind !== undefined && !FENCE_KINDS.includes(kind as FenceKind)) {
      throw new RequestError(400, 'FG_ERR_BAD_KIND', `kind is one of ${FENCE_KINDS.join(', ')}`);
    }
    return fencesToGeoJSON(await repo.list(kind === undefined ? {} : { kind: kind as FenceKind }));
  }));

  app.get('/api/geofences/:id', answer(async (req) => {
    const id = fenceIdParam(req.params.id);
    const fence = await repo.get(id);
    if (!fence) throw notFound(id);
    return fenceToGeoJSON(fence);
  }));

  app.put('/api/geofences', { bodyLimit: GEOFENCE_LIMITS.importBodyBytes }, answer(async (req) => {
    const imported = parseCollection(req.body);
    await repo.upsert(imported);
    applyToIndex(imported);
    return { imported: imported.length, ids: imported.map((f) => f.id) };
  }));

  app.put('/api/geofences/:id', { bodyLimit: GEOFENCE_LIMITS.importBodyBytes }, answer(async (req) => {
    const fence = parseFeature(req.body, fenceIdParam(req.params.id));
    await repo.upsert([fence]);
    applyToIndex([fence]);
    return fenceToGeoJSON(fence);
  }));

  app.delete('/api/geofences/:id', answer(async (req, reply) => {
    const id = fenceIdParam(req.params.id);
    if (!(await repo.remove(id))) throw notFound(id);
    fences.remove(id);
    return reply.code(204).send();
  }));

  app.post('/api/geofences/:id/push', answer(async (req, reply) => {
    const id = fenceIdParam(req.params.id);
    const b = (req.body ?? {}) as PushRequest;
    const terminals = parseTerminals(b.terminals);
    const action = b.action ?? 'set';
    if (action !== 'set' && action !== 'delete') throw new RequestError(400, 'FG_ERR_BAD_COMMAND', 'action is "set" or "delete"');
    const fence = await repo.get(id);
    if (!fence) throw notFound(id);
    const toSend = action === 'set' ? setCommands(fence, b.outerRingOnly === true) : [fenceDeleteCommand(fence)];
    const sent = await Promise.all(terminals.map((t) => submitAll(t, toSend)));
    if (b.wait !== false && (deps.httpWaitMs ?? 0) > 0) {
      // Wait for what went out; a command queued (offline terminal, or a full window) is reported as queued.
      const done = Promise.all(sent.flatMap((s) => s.done.filter((_, i) => s.records[i]!.status !== 'queued')));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, deps.httpWaitMs)))]);
      clearTimeout(timer);
    }
    return reply.code(202).send({
      fence: fence.id, areaId: areaIdOf(fence.id), action,
      msgIds: toSend.map((c) => `0x${c.msgId.toString(16).padStart(4, '0')}`),
      results: sent.map((s) => (s.error === undefined ? summarise(s.terminal, s.records) : { terminal: s.terminal, commandIds: s.records.map((r) => r.id), status: 'failed', ok: false, error: s.error })),
    });
  }));

  /** The set command(s), refused when the fence's area id is another fence's (same shape) or no area can express it. */
  function setCommands(fence: Fence, outerRingOnly: boolean): FenceCommand[] {
    const other = areaIdConflict(fence, fences.fences());
    if (other) {
      throw new RequestError(409, 'FG_ERR_AREA_ID_CONFLICT', `fences ${JSON.stringify(fence.id)} and ${JSON.stringify(other.id)} hash to the same terminal area id; rename one`, fence.id);
    }
    try {
      return fencePushCommands(fence, { outerRingOnly }).commands;
    } catch (e) {
      if (e instanceof FencePushError) throw new RequestError(422, e.code, e.message, e.fenceId);
      throw e;
    }
  }

  async function submitAll(terminal: string, toSend: FenceCommand[]): Promise<{ terminal: string; records: CommandRecord[]; done: Promise<CommandRecord>[]; error?: string }> {
    const records: CommandRecord[] = [];
    const done: Promise<CommandRecord>[] = [];
    try {
      for (const c of toSend) {
        const s = await commands.submit({ terminal, msgId: c.msgId, body: c.body });
        records.push(s.record);
        done.push(s.done);
      }
    } catch (e) {
      log.warn({ err: (e as Error).message, terminal }, 'geofence push refused by the command service');
      return { terminal, records, done, error: `${(e as { code?: string }).code ?? 'FG_ERR_BAD_COMMAND'}: ${(e as Error).message}` };
    }
    return { terminal, records, done };
  }
}

