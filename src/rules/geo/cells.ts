/**
 * The cell tables of the index, in typed arrays: per resolution an open-addressing hash table
 * from cell key to a block of postings, all blocks in one Int32Array. A lookup touches a couple
 * of cache lines instead of a chain of Map entries, arrays and objects: with 10,000 fences the
 * tables do not fit in cache, and every pointer followed per position costs a miss.
 *
 * A block is [capacity, used, words…]; a fence's posting is a header word followed by its own
 * words (see index.ts). Adding to a full block moves it to the end of the store (the old one
 * becomes garbage); removing shifts the block's words down. The store is compacted when more
 * than half of it is garbage.
 */

const EMPTY = -1;

/** One resolution's table: keys and block offsets interleaved, so a probe reads one line. */
class ResTable {
  slots: Float64Array;
  size = 0;
  mask: number;
  constructor(capacity = 1024) {
    this.slots = new Float64Array(capacity * 2).fill(EMPTY);
    this.mask = capacity - 1;
  }
}

function hash(base: number, digits: number): number {
  return (Math.imul(digits, 0x9e3779b1) ^ Math.imul(base + 1, 0x85ebca77)) >>> 0;
}

export class CellTables {
  /** Postings store. Public for the hot path: read, never written, outside this class. */
  post = new Int32Array(1 << 16);
  private top = 0;
  private garbage = 0;
  private readonly tables: ResTable[] = [];
  private readonly unitsPerBase: number[] = [];

  constructor(readonly minRes: number, readonly maxRes: number) {
    for (let r = 0; r <= maxRes; r++) {
      this.tables.push(new ResTable(r < minRes ? 1 : 1024));
      this.unitsPerBase.push(8 ** r);
    }
  }

  /** Offset of the cell's block in `post`, or −1 when no fence has ever been in it. */
  find(res: number, base: number, digits: number): number {
    const t = this.tables[res]!, s = t.slots, key = base * this.unitsPerBase[res]! + digits;
    let i = hash(base, digits) & t.mask;
    for (;;) {
      const k = s[i * 2]!;
      if (k === key) return s[i * 2 + 1]!;
      if (k === EMPTY) return -1;
      i = (i + 1) & t.mask;
    }
  }

  /** Appends a posting (header and words) to the cell's block, creating the cell if needed. */
  append(res: number, key: number, words: readonly number[]): void {
    const t = this.tables[res]!, base = Math.floor(key / this.unitsPerBase[res]!);
    let i = hash(base, key - base * this.unitsPerBase[res]!) & t.mask;
    while (t.slots[i * 2] !== EMPTY && t.slots[i * 2] !== key) i = (i + 1) & t.mask;
    if (t.slots[i * 2] === EMPTY) {
      t.slots[i * 2] = key;
      t.slots[i * 2 + 1] = this.allocate(words.length);
      t.size++;
    }
    let off = t.slots[i * 2 + 1]!;
    const cap = this.post[off]!, used = this.post[off + 1]!;
    if (cap - used < words.length) {
      const moved = this.allocate(Math.max(cap * 2, used + words.length));
      this.post.copyWithin(moved + 2, off + 2, off + 2 + used);
      this.post[moved + 1] = used;
      this.garbage += cap + 2;
      off = moved;
      t.slots[i * 2 + 1] = off;
    }
    this.post.set(words, off + 2 + used);
    this.post[off + 1] = used + words.length;
    if (t.size * 2 > t.mask + 1) this.rehash(res, (t.mask + 1) * 2);
  }

  /**
   * After a bulk load: every block at its used size, the store at its top, every table at the
   * smallest power of two under 60 % full.
   */
  trim(): void {
    this.compact(true);
    this.tables.forEach((t, res) => {
      let capacity = 1024;
      while (t.size > capacity * 0.6) capacity *= 2;
      if (res >= this.minRes && capacity !== t.mask + 1) this.rehash(res, capacity);
    });
  }

  /** Removes the posting whose header satisfies `isOurs`; `length(at)` gives a posting's word count. */
  remove(res: number, key: number, isOurs: (header: number) => boolean, length: (at: number) => number): void {
    const base = Math.floor(key / this.unitsPerBase[res]!);
    const off = this.find(res, base, key - base * this.unitsPerBase[res]!);
    if (off < 0) return;
    const P = this.post, end = off + 2 + P[off + 1]!;
    for (let p = off + 2; p < end; p += length(p)) {
      if (!isOurs(P[p]!)) continue;
      const n = length(p);
      P.copyWithin(p, p + n, end);
      P[off + 1] = P[off + 1]! - n;
      this.garbage += n;
      break;
    }
    if (this.garbage * 2 > this.top && this.top > 1 << 16) this.compact(false);
  }

  /** Distinct cells per resolution. */
  sizes(): number[] {
    return this.tables.map((t) => t.size);
  }

  /** Bytes held by the typed arrays. */
  bytes(): number {
    return this.post.byteLength + this.tables.reduce((n, t) => n + t.slots.byteLength, 0);
  }

  private allocate(capacity: number): number {
    if (this.top + capacity + 2 > this.post.length) {
      const bigger = new Int32Array(Math.max(this.post.length * 2, this.top + capacity + 2));
      bigger.set(this.post.subarray(0, this.top));
      this.post = bigger;
    }
    const off = this.top;
    this.post[off] = capacity;
    this.post[off + 1] = 0;
    this.top += capacity + 2;
    return off;
  }

  private rehash(res: number, capacity: number): void {
    const old = this.tables[res]!, t = new ResTable(capacity);
    for (let i = 0; i <= old.mask; i++) {
      const key = old.slots[i * 2]!;
      if (key === EMPTY) continue;
      const base = Math.floor(key / this.unitsPerBase[res]!);
      let j = hash(base, key - base * this.unitsPerBase[res]!) & t.mask;
      while (t.slots[j * 2] !== EMPTY) j = (j + 1) & t.mask;
      t.slots[j * 2] = key;
      t.slots[j * 2 + 1] = old.slots[i * 2 + 1]!;
      t.size++;
    }
    this.tables[res] = t;
  }

  /** Copies every live block to a fresh store, each with its used words as capacity; `exact` sizes the store to fit. */
  private compact(exact: boolean): void {
    const old = this.post;
    let needed = 0;
    for (const t of this.tables) for (let i = 0; i <= t.mask; i++) if (t.slots[i * 2] !== EMPTY) needed += 2 + old[t.slots[i * 2 + 1]! + 1]!;
    this.post = new Int32Array(exact ? Math.max(needed, 16) : Math.max(1 << 16, needed * 2));
    this.top = 0;
    this.garbage = 0;
    for (const t of this.tables) {
      for (let i = 0; i <= t.mask; i++) {
        if (t.slots[i * 2] === EMPTY) continue;
        const off = t.slots[i * 2 + 1]!, used = old[off + 1]!;
        const to = this.allocate(used);
        this.post.set(old.subarray(off + 2, off + 2 + used), to + 2);
        this.post[to + 1] = used;
        t.slots[i * 2 + 1] = to;
      }
    }
  }
}
