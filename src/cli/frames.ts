import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { replayFrame } from '../api/frames.js';
import { normaliseTerminal, parseIsoTime } from '../api/tracks.js';
import { configFromEnv, loadConfig, type ConfigInput } from '../config.js';
import { Jt808StreamDecoder } from '../protocol/jt808/index.js';
import { openSql } from '../store/index.js';
import { rawFrames } from '../store/queries.js';

export const FRAMES_USAGE = `fleetgate frames --terminal <id> --from <ISO time> --to <ISO time> [--limit 10000]
                            a terminal's archived frames (store.rawFrames), both directions, decoded again: one JSON line each`;

/**
 * `fleetgate frames`: forensic replay of the raw-frame archive from the command line — the same
 * rows and decoding as `GET /api/terminals/{id}/frames`, read straight from DATABASE_URL or the
 * embedded PGlite. Exit 0 with the frames, 1 on a bad argument or an unreachable database.
 */
export async function runFrames(args: string[], out: Writable, err: Writable, input: ConfigInput = configFromEnv(process.env)): Promise<number> {
  let values: { terminal?: string; from?: string; to?: string; limit?: string };
  try {
    ({ values } = parseArgs({ args, options: { terminal: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' } }, strict: true }));
  } catch (e) {
    err.write(`${(e as Error).message}\n${FRAMES_USAGE}\n`);
    return 1;
  }
  const from = parseIsoTime(values.from);
  const to = parseIsoTime(values.to);
  const limit = values.limit === undefined ? 10_000 : Number(values.limit);
  const terminal = normaliseTerminal(values.terminal);
  if (!terminal || !from || !to || from >= to || !(Number.isInteger(limit) && limit >= 1 && limit <= 1_000_000)) {
    err.write(`--terminal (digits), --from and --to (ISO 8601 with an offset, from before to) are required; --limit 1–1,000,000\n${FRAMES_USAGE}\n`);
    return 1;
  }
  const sql = await openSql(loadConfig(input).store);
  try {
    const { frames, truncated } = await rawFrames(sql, { terminal, from, to, limit });
    const up = new Jt808StreamDecoder();
    up.editionFallback = true;
    const down = new Jt808StreamDecoder();
    for (const f of frames) out.write(JSON.stringify(replayFrame(f, f.direction === 'up' ? up : down)) + '\n');
    if (truncated) err.write(`more than ${limit} frames in the range: narrow it or raise --limit\n`);
    return 0;
  } catch (e) {
    err.write(`frames: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await sql.close();
  }
}
