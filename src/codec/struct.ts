import { CodecError, ErrorCode } from './errors.js';
import type { Reader } from './reader.js';
import type { CodecContext, FieldType, Fields } from './types.js';
import type { Writer } from './writer.js';

/** A field type, or one per edition where the editions differ (missing editions: field absent). */
export type EditionTypes = { [edition: number]: FieldType<any> };

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType<any> | EditionTypes;
  /** First and last edition that carry the field (inclusive). */
  readonly since?: number;
  readonly until?: number;
  /** Present only when this holds for the fields read so far (and, on decode, the cursor). */
  readonly when?: (o: Fields, ctx: CodecContext, r?: Reader) => boolean;
  /** Unit of the decoded value (`km`, `km/h`, `s` …) and a one-line meaning, for the docs. */
  readonly unit?: string;
  readonly doc?: string;
  /**
   * A tail that devices may omit: decoded when bytes remain in the part, encoded when the value
   * is given. Combines with `when`.
   */
  readonly optional?: boolean;
  /** Computes the value on encode from the others (a count held in its own field). */
  readonly derive?: (o: Fields) => unknown;
}

/** Declares one field of a body or nested struct. */
export function field(
  name: string,
  type: FieldType<any> | EditionTypes,
  opts: Omit<FieldSpec, 'name' | 'type'> = {},
): FieldSpec {
  return { name, type, ...opts };
}

interface Resolved {
  name: string;
  type: FieldType<any>;
  when: FieldSpec['when'];
  optional: boolean;
  derive: FieldSpec['derive'];
}

type ReadFn = (r: Reader, ctx: CodecContext) => Fields;

function isFieldType(t: FieldSpec['type']): t is FieldType<any> {
  return typeof (t as FieldType).read === 'function';
}

function resolve(fields: readonly FieldSpec[], edition: number): Resolved[] {
  const out: Resolved[] = [];
  for (const f of fields) {
    if (f.since !== undefined && edition < f.since) continue;
    if (f.until !== undefined && edition > f.until) continue;
    const type = isFieldType(f.type) ? f.type : f.type[edition];
    if (type === undefined) continue;
    out.push({ name: f.name, type, when: f.when, optional: f.optional === true, derive: f.derive });
  }
  return out;
}

/**
 * Generates the decoder for one edition's field list. Each field becomes one named store in
 * source order, so every decoded object of a message shares one hidden class and V8 keeps the
 * stores monomorphic: the reason for generating code rather than looping over descriptors.
 */
function compileRead(fields: Resolved[]): ReadFn {
  const args: string[] = [];
  const values: unknown[] = [];
  const lines: string[] = ['const o = {};'];
  fields.forEach((f, i) => {
    args.push(`t${i}`);
    values.push(f.type);
    const store = `o[${JSON.stringify(f.name)}] = t${i}.read(r, ctx, o);`;
    const tail = f.optional ? 'r.pos < r.end' : '';
    if (f.when) {
      args.push(`w${i}`);
      values.push(f.when);
      lines.push(`if (${tail ? `${tail} && ` : ''}w${i}(o, ctx, r)) ${store}`);
    } else if (tail) {
      lines.push(`if (${tail}) ${store}`);
    } else {
      lines.push(store);
    }
  });
  lines.push('return o;');
  const factory = new Function(...args, `return function read(r, ctx) {\n${lines.join('\n')}\n};`);
  return factory(...values) as ReadFn;
}

function writeFields(fields: Resolved[], w: Writer, v: Fields, ctx: CodecContext): void {
  if (v === null || typeof v !== 'object') {
    throw new CodecError(ErrorCode.ENCODE, `expected an object with ${fields.map((f) => f.name).join(', ')}, got ${String(v)}`);
  }
  for (const f of fields) {
    if (f.when && !f.when(v, ctx)) continue;
    const value = f.derive ? f.derive(v) : v[f.name];
    if (f.optional && value === undefined) continue;
    if (value === undefined) throw new CodecError(ErrorCode.ENCODE, `field "${f.name}" (${f.type.wire}) is missing`);
    try {
      f.type.write(w, value, ctx, v);
    } catch (e) {
      if (e instanceof CodecError && !e.message.startsWith('field "')) {
        throw new CodecError(e.code, `field "${f.name}": ${e.message}`);
      }
      throw e;
    }
  }
}

export interface StructType<T extends Fields = Fields> extends FieldType<T> {
  readonly isStruct: true;
  readonly fields: readonly FieldSpec[];
  /** The fields that apply in one edition, in wire order (for docs and tests). */
  fieldsFor(edition: number): { name: string; wire: string; unit?: string; doc?: string; conditional: boolean }[];
}

/**
 * A sequence of fields. Layouts are compiled once per edition on first use and cached, so a
 * declaration that differs between 2011, 2013 and 2019 is still one declaration.
 */
export function struct<T extends Fields = Fields>(fields: readonly FieldSpec[]): StructType<T> {
  const readers = new Map<number, ReadFn>();
  const resolved = new Map<number, Resolved[]>();
  const layout = (edition: number): Resolved[] => {
    let r = resolved.get(edition);
    if (!r) resolved.set(edition, (r = resolve(fields, edition)));
    return r;
  };
  const readerFor = (edition: number): ReadFn => {
    let fn = readers.get(edition);
    if (!fn) readers.set(edition, (fn = compileRead(layout(edition))));
    return fn;
  };
  return {
    isStruct: true,
    wire: `{${fields.map((f) => f.name).join(', ')}}`,
    fields,
    read: (r, ctx) => readerFor(ctx.edition)(r, ctx) as T,
    write: (w, v, ctx) => writeFields(layout(ctx.edition), w, v, ctx),
    fieldsFor: (edition) =>
      layout(edition).map((f) => {
        const spec = fields.find((s) => s.name === f.name)!;
        return { name: f.name, wire: f.type.wire, unit: spec.unit, doc: spec.doc, conditional: f.when !== undefined || f.optional };
      }),
  };
}
