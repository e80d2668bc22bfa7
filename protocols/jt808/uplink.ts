import {
  bcd, bcdTime, bytes, field, list, sized, struct, switchOn, text, textNul, u16, u32, u8,
  type FieldType, type Fields,
} from '../../src/codec/index.js';
import { ALL, ONLY_2019, SINCE_2013, UNTIL_2013, message } from './define.js';
import { locationBasic, locationBody } from './location.js';
import { paramItem } from './params.js';
import { circleAreaBody, polygonAreaBody, rectangleAreaBody, routeBody } from './areas.js';

const until2011 = { until: 2011 } as const;
const since2013 = { since: 2013 } as const;

/** 0x0001 — JT/T 808 §6.1: the terminal's general reply. */
export const terminalGeneralReply = message({
  id: 0x0001, name: 'terminalGeneralReply', title: 'Terminal general response', cn: '终端通用应答',
  direction: 'up', editions: ALL,
  body: struct([
    field('replySerial', u16, { doc: 'serial of the platform message answered' }),
    field('replyMsgId', u16, { doc: 'id of the platform message answered' }),
    field('result', u8, { doc: '0 success, 1 failure, 2 message error, 3 not supported' }),
  ]),
});

export const heartbeat = message({
  id: 0x0002, name: 'heartbeat', title: 'Terminal heartbeat', cn: '终端心跳',
  direction: 'up', editions: ALL, body: null, replies: [0x8001],
});

export const terminalLogout = message({
  id: 0x0003, name: 'terminalLogout', title: 'Terminal logout', cn: '终端注销',
  direction: 'up', editions: ALL, body: null, replies: [0x8001],
});

export const queryServerTime = message({
  id: 0x0004, name: 'queryServerTime', title: 'Query server time', cn: '查询服务器时间请求',
  direction: 'up', editions: ONLY_2019, body: null, replies: [0x8004],
});

/** 0x0005 (2019): the terminal asks the platform to re-send packets of a split downlink. Count is a WORD (§7 row 15). */
export const terminalResendRequest = message({
  id: 0x0005, name: 'terminalResendRequest', title: 'Terminal sub-package re-send request', cn: '终端补传分包请求',
  direction: 'up', editions: ONLY_2019,
  body: struct([
    field('originalSerial', u16, { doc: 'serial of the first packet of the original message' }),
    field('packetIndexes', list(u16, u16), { doc: 'packet indexes to re-send (1-based)' }),
  ]),
});

/**
 * 0x0100 — registration. Three layouts: 2011 (25-byte fixed part), 2013 (37), 2019 (76). A
 * header without bit 14 is 2011 when the body is shorter than 37 bytes (§7 row 19).
 */
export const terminalRegister = message({
  id: 0x0100, name: 'terminalRegister', title: 'Terminal registration', cn: '终端注册',
  direction: 'up', editions: ALL, replies: [0x8100],
  editionFromBody: (body, edition) => (edition === 2019 ? 2019 : body.length < 37 ? 2011 : 2013),
  body: struct([
    field('province', u16, { doc: 'GB/T 2260 province code (first 2 digits)' }),
    field('city', u16, { doc: 'GB/T 2260 city/county code (last 4 digits)' }),
    field('makerId', { 2011: text(5), 2013: text(5), 2019: text(11) }),
    field('model', { 2011: text(8, { pad: 0x20 }), 2013: text(20), 2019: text(30) }),
    field('terminalId', { 2011: text(7), 2013: text(7), 2019: text(30) }),
    field('plateColor', u8, { doc: '0 not plated (plate then holds the VIN), 1 blue, 2 yellow, 3 black, 4 white, 9 other' }),
    field('plate', { 2011: textNul, 2013: text('toEnd'), 2019: text('toEnd') }, { doc: 'plate number, or VIN when plateColor is 0; 2011: NUL-terminated (a missing NUL is tolerated)' }),
  ]),
});

/** 0x0102 — authentication; 2019 adds IMEI and software version. */
export const terminalAuth = message({
  id: 0x0102, name: 'terminalAuth', title: 'Terminal authentication', cn: '终端鉴权',
  direction: 'up', editions: ALL, replies: [0x8001],
  body: struct([
    field('authCode', { 2011: textNul, 2013: text('toEnd'), 2019: text(u8) }),
    field('imei', text(15), { since: 2019 }),
    field('softwareVersion', text(20), { since: 2019 }),
  ]),
});

/** 0x0104 — parameters reported in answer to 0x8104/0x8106. 2011 carries a total count and a per-packet count. */
export const queryParamsReply = message({
  id: 0x0104, name: 'queryParamsReply', title: 'Query terminal parameters response', cn: '查询终端参数应答',
  direction: 'up', editions: ALL,
  body: struct([
    field('replySerial', u16),
    field('totalCount', u8, { ...until2011, doc: '2011: parameters in total over all packets' }),
    field('params', list(u8, paramItem), { doc: 'typed by id (§4.6); unknown ids kept raw' }),
  ]),
});

/**
 * 2019 0x0107 maker id: the text says BYTE[5], real devices send 11 (§7 row 1). The width that
 * makes the rest of the body add up exactly is the one read; encoding writes 5 unless longer.
 */
const makerId2019: FieldType<string> = {
  wire: 'STRING[5 or 11]',
  read: (r, ctx, p) => {
    const fits = (w: number): boolean => {
      let at = r.pos + w + 70; // model 30 + terminal id 30 + ICCID 10
      if (at >= r.end) return false;
      at += 1 + r.buf[at]!; // hardware version
      if (at >= r.end) return false;
      at += 1 + r.buf[at]! + 2; // firmware version, GNSS and comm attributes
      return at === r.end;
    };
    return text(!fits(5) && fits(11) ? 11 : 5).read(r, ctx, p);
  },
  write: (w, v, ctx, p) => text(Buffer.byteLength(v) > 5 ? 11 : 5).write(w, v, ctx, p),
};

export const queryAttributesReply = message({
  id: 0x0107, name: 'queryAttributesReply', title: 'Query terminal attributes response', cn: '查询终端属性应答',
  direction: 'up', editions: SINCE_2013,
  body: struct([
    field('terminalType', u16, { doc: 'bits §4.10.3' }),
    field('makerId', { 2011: text(5), 2013: text(5), 2019: makerId2019 }),
    field('model', { 2011: text(20), 2013: text(20), 2019: text(30) }),
    field('terminalId', { 2011: text(7), 2013: text(7), 2019: text(30) }),
    field('iccid', bcd(10)),
    field('hardwareVersion', text(u8)),
    field('firmwareVersion', text(u8)),
    field('gnssModule', u8, { doc: 'bit 0 GPS, 1 BeiDou, 2 GLONASS, 3 Galileo' }),
    field('commModule', u8, { doc: 'bit 0 GPRS … bit 5 TD-LTE, bit 7 other' }),
  ]),
});

export const upgradeResult = message({
  id: 0x0108, name: 'upgradeResult', title: 'Terminal upgrade result notification', cn: '终端升级结果通知',
  direction: 'up', editions: SINCE_2013, replies: [0x8001],
  body: struct([
    field('upgradeType', u8, { doc: '0 terminal, 12 IC card reader, 52 BeiDou module' }),
    field('result', u8, { doc: '0 success, 1 failure, 2 cancelled' }),
  ]),
});

/** 0x0200 — the location report: the body is the location itself (see location.ts). */
export const locationReport = message({
  id: 0x0200, name: 'locationReport', title: 'Location report', cn: '位置信息汇报',
  direction: 'up', editions: ALL, replies: [0x8001], body: locationBody,
});

export const locationQueryReply = message({
  id: 0x0201, name: 'locationQueryReply', title: 'Location query response', cn: '位置信息查询应答',
  direction: 'up', editions: ALL,
  body: struct([field('replySerial', u16, since2013), field('location', locationBody)]),
});

export const eventReport = message({
  id: 0x0301, name: 'eventReport', title: 'Event report', cn: '事件报告',
  direction: 'up', editions: UNTIL_2013, replies: [0x8001],
  body: struct([field('eventId', u8)]),
});

export const questionAnswer = message({
  id: 0x0302, name: 'questionAnswer', title: 'Question answer', cn: '提问应答',
  direction: 'up', editions: UNTIL_2013, replies: [0x8001],
  body: struct([field('replySerial', u16), field('answerId', u8)]),
});

export const infoSubscription = message({
  id: 0x0303, name: 'infoSubscription', title: 'Information subscribe / cancel', cn: '信息点播/取消',
  direction: 'up', editions: UNTIL_2013, replies: [0x8001],
  body: struct([field('infoType', u8), field('subscribe', u8, { doc: '0 cancel, 1 subscribe' })]),
});

export const vehicleControlReply = message({
  id: 0x0500, name: 'vehicleControlReply', title: 'Vehicle control response', cn: '车辆控制应答',
  direction: 'up', editions: ALL,
  body: struct([field('replySerial', u16), field('location', locationBody)]),
});

/** 0x0608 (2019): each item is laid out as the body of the matching set message (§7 row 20). */
export const queryAreasReply = message({
  id: 0x0608, name: 'queryAreasReply', title: 'Query area/route data response', cn: '查询区域或线路数据应答',
  direction: 'up', editions: ONLY_2019,
  body: struct([
    field('queryType', u8, { doc: '1 circle, 2 rectangle, 3 polygon, 4 route' }),
    field('count', u32, { derive: (o) => (o.items as unknown[]).length }),
    field('items', list((o) => o.count as number, switchOn((o) => o.queryType as number, {
      1: circleAreaBody, 2: rectangleAreaBody, 3: polygonAreaBody, 4: routeBody,
    }))),
  ]),
});

export const recorderDataUpload = message({
  id: 0x0700, name: 'recorderDataUpload', title: 'Driving recorder data upload', cn: '行驶记录数据上传',
  direction: 'up', editions: ALL,
  body: struct([
    field('replySerial', u16, since2013),
    field('command', u8, { doc: 'GB/T 19056 command word' }),
    field('totalLength', u16, { ...until2011, doc: '2011: length of the whole data block' }),
    field('data', { 2011: bytes(u16), 2013: bytes('toEnd'), 2019: bytes('toEnd') }, { doc: 'GB/T 19056 frame' }),
  ]),
});

export const waybillReport = message({
  id: 0x0701, name: 'waybillReport', title: 'Electronic waybill report', cn: '电子运单上报',
  direction: 'up', editions: ALL, replies: [0x8001],
  body: struct([field('waybill', bytes(u32))]),
});

const cardInserted = (o: Fields): boolean => o.cardStatus === 1;
const cardRead = (o: Fields): boolean => o.cardStatus === 1 && o.readResult === 0;

/**
 * 0x0702 — driver identity. 2013/2019 start with a card status (1 inserted, 2 removed); a first
 * byte other than 1/2 is the 2011 layout. Devices with a 2013 header often send the 2019 ID-card
 * tail, so it is read whenever bytes remain.
 */
export const driverIdentityReport = message({
  id: 0x0702, name: 'driverIdentityReport', title: 'Driver identity report', cn: '驾驶员身份信息采集上报',
  direction: 'up', editions: ALL, replies: [0x8001],
  editionFromBody: (body, edition) => (edition !== 2019 && body[0] !== 1 && body[0] !== 2 ? 2011 : edition === 2011 ? 2013 : edition),
  body: struct([
    field('cardStatus', u8, { ...since2013, doc: '1 card inserted (on duty), 2 removed' }),
    field('time', bcdTime(), { ...since2013, doc: 'insert/remove time' }),
    field('readResult', u8, { ...since2013, when: cardInserted, doc: '0 ok, 1 key failed, 2 locked, 3 removed, 4 checksum' }),
    field('driverName', text(u8), { when: (o, c) => c.edition === 2011 || cardRead(o) }),
    field('driverIdCard', text(20), until2011),
    field('qualificationCode', { 2011: text(40), 2013: text(20), 2019: text(20) }, { when: (o, c) => c.edition === 2011 || cardRead(o) }),
    field('issuingAgency', text(u8), { when: (o, c) => c.edition === 2011 || cardRead(o) }),
    field('certificateExpiry', bcd(4), { ...since2013, when: cardRead, doc: 'YYYYMMDD' }),
    // 2019 text: present when the card was read; 2013-header devices often send it too. Read when
    // bytes remain, written when given, so both layouts round-trip.
    field('driverIdCard', text(20), { ...since2013, when: cardRead, optional: true }),
  ]),
});

const batchItems = list((o) => o.count as number, sized(u16, locationBody), { tolerant: true });

/** 0x0704 — batch (blind-area) locations. One malformed item keeps the items before it. */
export const batchLocationUpload = message({
  id: 0x0704, name: 'batchLocationUpload', title: 'Batch location upload', cn: '定位数据批量上传',
  direction: 'up', editions: SINCE_2013, replies: [0x8001],
  body: struct([
    field('count', u16, { derive: (o) => (o.locations as unknown[]).length }),
    field('batchType', u8, { doc: '0 normal batch, 1 blind-area re-report' }),
    field('locations', batchItems),
  ]),
});

export const canDataUpload = message({
  id: 0x0705, name: 'canDataUpload', title: 'CAN bus data upload', cn: 'CAN 总线数据上传',
  direction: 'up', editions: SINCE_2013, replies: [0x8001],
  body: struct([
    field('count', u16, { derive: (o) => (o.items as unknown[]).length }),
    field('receiveTime', bcd(5), { doc: 'hhmmss + milliseconds (4 digits) of the first item' }),
    field('items', list((o) => o.count as number, struct([
      field('canId', u32, { doc: 'bit 31 channel, 30 extended frame, 29 averaged, 28–0 CAN id' }),
      field('data', bytes(8)),
    ]))),
  ]),
});

export const mediaEventUpload = message({
  id: 0x0800, name: 'mediaEventUpload', title: 'Multimedia event upload', cn: '多媒体事件信息上传',
  direction: 'up', editions: ALL, replies: [0x8001],
  body: struct([
    field('mediaId', u32), field('mediaType', u8, { doc: '0 image, 1 audio, 2 video' }),
    field('mediaFormat', u8, { doc: '0 JPEG, 1 TIF, 2 MP3, 3 WAV, 4 WMV' }),
    field('event', u8, { doc: 'event code §4.9' }), field('channel', u8),
  ]),
});

/** 0x0801 — multimedia data; the layout is that of the reassembled body (36-byte prefix in 2013+). */
export const mediaUpload = message({
  id: 0x0801, name: 'mediaUpload', title: 'Multimedia data upload', cn: '多媒体数据上传',
  direction: 'up', editions: ALL, replies: [0x8800],
  body: struct([
    field('mediaId', u32), field('mediaType', u8), field('mediaFormat', u8), field('event', u8), field('channel', u8),
    field('totalPackets', u32, until2011), field('packetId', u32, until2011),
    field('location', locationBasic, since2013),
    field('data', bytes('toEnd')),
  ]),
});

export const mediaSearchReply = message({
  id: 0x0802, name: 'mediaSearchReply', title: 'Stored multimedia search response', cn: '存储多媒体数据检索应答',
  direction: 'up', editions: ALL,
  body: struct([
    field('replySerial', u16),
    field('totalCount', u16, until2011),
    field('items', list(u16, struct([
      field('mediaId', u32, since2013), field('mediaType', u8), field('channel', u8), field('event', u8),
      field('location', locationBasic),
    ]))),
  ]),
});

export const captureReply = message({
  id: 0x0805, name: 'captureReply', title: 'Camera capture response', cn: '摄像头立即拍摄命令应答',
  direction: 'up', editions: SINCE_2013,
  body: struct([
    field('replySerial', u16),
    field('result', u8, { doc: '0 success, 1 failure, 2 channel not supported' }),
    field('mediaIds', list(u16, u32), { when: (o) => o.result === 0 }),
  ]),
});

export const passThroughUp = message({
  id: 0x0900, name: 'passThroughUp', title: 'Uplink pass-through', cn: '数据上行透传',
  direction: 'up', editions: ALL, replies: [0x8001],
  body: struct([
    field('passThroughType', u8, { doc: '0x00 GNSS detail, 0x0B IC card, 0x41/0x42 serial ports, 0xF0–0xFF user' }),
    field('totalLength', u32, until2011),
    field('content', { 2011: bytes(u16), 2013: bytes('toEnd'), 2019: bytes('toEnd') }),
  ]),
});

export const compressedUpload = message({
  id: 0x0901, name: 'compressedUpload', title: 'Compressed data report', cn: '数据压缩上报',
  direction: 'up', editions: ALL, replies: [0x8001],
  body: struct([field('data', bytes(u32), { doc: 'GZIP data' })]),
});

export const terminalRsaKey = message({
  id: 0x0a00, name: 'terminalRsaKey', title: 'Terminal RSA public key', cn: '终端 RSA 公钥',
  direction: 'up', editions: ALL,
  body: struct([field('e', u32, { doc: 'public exponent' }), field('n', bytes(128), { doc: '1024-bit modulus' })]),
});

export const UPLINK = [
  terminalGeneralReply, heartbeat, terminalLogout, queryServerTime, terminalResendRequest, terminalRegister,
  terminalAuth, queryParamsReply, queryAttributesReply, upgradeResult, locationReport, locationQueryReply,
  eventReport, questionAnswer, infoSubscription, vehicleControlReply, queryAreasReply, recorderDataUpload,
  waybillReport, driverIdentityReport, batchLocationUpload, canDataUpload, mediaEventUpload, mediaUpload,
  mediaSearchReply, captureReply, passThroughUp, compressedUpload, terminalRsaKey,
];
