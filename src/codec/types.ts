import type { Problem } from './errors.js';
import { CodecError, ErrorCode } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** A decoded struct under construction or being encoded: earlier fields are visible to later ones. */
export type Fields = Record<string, unknown>;

/** Per-decode state handed to every field type. The codec never looks inside `services`. */
export interface CodecContext {
  /** The edition whose layout applies (2011, 2013 or 2019 for JT/T 808). */
  edition: number;
  /** Non-fatal problems found so far; created on the first one. */
  problems: Problem[] | undefined;
  /** Protocol services a custom type needs (e.g. the 0x0200 item registry). */
  services: unknown;
}

export function addProblem(ctx: CodecContext, code: Problem['code'], message: string): void {
  (ctx.problems ??= []).push({ code, message });
}

/**
 * How one value sits on the wire. `read` and `write` must be exact inverses for every value
 * `read` can return: the round-trip tests hold every declaration to that.
 */
export interface FieldType<T = unknown> {
  /** Short wire description for docs and error messages, e.g. `WORD`, `BCD[6]`, `STRING len=BYTE`. */
  readonly wire: string;
  read(r: Reader, ctx: CodecContext, parent: Fields): T;
  write(w: Writer, value: T, ctx: CodecContext, parent: Fields): void;
  /** A struct type resolves its layout per edition; see struct.ts. */
  readonly isStruct?: boolean;
}

export function encodeError(what: string, value: unknown, expected: string): CodecError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new CodecError(ErrorCode.ENCODE, `${what}: ${shown} is not ${expected}`);
}

export function checkUint(value: unknown, max: number, wire: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw encodeError(wire, value, `an integer 0…${max}`);
  }
  return value;
}
