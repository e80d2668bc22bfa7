import { describe, expect, it } from 'vitest';
import { GeneralReplyEncoder, encodeMessage } from '../src/protocol/jt808/index.js';

describe('GeneralReplyEncoder (0x8001 built straight into bytes)', () => {
  it('gives exactly encodeMessage\'s frame, for every edition, serials and ids that need escaping, all results', () => {
    const serials = [0, 1, 0x7d, 0x7e, 0x7d7e, 0x7e7d, 0x7e7e, 0xff7e, 0x7eff, 0xfffe, 0xffff];
    for (let s = 0; s < 0x10000; s += 257) serials.push(s);
    const ids = [0x0200, 0x0704, 0x0102, 0x0002, 0x7e7d, 0x0f7e];
    let compared = 0;
    for (const edition of [2011, 2013, 2019] as const) {
      for (const terminal of edition === 2019 ? ['00000000013912344321', '17700000000'] : ['013912344321', '1770000007']) {
        const fast = new GeneralReplyEncoder(terminal, edition);
        for (const serial of serials) {
          for (const replyMsgId of ids) {
            const result = (serial + replyMsgId) % 5;
            const replySerial = (serial * 31 + 0x7e) & 0xffff;
            const want = encodeMessage({ msgId: 0x8001, terminal, serial, version: edition, body: { replySerial, replyMsgId, result } }).frames[0]!;
            const got = fast.encode(serial, replySerial, replyMsgId, result);
            if (!got.equals(want)) expect(got.toString('hex')).toBe(want.toString('hex'));
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(3 * 2 * (11 + 256) * 6);
  });

  it('returns a fresh buffer each time (the socket keeps what it was given)', () => {
    const fast = new GeneralReplyEncoder('013912344321', 2013);
    const a = fast.encode(1, 2, 0x0200, 0);
    const copy = Buffer.from(a);
    fast.encode(3, 4, 0x0200, 1);
    expect(a.equals(copy)).toBe(true);
  });
});
