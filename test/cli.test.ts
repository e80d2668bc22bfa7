import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { catalogueMarkdown } from '../src/cli/catalogue.js';
import { runDecode } from '../src/cli/decode.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (id: string, i = 0): string => (JSON.parse(readFileSync(`${root}fixtures/jt808/messages/${id}.json`, 'utf8')) as { hex: string }[])[i]!.hex;

async function decode(args: { hex?: string; lines?: string[]; lenient?: boolean; edition?: 2011 | 2013 | 2019 }) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  const errs: string[] = [];
  out.on('data', (d) => chunks.push(String(d)));
  err.on('data', (d) => errs.push(String(d)));
  const code = await runDecode({ hex: args.hex, lenient: args.lenient ?? false, edition: args.edition }, Readable.from((args.lines ?? []).map((l) => l + '\n')), out, err);
  return { code, json: chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: errs.join('') };
}

describe('fleetgate decode', () => {
  it('prints one JSON object per message with the contract field names', async () => {
    const r = await decode({ hex: fixture('0x0200') });
    expect(r.code).toBe(0);
    expect(r.json).toHaveLength(1);
    expect(Object.keys(r.json[0])).toEqual(expect.arrayContaining(['terminal', 'msgId', 'serial', 'version', 'time', 'latitude', 'longitude', 'altitude', 'speed', 'direction', 'alarm', 'status']));
    expect(r.json[0].msgId).toBe('0x0200');
  });
  it('reads stdin lines as one stream: a frame may span lines, several may share one', async () => {
    const a = fixture('0x0002');
    const b = fixture('0x0200');
    const r = await decode({ lines: [a + b.slice(0, 20), b.slice(20), '# a comment', ''] });
    expect(r.code).toBe(0);
    expect(r.json.map((j) => j.msgId)).toEqual(['0x0002', '0x0200']);
  });
  it('accepts a frame without its flags', async () => {
    const r = await decode({ hex: fixture('0x0002').slice(2, -2) });
    expect(r.json.map((j) => j.msgId)).toEqual(['0x0002']);
  });
  it('prints a malformed frame\'s code on stderr, exits 2, and still prints the good ones', async () => {
    const good = fixture('0x0002');
    const bad = good.slice(0, -4) + ((parseInt(good.slice(-4, -2), 16) ^ 0x10).toString(16).padStart(2, '0')) + '7e';
    const r = await decode({ lines: [bad, good, 'zz'] });
    expect(r.code).toBe(2);
    expect(r.json).toHaveLength(1);
    expect(r.stderr).toMatch(/^FG_ERR_CHECKSUM: /m);
    expect(r.stderr).toMatch(/^FG_ERR_BAD_VALUE: /m);
  });
  it('--lenient accepts a bad checksum and reports it in problems', async () => {
    const good = fixture('0x0002');
    const bad = good.slice(0, -4) + ((parseInt(good.slice(-4, -2), 16) ^ 0x10).toString(16).padStart(2, '0')) + '7e';
    const r = await decode({ hex: bad, lenient: true });
    expect(r.code).toBe(0);
    expect(r.json[0].problems[0].code).toBe('FG_ERR_CHECKSUM');
  });
  it('--edition forces the header layout', async () => {
    const plain = await decode({ hex: fixture('0x0002', 1) });
    expect(plain.json[0].version).toBe(2013);
    const forced = await decode({ hex: fixture('0x0002', 1), edition: 2019 });
    expect(forced.code).toBe(2); // a 2013 frame read with the 2019 header does not fit
    expect(forced.stderr).toMatch(/^FG_ERR_/);
  });
  it('reports input that ends inside a frame', async () => {
    const r = await decode({ lines: [fixture('0x0002').slice(0, 10)] });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FG_ERR_TRUNCATED');
  });
  it('runs as a command with the documented exit codes', async () => {
    const run = promisify(execFile);
    const tsx = `${root}node_modules/.bin/tsx`;
    const ok = await run(tsx, [`${root}src/cli/main.ts`, 'decode', '--hex', fixture('0x0002')]);
    expect(JSON.parse(ok.stdout).msgName).toBe('heartbeat');
    const bad = await run(tsx, [`${root}src/cli/main.ts`, 'decode', '--hex', '7e0002007e']).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toContain('FG_ERR_TRUNCATED');
  }, 30_000);
});

describe('docs/messages.md', () => {
  it('is what `fleetgate messages` generates from the declarations (run it to update)', () => {
    expect(readFileSync(`${root}docs/messages.md`, 'utf8')).toBe(catalogueMarkdown());
  });
});
