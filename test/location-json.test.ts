import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Location } from '../protocols/jt808/index.js';
import { LocationJson } from '../src/pipeline/location-json.js';
import { decodeFrame, messageToJson, normalise } from '../src/protocol/jt808/index.js';

const dir = fileURLToPath(new URL('../fixtures/jt808/messages/', import.meta.url));
const real = JSON.parse(readFileSync(fileURLToPath(new URL('../../shared/fixtures/jt808-real-frames.json', import.meta.url)), 'utf8')) as { hex: string; msgId: string }[];
const frames = [
  ...readdirSync(dir).filter((f) => f === '0x0200.json' || f === '0x0704.json').flatMap((f) => (JSON.parse(readFileSync(dir + f, 'utf8')) as { hex: string; edition: number }[]).map((c) => ({ hex: c.hex, edition: c.edition }))),
  ...real.filter((e) => e.msgId === '0x0200' || e.msgId === '0x0704').map((e) => ({ hex: e.hex.replace(/[^0-9a-fA-F]/g, ''), edition: 0 })),
];

describe('LocationJson (the fast published form)', () => {
  it(`is byte for byte the generic JSON for every location fixture (${frames.length} frames)`, () => {
    const fast = new LocationJson();
    const at = '2026-11-29T04:00:00.000Z';
    let checked = 0;
    for (const f of frames) {
      const buf = Buffer.from(f.hex, 'hex');
      const r = decodeFrame(buf.subarray(1, -1), { checksum: 'accept', bodyLength: 'accept', edition: f.edition === 2011 ? 2011 : undefined });
      if (!r.ok || !r.message.body) continue;
      const m = r.message;
      if (m.msgId === 0x0200) {
        expect(fast.message(m, m.body as unknown as Location, at)).toBe(JSON.stringify({ ...messageToJson(m), receivedAt: at }));
        checked++;
      } else {
        const body = m.body as { batchType: number; locations: Location[] };
        for (const loc of body.locations) {
          const generic = JSON.stringify({ terminal: m.terminal, msgId: '0x0704', serial: m.serial, version: m.version, batch: true, blindArea: body.batchType === 1, ...(normalise(loc) as object), receivedAt: at });
          expect(fast.batchItem(m, loc, body.batchType === 1, at)).toBe(generic);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
