import iconv from 'iconv-lite';

/**
 * GBK text (JT/T 808 §0.3 STRING). Pure ASCII — most device strings — takes a fast path that
 * never enters iconv.
 */
export function decodeGbk(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) return iconv.decode(buf.subarray(start, end), 'gbk');
  }
  return buf.toString('latin1', start, end);
}

export function encodeGbk(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return iconv.encode(s, 'gbk');
  }
  return Buffer.from(s, 'latin1');
}

/** Narrows [start, end) past NUL padding at both ends, and spaces when `spaces` is set. */
export function trimPadding(buf: Buffer, start: number, end: number, spaces: boolean): [number, number] {
  let s = start;
  let e = end;
  while (s < e && (buf[s] === 0 || (spaces && buf[s] === 0x20))) s++;
  while (e > s && (buf[e - 1] === 0 || (spaces && buf[e - 1] === 0x20))) e--;
  return [s, e];
}
