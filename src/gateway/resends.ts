import type { Location } from '../../protocols/jt808/index.js';
import type { Jt808Message } from '../protocol/jt808/index.js';

/**
 * Recent location frames a session remembers: 8 to start with (a terminal normally has one or
 * two in flight), doubled up to 128 when a frame still pending would be pushed out — under
 * overload, acks late, a terminal has many in flight and re-sends them all.
 */
const FIRST_SLOTS = 8;
const MAX_SLOTS = 128;
const WIDTH = 7;
/** Tokens are generation × TOKEN_SLOTS + slot: constant whatever the memo has grown to. */
const TOKEN_SLOTS = MAX_SLOTS;
const FREE = 0;
const PENDING = 1;
const STORED = 2;

export type ResendVerdict = 'new' | 'pending' | 'stored';

/**
 * The location frames a terminal sent last, so that a frame it sends again — same serial, same
 * content — because our 0x8001 has not reached it yet (JT/T 808 §2.4 retransmission) is not
 * stored and published a second time. While the original is still on its way to the store the
 * copy waits for it and is acknowledged with it (every frame gets its answer: a terminal may have
 * missed the first); once the original is durable a copy is acknowledged at once. Under overload — acks late,
 * every terminal re-sending — this keeps a re-send down to its decoding instead of a full pass
 * through the store, the rules and MQTT. The database's unique key stays the guarantee across
 * connections and restarts; this is the per-connection fast path in front of it.
 *
 * A copy is recognised exactly, never by a hash: same serial, message id and item count, and the
 * first item's device time and coordinates — two frames equal in all of these carry the first
 * position the database would deduplicate anyway.
 */
export class ResendMemo {
  /** Per slot: serial, kind, device time, latitude, longitude, generation × 4 + state, copies waiting (~250 bytes a session at first). */
  private slots = new Int32Array(FIRST_SLOTS * WIDTH).fill(-1);
  private next = 0;

  private get size(): number {
    return this.slots.length / WIDTH;
  }

  /**
   * What this frame is: new, a copy of one still pending (counted: the original's `stored`
   * says how many copies wait for an answer with it), or a copy of one already stored.
   */
  check(m: Jt808Message): ResendVerdict {
    const i = this.find(m);
    if (i < 0) return 'new';
    if ((this.slots[i + 5]! & 3) === STORED) return 'stored';
    this.slots[i + 6]!++;
    return 'pending';
  }

  /** Remembers a new frame as pending (the oldest slot is reused); returns its token. */
  start(m: Jt808Message): number {
    const first = firstLocation(m);
    if ((this.slots[this.next * WIDTH + 5]! & 3) === PENDING && this.size < MAX_SLOTS) this.grow();
    const slot = this.next;
    this.next = (slot + 1) % this.size;
    const i = slot * WIDTH;
    const s = this.slots;
    const gen = ((s[i + 5]! >>> 2) + 1) & 0xfffffff;
    s[i] = first ? m.serial : -1;
    s[i + 1] = kindOf(m);
    s[i + 2] = first ? timeOf(first) : 0;
    s[i + 3] = first?.latitudeE6 ?? 0;
    s[i + 4] = first?.longitudeE6 ?? 0;
    s[i + 5] = gen * 4 + (first ? PENDING : FREE);
    s[i + 6] = 0;
    return gen * TOKEN_SLOTS + slot;
  }

  /** The frame is durable: returns how many copies waited (each is answered now); later copies are acked at once. */
  stored(token: number): number {
    const i = this.slot(token);
    if (i < 0) return 0;
    this.slots[i + 5] = (this.slots[i + 5]! & ~3) | STORED;
    const copies = this.slots[i + 6]!;
    this.slots[i + 6] = 0;
    return copies;
  }

  /** The frame could not be made durable: neither it nor its copies are answered; a copy must go through again. */
  forget(token: number): void {
    const i = this.slot(token);
    if (i >= 0) {
      this.slots[i] = -1;
      this.slots[i + 5] = this.slots[i + 5]! & ~3;
      this.slots[i + 6] = 0;
    }
  }

  /** The slot's offset while it still holds the token's frame, else -1. */
  private slot(token: number): number {
    const i = (token % TOKEN_SLOTS) * WIDTH;
    const v = this.slots[i + 5];
    return v !== undefined && v >>> 2 === Math.floor(token / TOKEN_SLOTS) && (v & 3) !== FREE ? i : -1;
  }

  /** Doubles the slots, keeping every slot where it is (tokens name slots), the new ones next in turn. */
  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    this.slots.set(old);
    this.next = old.length / WIDTH;
  }

  private find(m: Jt808Message): number {
    const s = this.slots;
    let first: Location | undefined;
    for (let i = 0; i < s.length; i += WIDTH) {
      if (s[i] !== m.serial || (s[i + 5]! & 3) === FREE) continue;
      first ??= firstLocation(m);
      if (first && s[i + 1] === kindOf(m) && s[i + 2] === timeOf(first) && s[i + 3] === first.latitudeE6 && s[i + 4] === first.longitudeE6) return i;
    }
    return -1;
  }
}

function firstLocation(m: Jt808Message): Location | undefined {
  const b = m.body;
  if (m.msgId === 0x0704) return (b?.locations as Location[] | undefined)?.[0];
  return b as Location | undefined;
}

/** Message id and item count in one number. */
function kindOf(m: Jt808Message): number {
  const items = m.msgId === 0x0704 ? ((m.body?.locations as unknown[] | undefined)?.length ?? 0) : 1;
  return (m.msgId * 65_536 + items) | 0;
}

/** Device time as a 32-bit pattern (epoch seconds fit until 2106); -1 for "no valid time". */
function timeOf(l: Location): number {
  return Number.isNaN(l.timeSec) ? -1 : l.timeSec | 0;
}
