/**
 * Table-driven fixtures (fixtures/jt808/messages/0xNNNN.json): hex frames built from the
 * standard's byte layouts independently of our encoder, with the values they must decode to.
 * Each is decoded whole, split at every offset, concatenated with its neighbours, and round-
 * tripped through the encoder to the identical bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MESSAGES } from '../protocols/jt808/index.js';
import {
  FrameReader, decodeFrame, decodeFrameAt, encodeMessage, messageToJson, normalise, type DecodeResult, type Jt808Message,
} from '../src/protocol/jt808/index.js';
import { contentOf, hexToBuf } from './support/hex.js';

interface Case {
  name: string;
  edition: 2011 | 2013 | 2019;
  hex: string;
  terminal: string;
  serial: number;
  body: Record<string, unknown>;
}

const DIR = fileURLToPath(new URL('../fixtures/jt808/messages/', import.meta.url));
const files = readdirSync(DIR).filter((f) => /^0x[0-9a-f]{4}\.json$/.test(f)).sort();
const byId = new Map<number, Case[]>(files.map((f) => [parseInt(f.slice(2, 6), 16), JSON.parse(readFileSync(DIR + f, 'utf8')) as Case[]]));

/** Feeds chunks through a frame reader; returns each decoded message as JSON (errors as their codes). */
function stream(chunks: Buffer[], edition?: Case['edition']): unknown[] {
  const out: unknown[] = [];
  const reader = new FrameReader();
  const sink = {
    frame: (c: Buffer, s: number, e: number) => out.push(view(decodeFrameAt(c, s, e, { edition: edition === 2011 ? 2011 : undefined }))),
    error: (e: { code: string }) => out.push(e.code),
  };
  for (const c of chunks) reader.push(c, sink);
  return out;
}

const view = (r: DecodeResult): unknown => (r.ok ? messageToJson(r.message) : r.error.code);

function decodeCase(c: Case): Jt808Message {
  // 2011 shares the 2013 header: a terminal registered as 2011 is decoded with that edition.
  const r = decodeFrame(contentOf(hexToBuf(c.hex)), c.edition === 2011 ? { edition: 2011 } : {});
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.message;
}

describe('fixture coverage', () => {
  it('has a fixture file for every declared message', () => {
    const missing = [...MESSAGES.keys()].filter((id) => !byId.has(id)).map((id) => '0x' + id.toString(16).padStart(4, '0'));
    expect(missing).toEqual([]);
  });
  it('has at least one case for every edition each message is declared in', () => {
    const missing: string[] = [];
    for (const [id, decl] of MESSAGES) {
      const cases = byId.get(id) ?? [];
      for (const ed of decl.editions) if (!cases.some((c) => c.edition === ed)) missing.push(`0x${id.toString(16).padStart(4, '0')}@${ed}`);
    }
    expect(missing).toEqual([]);
  });
});

for (const [id, cases] of byId) {
  const label = '0x' + id.toString(16).padStart(4, '0');
  describe(`${label} ${MESSAGES.get(id)?.name ?? '(undeclared)'}`, () => {
    for (const c of cases) {
      const frame = hexToBuf(c.hex);
      it(`${c.name} (${c.edition}): decodes to its values`, () => {
        const m = decodeCase(c);
        expect(m.msgId).toBe(id);
        expect(m.terminal).toBe(c.terminal);
        expect(m.serial).toBe(c.serial);
        expect(m.version).toBe(c.edition);
        expect(m.problems, JSON.stringify(m.problems)).toBeUndefined();
        expect(normalise(m.body ?? {})).toMatchObject(c.body);
      });

      it(`${c.name} (${c.edition}): encodes back to the same bytes`, () => {
        const m = decodeCase(c);
        const { frames } = encodeMessage({ msgId: id, terminal: m.terminal, serial: m.serial, version: m.version, body: m.body });
        expect(frames).toHaveLength(1);
        expect(frames[0]!.toString('hex')).toBe(frame.toString('hex'));
      });

      it(`${c.name} (${c.edition}): split at every offset decodes the same`, () => {
        const whole = stream([frame], c.edition);
        expect(whole).toHaveLength(1);
        for (let at = 1; at < frame.length; at++) {
          expect(stream([frame.subarray(0, at), frame.subarray(at)], c.edition)).toEqual(whole);
        }
      });
    }

    // 2011 frames share the 2013 header: a stream is decoded with one terminal's edition.
    for (const group of [cases.filter((c) => c.edition !== 2011), cases.filter((c) => c.edition === 2011)]) {
      if (group.length === 0) continue;
      const ed = group[0]!.edition === 2011 ? 2011 : undefined;
      it(`all ${ed ?? '2013/2019'} cases concatenated, with garbage between, in 7-byte chunks, decode in order`, () => {
        const expected = group.map((c) => stream([hexToBuf(c.hex)], ed)[0]);
        const garbage = Buffer.from([0x01, 0x02, 0x03]);
        const joined = Buffer.concat(group.flatMap((c) => [hexToBuf(c.hex), garbage]));
        const chunks: Buffer[] = [];
        for (let i = 0; i < joined.length; i += 7) chunks.push(joined.subarray(i, i + 7));
        const got = stream(chunks, ed);
        // Garbage between two frames comes out as one failed frame (reported, not silent); the
        // garbage after the last frame is a partial frame still waiting for its closing flag.
        expect(got.filter((g) => typeof g === 'string')).toEqual(new Array(group.length - 1).fill('FG_ERR_TRUNCATED'));
        expect(got.filter((g) => typeof g !== 'string')).toEqual(expected);
      });
    }
  });
}
