import type { FastifyInstance } from 'fastify';
import { Jt808StreamDecoder, hexId, messageToJson, type DecodeResult } from '../protocol/jt808/index.js';
import { rawFrames, type RawFrameRow } from '../store/queries.js';
import type { Sql } from '../store/sql.js';
import { guarded, parseLimit, parseRange, parseTerminal } from './tracks.js';

/** One archived frame decoded again with today's decoder: what it was, or why it is not. */
export function replayFrame(r: RawFrameRow, decoder = new Jt808StreamDecoder()): Record<string, unknown> {
  const results: DecodeResult[] = [];
  decoder.push(r.frame, (res) => results.push(res));
  decoder.reset();
  return {
    receivedAt: r.receivedAt,
    direction: r.direction,
    msgId: r.msgId < 0 ? null : hexId(r.msgId),
    hex: r.frame.toString('hex'),
    ...(results.length === 0
      ? { error: { code: 'FG_ERR_FRAME_INCOMPLETE', message: 'no complete frame in the archived bytes' } }
      : results[0]!.ok
        ? { decoded: messageToJson(results[0]!.message) }
        : { error: { code: results[0]!.error.code, message: results[0]!.error.message } }),
  };
}

/**
 * Forensic replay of the raw-frame archive (`store.rawFrames`): a terminal's frames, both
 * directions, as they passed the gateway, each decoded again — `GET /api/terminals/{id}/frames?from&to&limit`.
 */
export function registerFrameRoutes(app: FastifyInstance, deps: { sql: Sql }): void {
  app.get(
    '/api/terminals/:id/frames',
    guarded(async (req) => {
      const terminal = parseTerminal(req.params.id);
      const range = parseRange(req.query);
      const limit = parseLimit(req.query.limit);
      const { frames, truncated } = await rawFrames(deps.sql, { terminal, ...range, limit });
      // Each direction keeps its own decoder: a terminal whose edition bit lies is decoded as the session did.
      const up = new Jt808StreamDecoder();
      up.editionFallback = true;
      const down = new Jt808StreamDecoder();
      return {
        terminal, from: range.from.toISOString(), to: range.to.toISOString(), truncated,
        frames: frames.map((f) => replayFrame(f, f.direction === 'up' ? up : down)),
      };
    }),
  );
}
