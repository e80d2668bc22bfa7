/**
 * LocateMemo: one caller's memory of its last point query (FenceIndex.locateMemo), so a parked
 * vehicle's next fixes skip the cell lookup and the geometry. It holds the position, the index
 * version, and every fence holding the position regardless of time windows (by slot, with the
 * corridor segment); a replay applies the windows at the new time. A vehicle's lane keeps one
 * (FixBuilder).
 */
import type { FenceHit } from './exact.js';
import type { FenceSlots } from './slots.js';

export class LocateMemo {
  lon = NaN;
  lat = NaN;
  /** The index version the memo was made at (−1: none, or a search under way). */
  version = -1;
  n = 0;
  /** (slot << 1) | 1 when the fence has time windows. */
  found = new Int32Array(8);
  /** The corridor segment holding the position, −1 for other shapes. */
  segs = new Int32Array(8);

  record(code: number, seg: number): void {
    if (this.n === this.found.length) {
      const found = new Int32Array(this.n * 2), segs = new Int32Array(this.n * 2);
      found.set(this.found); segs.set(this.segs);
      this.found = found; this.segs = segs;
    }
    this.found[this.n] = code;
    this.segs[this.n++] = seg;
  }

  /**
   * The recorded fences active at `clock` (chinaClock; −1: no time given) as hits, into `out`
   * (overwritten in place, in the order of the search that made the memo); returns the count.
   * `slots` must be those of the index at the memo's version.
   */
  replay(S: FenceSlots, clock: number, out: FenceHit[]): number {
    const found = this.found;
    let n = 0;
    for (let i = 0; i < this.n; i++) {
      const code = found[i]!, slot = code >>> 1, seg = this.segs[i]!;
      if ((code & 1) !== 0 && clock >= 0 && !S.fences[slot]!.activeAt(clock)) continue;
      const hit = seg < 0 ? S.hits[slot]! : S.segmentHits[S.segmentHitBase[slot]! + seg] ?? S.fences[slot]!.segmentHit(seg, clock >= 0 ? clock : undefined);
      if (n < out.length) out[n] = hit; else out.push(hit);
      n++;
    }
    if (out.length !== n) out.length = n;
    return n;
  }
}
