/** Test helpers: hex, frame splitting, a seeded PRNG. */
export const hexToBuf = (hex: string): Buffer => Buffer.from(hex.replace(/[^0-9a-fA-F]/g, ''), 'hex');

/** The escaped content between the two 0x7e flags of a full wire frame. */
export const contentOf = (frame: Buffer): Buffer => frame.subarray(1, frame.length - 1);

/** Mulberry32: a small deterministic PRNG so fuzz runs repeat exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
