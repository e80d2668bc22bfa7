export * from './errors.js';
export * from './reader.js';
export * from './writer.js';
export * from './types.js';
export * from './primitives.js';
export * from './struct.js';
export * from './bcd.js';
export * from './text.js';
