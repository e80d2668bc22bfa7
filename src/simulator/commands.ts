import { MESSAGES, type LocationInput, type Param } from '../../protocols/jt808/index.js';
import type { Jt808Message } from '../protocol/jt808/index.js';
import { attributesBody, type TerminalIdentity } from './identity.js';
import type { TerminalSettings } from './settings.js';

/** What answering a platform command needs from the terminal. */
export interface CommandHost {
  readonly identity: TerminalIdentity;
  readonly settings: TerminalSettings;
  /** Writes an uplink answer (answers are not themselves answered, so not tracked). */
  reply(msgId: number, body: Record<string, unknown>): void;
  /** The fix right now, without moving the vehicle. */
  currentLocation(): LocationInput;
  /** Parameters that come from the identity and the vehicle (server, plate, odometer …). */
  fixedParams(): Param[];
  /** Parameters that change timing were set: reschedule. */
  settingsChanged(ids: readonly number[]): void;
  /** 0x8202: report every `intervalS` for `validityS` (interval 0 stops). */
  track(intervalS: number, validityS: number): void;
  /** 0x8203: the platform confirmed the alarms, so a latched SOS is released. */
  confirmAlarm(): void;
}

/** Platform messages that are themselves answers or need nothing back (§6: no 0x0001 to a reply). */
const NO_ANSWER = new Set([0x8001, 0x8003, 0x8004, 0x8100, 0x8800]);

/** JT/T 808 §6.1 0x0001 results. */
const RESULT_OK = 0;
const RESULT_NOT_SUPPORTED = 3;

/**
 * Answers one platform command as a real terminal would: the message's own reply where it has
 * one (0x0104, 0x0107, 0x0201, 0x0500), else the general reply 0x0001 — success for every
 * declared downlink message, "not supported" for ids it does not know. Returns false when the
 * message needs no answer.
 */
export function answerCommand(host: CommandHost, m: Jt808Message): boolean {
  if (NO_ANSWER.has(m.msgId)) return false;
  const body = m.body ?? {};
  const general = (result: number): void => host.reply(0x0001, { replySerial: m.serial, replyMsgId: m.msgId, result });
  switch (m.msgId) {
    case 0x8103: {
      const params = Array.isArray(body.params) ? (body.params as Param[]) : [];
      const changed = host.settings.apply(params);
      general(RESULT_OK);
      if (changed.length > 0) host.settingsChanged(changed);
      return true;
    }
    case 0x8104:
      host.reply(0x0104, { replySerial: m.serial, params: host.settings.list(host.fixedParams()) });
      return true;
    case 0x8106: {
      const ids = Array.isArray(body.paramIds) ? (body.paramIds as number[]) : [];
      host.reply(0x0104, { replySerial: m.serial, params: host.settings.list(host.fixedParams(), ids) });
      return true;
    }
    case 0x8107:
      host.reply(0x0107, attributesBody(host.identity));
      return true;
    case 0x8201:
      host.reply(0x0201, { replySerial: m.serial, location: host.currentLocation() });
      return true;
    case 0x8500:
      // Door lock/unlock: nothing to move on a virtual car; answer with the position as §6 asks.
      host.reply(0x0500, { replySerial: m.serial, location: host.currentLocation() });
      return true;
    case 0x8202:
      host.track(typeof body.interval === 'number' ? body.interval : 0, typeof body.validity === 'number' ? body.validity : 0);
      general(RESULT_OK);
      return true;
    case 0x8203:
      host.confirmAlarm();
      general(RESULT_OK);
      return true;
    default:
      general(MESSAGES.get(m.msgId)?.direction === 'down' ? RESULT_OK : RESULT_NOT_SUPPORTED);
      return true;
  }
}
