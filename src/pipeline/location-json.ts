import { AlarmWord, StatusWord, type Location } from '../../protocols/jt808/index.js';
import type { Jt808Message } from '../protocol/jt808/index.js';

/**
 * The JSON of a published location, written straight into a string: the generic path
 * (messageToJson, then JSON.stringify) copies the message three times and costs about 18 µs,
 * which at tens of thousands of positions a second is most of the gateway's CPU. The output is
 * byte for byte what the generic path gives (test/location-json.test.ts holds it to that).
 * Flag words repeat endlessly (ACC on, located …), so their JSON is cached per edition and value.
 */
export class LocationJson {
  private readonly alarms = new Map<number, string>();
  private readonly statuses = new Map<number, string>();

  private flags(cache: Map<number, string>, edition: number, value: number, make: () => { toJSON(): unknown }): string {
    const key = value * 4 + (edition >= 2019 ? 2 : edition >= 2013 ? 1 : 0);
    let s = cache.get(key);
    if (s === undefined) {
      s = JSON.stringify(make().toJSON());
      if (cache.size < 4096) cache.set(key, s);
    }
    return s;
  }

  /** The location fields, without braces: `"alarm":…,"status":…,…,"extras":{…}`. */
  fields(loc: Location): string {
    const t = loc.timeSec;
    let s =
      `"alarm":${this.flags(this.alarms, loc.edition, loc.alarmValue, () => new AlarmWord(loc.alarmValue, loc.edition))}` +
      `,"status":${this.flags(this.statuses, loc.edition, loc.statusValue, () => new StatusWord(loc.statusValue, loc.edition))}` +
      `,"latitude":${loc.latitude},"longitude":${loc.longitude},"altitude":${loc.altitude},"speed":${loc.speed},"direction":${loc.direction}` +
      `,"time":${Number.isNaN(t) ? 'null' : `"${new Date(t * 1000).toISOString()}"`}`;
    if (loc.extras) s += `,"extras":${JSON.stringify(loc.extras)}`;
    return s;
  }

  /** A 0x0200 message as published on …/location. */
  message(m: Jt808Message, loc: Location, receivedAt: string): string {
    let head = `{"terminal":"${m.terminal}","msgId":"0x0200","msgName":"locationReport","serial":${m.serial},"version":${m.version}`;
    if (m.protocolVersion !== undefined) head += `,"protocolVersion":${m.protocolVersion}`;
    if (m.subpackage) head += `,"subpackage":${JSON.stringify(m.subpackage)}`;
    if (m.encryption) head += `,"encryption":${m.encryption}`;
    if (!m.checksumOk) head += ',"checksumOk":false';
    let tail = '';
    if (m.raw) tail += `,"raw":"${m.raw.toString('hex')}"`;
    if (m.problems) tail += `,"problems":${JSON.stringify(m.problems)}`;
    return `${head},${this.fields(loc)}${tail},"receivedAt":"${receivedAt}"}`;
  }

  /** One item of a 0x0704 batch, as published on …/location. */
  batchItem(m: Jt808Message, loc: Location, blindArea: boolean, receivedAt: string): string {
    return `{"terminal":"${m.terminal}","msgId":"0x0704","serial":${m.serial},"version":${m.version},"batch":true,"blindArea":${blindArea},` +
      `${this.fields(loc)},"receivedAt":"${receivedAt}"}`;
  }
}
