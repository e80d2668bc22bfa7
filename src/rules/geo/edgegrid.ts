/**
 * Polygon edges bucketed on a grid over the polygon's bbox, so covering a jurisdiction with
 * hundreds of edges asks "is any edge within r metres of this cell centre?" of the few edges
 * near the centre instead of all of them.
 */
import { M_PER_DEG, planarSegmentDistanceM } from './sphere.js';

const DEG = Math.PI / 180;

export class EdgeGrid {
  private readonly n: number;
  private readonly w: number; private readonly s: number;
  private readonly dLon: number; private readonly dLat: number;
  /** Edge indexes per bucket: starts[b] … starts[b + 1] in `items`. */
  private readonly starts: Int32Array;
  private readonly items: Int32Array;
  private readonly seen: Int32Array;
  private stamp = 0;

  /** `edges`: [lonA, latA, lonB, latB] per edge; `bbox`: [w, s, e, n] holding them all. */
  constructor(private readonly edges: Float64Array, bbox: readonly number[]) {
    const count = edges.length / 4;
    this.n = Math.max(1, Math.min(256, Math.ceil(Math.sqrt(count))));
    this.w = bbox[0]!; this.s = bbox[1]!;
    this.dLon = (bbox[2]! - bbox[0]!) / this.n || 1;
    this.dLat = (bbox[3]! - bbox[1]!) / this.n || 1;
    const lists: number[][] = Array.from({ length: this.n * this.n }, () => []);
    for (let i = 0; i < count; i++) {
      const [x0, x1] = this.span(Math.min(edges[i * 4]!, edges[i * 4 + 2]!), Math.max(edges[i * 4]!, edges[i * 4 + 2]!), this.w, this.dLon);
      const [y0, y1] = this.span(Math.min(edges[i * 4 + 1]!, edges[i * 4 + 3]!), Math.max(edges[i * 4 + 1]!, edges[i * 4 + 3]!), this.s, this.dLat);
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) lists[y * this.n + x]!.push(i);
    }
    this.starts = new Int32Array(lists.length + 1);
    lists.forEach((l, b) => { this.starts[b + 1] = this.starts[b]! + l.length; });
    this.items = Int32Array.from(lists.flat());
    this.seen = new Int32Array(count);
  }

  /** Whether an edge lies within `reach` metres of (lon, lat), measured as planarSegmentDistanceM does. */
  anyWithin(lon: number, lat: number, reach: number): boolean {
    const cosLat = Math.cos(lat * DEG), rLat = reach / M_PER_DEG, rLon = rLat / Math.max(cosLat, 1e-9);
    const [x0, x1] = this.span(lon - rLon, lon + rLon, this.w, this.dLon);
    const [y0, y1] = this.span(lat - rLat, lat + rLat, this.s, this.dLat);
    const stamp = ++this.stamp, E = this.edges;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const b = y * this.n + x;
        for (let k = this.starts[b]!; k < this.starts[b + 1]!; k++) {
          const i = this.items[k]!;
          if (this.seen[i] === stamp) continue;
          this.seen[i] = stamp;
          if (planarSegmentDistanceM(lon, lat, cosLat, E[i * 4]!, E[i * 4 + 1]!, E[i * 4 + 2]!, E[i * 4 + 3]!) <= reach) return true;
        }
      }
    }
    return false;
  }

  /** Buckets [first, last] covering [lo, hi] along one axis, clamped to the grid. */
  private span(lo: number, hi: number, origin: number, step: number): [number, number] {
    const clamp = (v: number) => Math.min(this.n - 1, Math.max(0, Math.floor((v - origin) / step)));
    return [clamp(lo), clamp(hi)];
  }
}
