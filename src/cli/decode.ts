import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Edition } from '../../protocols/jt808/index.js';
import { Jt808StreamDecoder, errorToJson, messageToJson, type DecodeResult } from '../protocol/jt808/index.js';

export interface DecodeCliOptions {
  hex?: string;
  edition?: Edition;
  lenient: boolean;
}

/**
 * `fleetgate decode`: hex in (an argument, or one frame or chunk per line on stdin), one JSON
 * object per decoded message out. All lines form one byte stream, so a frame may span lines.
 * A line without any 0x7e is taken as one frame's content and given its flags. Malformed input
 * prints its code on stderr; the exit code is 2 if anything was malformed, else 0.
 */
export async function runDecode(opts: DecodeCliOptions, stdin: Readable, stdout: Writable, stderr: Writable): Promise<number> {
  const decoder = new Jt808StreamDecoder({
    edition: opts.edition,
    checksum: opts.lenient ? 'accept' : 'reject',
    bodyLength: opts.lenient ? 'accept' : 'reject',
  });
  let failures = 0;
  const onResult = (r: DecodeResult): void => {
    if (r.ok) {
      stdout.write(JSON.stringify(messageToJson(r.message)) + '\n');
    } else {
      failures++;
      const e = errorToJson(r.error);
      stderr.write(`${r.error.code}: ${r.error.message}${e.terminal ? ` (terminal ${String(e.terminal)}, msgId ${String(e.msgId)}, serial ${String(e.serial)})` : ''}\n`);
    }
  };
  const feed = (line: string): void => {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return;
    const clean = text.replace(/^0x/i, '').replace(/[\s:,-]/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(clean)) {
      failures++;
      stderr.write(`FG_ERR_BAD_VALUE: not an even-length hex string: ${text.slice(0, 60)}\n`);
      return;
    }
    const bytes = Buffer.from(clean, 'hex');
    decoder.push(bytes.includes(0x7e) ? bytes : Buffer.concat([Buffer.from([0x7e]), bytes, Buffer.from([0x7e])]), onResult);
  };
  if (opts.hex !== undefined) {
    feed(opts.hex);
  } else {
    for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) feed(line);
  }
  if (decoder.pendingBytes > 0) {
    failures++;
    stderr.write(`FG_ERR_TRUNCATED: input ended inside a frame (${decoder.pendingBytes} byte(s) without a closing 0x7e)\n`);
  }
  return failures > 0 ? 2 : 0;
}
