/**
 * Who a virtual terminal is: phone number, plate, maker strings, and the bodies that carry them
 * (0x0100 registration, 0x0102 authentication, 0x0107 attributes). All derived from the
 * terminal's number, so nothing per terminal needs storing beyond that number.
 */

export type SimEdition = 2013 | 2019;

/** GB/T 2260: 370100 = Jinan, Shandong; the header of 0x0100 splits it into province and city. */
const PROVINCE_SHANDONG = 37;
const CITY_JINAN = 100;
/** Plate letters: I and O are not used on Chinese plates. */
const PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

export interface TerminalIdentity {
  /** Terminal number within the run (0-based) plus the run's first id. */
  readonly number: number;
  readonly edition: SimEdition;
  /** Header phone number: 12 digits (2013) or 20 (2019, BCD[10]). */
  readonly phone: string;
}

/**
 * Phone numbers: 2013 terminals get a 12-digit number in a 0145… range, 2019 terminals a full
 * 20-digit IoT number (1064… is the M2M segment), so the two never collide on one gateway.
 */
export function identityFor(number: number, edition: SimEdition): TerminalIdentity {
  const phone = edition === 2019 ? '1064' + String(number).padStart(16, '0') : '0145' + String(number).padStart(8, '0');
  return { number, edition, phone };
}

/** 鲁A (Jinan) + a letter + four digits; unique for the first 240,000 terminals. */
export function plateOf(number: number): string {
  return '鲁A' + PLATE_LETTERS[Math.floor(number / 10_000) % PLATE_LETTERS.length]! + String(number % 10_000).padStart(4, '0');
}

const terminalIdOf = (id: TerminalIdentity): string =>
  id.edition === 2019 ? 'FGSIM' + String(id.number).padStart(12, '0') : 'S' + id.number.toString(36).toUpperCase().padStart(6, '0').slice(-6);

/** 0x0100 body (§6.4): the field widths differ per edition; the codec pads to them. */
export function registrationBody(id: TerminalIdentity): Record<string, unknown> {
  return {
    province: PROVINCE_SHANDONG,
    city: CITY_JINAN,
    makerId: 'FGSIM',
    model: id.edition === 2019 ? 'FG-808-S19' : 'FG-808-S13',
    terminalId: terminalIdOf(id),
    plateColor: 1, // blue: small passenger cars, which most official vehicles are
    plate: plateOf(id.number),
  };
}

/** 0x0102 body: the auth code alone in 2013; 2019 adds IMEI and software version (§6.6). */
export function authBody(id: TerminalIdentity, authCode: string): Record<string, unknown> {
  if (id.edition !== 2019) return { authCode };
  return { authCode, imei: '86' + String(id.number).padStart(13, '0'), softwareVersion: 'FGSIM-1.0.0' };
}

/** 0x0107 body (§6.11). */
export function attributesBody(id: TerminalIdentity): Record<string, unknown> {
  return {
    terminalType: 0, // not a passenger/dangerous-goods/freight/taxi terminal: a government car
    makerId: 'FGSIM',
    model: id.edition === 2019 ? 'FG-808-S19' : 'FG-808-S13',
    terminalId: terminalIdOf(id),
    iccid: '898604' + String(id.number).padStart(14, '0'),
    hardwareVersion: 'HW1.2',
    firmwareVersion: 'FW2.4.1',
    gnssModule: 0b0011, // GPS + BeiDou
    commModule: 0b10_0000, // bit 5: TD-LTE
  };
}
