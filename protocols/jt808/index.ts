import type { MessageDeclaration } from './define.js';
import { DOWNLINK } from './downlink.js';
import { UPLINK } from './uplink.js';

export * from './define.js';
export * from './bits.js';
export * from './extras.js';
export * from './location.js';
export * from './params.js';
export { UPLINK } from './uplink.js';
export { DOWNLINK } from './downlink.js';

/** Every declared JT/T 808 message, by id. */
export const MESSAGES: ReadonlyMap<number, MessageDeclaration> = new Map(
  [...UPLINK, ...DOWNLINK].map((d) => [d.id, d]),
);

export const MESSAGES_BY_NAME: ReadonlyMap<string, MessageDeclaration> = new Map(
  [...UPLINK, ...DOWNLINK].map((d) => [d.name, d]),
);
