/**
 * Per-fence storage of the index, by slot number (the number the cell postings carry): the
 * compiled fence, its shared hit, its flat geometry copied into one pool, and its corridor
 * segments' precomputed hits in one table. The hot path reads the public arrays directly: an
 * exact test reads a slot's offset and then one contiguous run of the pool.
 */
import type { CompiledFence, FenceHit } from './exact.js';

export class FenceSlots {
  readonly fences: (CompiledFence | undefined)[] = [];
  /** The hit of each slot's fence (non-corridors). */
  readonly hits: (FenceHit | undefined)[] = [];
  /** Every fence's flat geometry (flat.ts layouts), at poolOff[slot]. */
  pool = new Float64Array(1 << 16);
  poolOff = new Int32Array(1024);
  /** Corridor segment hits at segmentHitBase[slot] + segment; null where the segment's limit has time windows. */
  readonly segmentHits: (FenceHit | null)[] = [];
  segmentHitBase = new Int32Array(1024);
  private poolTop = 0;
  private poolLive = 0;
  private hitLive = 0;
  private readonly free: number[] = [];

  add(cf: CompiledFence): number {
    const slot = this.free.pop() ?? this.fences.length;
    if (slot >= this.poolOff.length) {
      this.poolOff = grow(this.poolOff, slot + 1);
      this.segmentHitBase = grow(this.segmentHitBase, slot + 1);
    }
    this.fences[slot] = cf;
    this.hits[slot] = cf.hit;
    this.place(slot, cf);
    return slot;
  }

  remove(slot: number): void {
    const cf = this.fences[slot]!;
    this.poolLive -= cf.flat.length;
    this.hitLive -= cf.segmentHits.length;
    this.segmentHits.fill(null, this.segmentHitBase[slot]!, this.segmentHitBase[slot]! + cf.segmentHits.length);
    this.fences[slot] = undefined;
    this.hits[slot] = undefined;
    this.free.push(slot);
    if (this.poolTop > 2 * this.poolLive + (1 << 16) || this.segmentHits.length > 2 * this.hitLive + (1 << 12)) this.compact();
  }

  /** Bytes of the pool and the offset arrays. */
  bytes(): number {
    return this.pool.byteLength + this.poolOff.byteLength + this.segmentHitBase.byteLength + this.segmentHits.length * 8;
  }

  private place(slot: number, cf: CompiledFence): void {
    if (this.poolTop + cf.flat.length > this.pool.length) {
      const bigger = new Float64Array(Math.max(this.pool.length * 2, this.poolTop + cf.flat.length));
      bigger.set(this.pool.subarray(0, this.poolTop));
      this.pool = bigger;
    }
    this.pool.set(cf.flat, this.poolTop);
    this.poolOff[slot] = this.poolTop;
    this.poolTop += cf.flat.length;
    this.poolLive += cf.flat.length;
    this.segmentHitBase[slot] = this.segmentHits.length;
    for (const h of cf.segmentHits) this.segmentHits.push(h);
    this.hitLive += cf.segmentHits.length;
  }

  /** Lays every live fence out again, dropping what removed ones left. */
  private compact(): void {
    this.poolTop = 0;
    this.poolLive = 0;
    this.hitLive = 0;
    this.segmentHits.length = 0;
    this.fences.forEach((cf, slot) => { if (cf) this.place(slot, cf); });
  }
}

function grow(a: Int32Array, min: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(a.length * 2, min));
  b.set(a);
  return b;
}
