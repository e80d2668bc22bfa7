import type { FieldType } from '../../src/codec/index.js';

/** JT/T 808 editions: 2011, the 2013 supplement, and 2019 (header bit 14). */
export type Edition = 2011 | 2013 | 2019;
export const EDITIONS: readonly Edition[] = [2011, 2013, 2019];

export type Direction = 'up' | 'down';

/**
 * One message body, declared once. Decoder, encoder, docs and round-trip tests all derive from
 * this; adding a message is adding a declaration (and a fixture).
 */
export interface MessageDeclaration {
  /** Message id, e.g. 0x0200. */
  readonly id: number;
  /** camelCase name used in JSON and MQTT, e.g. `locationReport`. */
  readonly name: string;
  /** English and Chinese titles of the standard. */
  readonly title: string;
  readonly cn: string;
  /** up = terminal → platform, down = platform → terminal. */
  readonly direction: Direction;
  /** Editions whose text defines this body. A frame of another edition is still decoded with the nearest layout. */
  readonly editions: readonly Edition[];
  /** The body; null for an empty body. Struct fields may differ per edition. */
  readonly body: FieldType<any> | null;
  /** Ids of the messages that answer this one (0x0001/0x8001 general replies included). */
  readonly replies?: readonly number[];
  /**
   * 2011 and 2013 share one header; where only the body tells them apart (0x0100 by length,
   * 0x0702 by its first byte), this picks the edition from the body.
   */
  readonly editionFromBody?: (body: Buffer, headerEdition: Edition) => Edition;
}

export function message(decl: MessageDeclaration): MessageDeclaration {
  return decl;
}

export const ALL: readonly Edition[] = EDITIONS;
export const SINCE_2013: readonly Edition[] = [2013, 2019];
export const ONLY_2019: readonly Edition[] = [2019];
export const UNTIL_2013: readonly Edition[] = [2011, 2013];
