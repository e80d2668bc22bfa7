export * from './framing.js';
export * from './decoder.js';
export * from './encoder.js';
export * from './reassembly.js';
export * from './json.js';
export * from './stream.js';
