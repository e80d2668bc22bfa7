import { EDITIONS, LOCATION_FIELDS, MESSAGES, PARAMS, STANDARD_ITEMS, locationBody, type MessageDeclaration } from '../../protocols/jt808/index.js';
import type { StructType } from '../codec/index.js';
import { hexId } from '../protocol/jt808/json.js';

function bodyTable(decl: MessageDeclaration, edition: number): string[] {
  const body = decl.body;
  if (body === null) return ['Body: empty.'];
  const s = body as StructType;
  if (body === locationBody) return ['| field | wire | unit | meaning |', '| --- | --- | --- | --- |', ...LOCATION_FIELDS.map((f) => `| \`${f[0]}\` | ${f[1]} | ${f[2]} | ${f[3]} |`)];
  if (!s.isStruct) return [`Body: ${body.wire}.`];
  const rows = s.fieldsFor(edition).map((f) => `| \`${f.name}\` | ${f.wire} | ${f.unit ?? ''} | ${f.conditional ? '(conditional) ' : ''}${f.doc ?? ''} |`);
  return ['| field | wire | unit | meaning |', '| --- | --- | --- | --- |', ...rows];
}

/**
 * The message catalogue in Markdown, generated from the declarations: what `docs/messages.md`
 * holds (a test keeps the two equal).
 */
export function catalogueMarkdown(): string {
  const out: string[] = [
    '# JT/T 808 messages fleetgate declares',
    '',
    'Generated from `protocols/jt808/` by `fleetgate messages`; do not edit by hand.',
    'Field names are the JSON names of decoded bodies. Wire types: BYTE, WORD, DWORD (big-endian),',
    'BCD[n], STRING (GBK). `÷10` means the value is the wire integer divided by 10.',
    '',
    '| id | name | direction | editions | replies |',
    '| --- | --- | --- | --- | --- |',
  ];
  const decls = [...MESSAGES.values()].sort((a, b) => a.id - b.id);
  for (const d of decls) {
    out.push(`| ${hexId(d.id)} | [${d.name}](#${hexId(d.id)}-${d.name.toLowerCase()}) | ${d.direction === 'up' ? 'terminal → platform' : 'platform → terminal'} | ${d.editions.join(', ')} | ${(d.replies ?? []).map(hexId).join(', ')} |`);
  }
  for (const d of decls) {
    out.push('', `## ${hexId(d.id)} ${d.name}`, '', `${d.title} (${d.cn}).`, '');
    const layouts = new Map<string, number[]>();
    for (const ed of EDITIONS) {
      const key = bodyTable(d, ed).join('\n');
      layouts.set(key, [...(layouts.get(key) ?? []), ed]);
    }
    for (const [table, eds] of layouts) {
      if (!d.editions.some((e) => eds.includes(e))) continue;
      out.push(`Edition${eds.length > 1 ? 's' : ''} ${eds.join(', ')}:`, '', table, '');
    }
  }
  out.push('## Additional items of 0x0200 (standard registry)', '', '| id | key in `extras` | sizes | unit | meaning |', '| --- | --- | --- | --- | --- |');
  for (const it of STANDARD_ITEMS.list()) {
    out.push(`| 0x${it.id.toString(16).padStart(2, '0')} | \`${it.name}\` | ${(it.sizes ?? []).join(', ')} | ${it.unit ?? ''} | ${it.doc ?? ''} |`);
  }
  out.push('', 'Any other id is kept as hex under `extras["0xNN"]`; a vendor registry (`STANDARD_ITEMS.with([...])`) names more.', '');
  out.push('## Terminal parameters (0x8103, 0x0104)', '', '| id | name | wire | unit |', '| --- | --- | --- | --- |');
  for (const p of PARAMS.filter((x) => x.id < 0x0110 || x.id === 0x0110)) {
    out.push(`| 0x${p.id.toString(16).padStart(4, '0')} | \`${p.name}\` | ${p.type.wire} | ${p.unit ?? ''} |`);
  }
  out.push('| 0x0111–0x01ff | `canIdSamplingNNN` | BYTE[8] | |', '');
  return out.join('\n');
}
