import type { Jt808Error, Jt808Message } from './decoder.js';

/**
 * The public JSON of a decoded message (architecture.md "Decoded location JSON"): header fields
 * then the body fields at the top level. Buffers print as hex, Dates as ISO 8601 UTC, flag
 * words as `{ value, flags }`.
 */
export function messageToJson(m: Jt808Message): Record<string, unknown> {
  const out: Record<string, unknown> = {
    terminal: m.terminal,
    msgId: hexId(m.msgId),
    msgName: m.msgName,
    serial: m.serial,
    version: m.version,
  };
  if (m.protocolVersion !== undefined) out.protocolVersion = m.protocolVersion;
  if (m.subpackage) out.subpackage = m.subpackage;
  if (m.encryption) out.encryption = m.encryption;
  if (!m.checksumOk) out.checksumOk = false;
  if (m.body) {
    // A body with its own JSON form (a Location keeps integers and exposes units) flattens that.
    const body = m.body as { toJSON?: () => Record<string, unknown> };
    Object.assign(out, typeof body.toJSON === 'function' ? body.toJSON() : body);
  }
  if (m.raw) out.raw = m.raw;
  if (m.problems) out.problems = m.problems;
  return normalise(out) as Record<string, unknown>;
}

export function errorToJson(e: Jt808Error): Record<string, unknown> {
  return normalise({ ...e, msgId: e.msgId === undefined ? undefined : hexId(e.msgId) }) as Record<string, unknown>;
}

export function hexId(id: number): string {
  return '0x' + id.toString(16).padStart(4, '0');
}

/** Deep-converts Buffers to hex and applies toJSON, so the result is plain JSON data. */
export function normalise(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (v instanceof Date) return v.toISOString();
  const withJson = v as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return normalise(withJson.toJSON());
  if (Array.isArray(v)) return v.map(normalise);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = normalise(x);
  return out;
}
