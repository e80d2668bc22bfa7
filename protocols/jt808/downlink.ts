import {
  bcd, bcdTime, bytes, field, list, struct, text, textNul, u16, u32, u8,
  CodecError, ErrorCode, type FieldType,
} from '../../src/codec/index.js';
import { circleAreaBody, deleteAreasBody, polygonAreaBody, rectangleAreaBody, routeBody } from './areas.js';
import { ALL, ONLY_2019, SINCE_2013, UNTIL_2013, message } from './define.js';
import { paramItem } from './params.js';

const until2011 = { until: 2011 } as const;

/** STRING to the end of the body: NUL-terminated in 2011 (§0.1, §0.3), unterminated in 2013+. */
const textToEnd = { 2011: textNul, 2013: text('toEnd'), 2019: text('toEnd') };

/** 0x8001 — the platform's general reply (result 4 = alarm handled, 2013+). */
export const platformGeneralReply = message({
  id: 0x8001, name: 'platformGeneralReply', title: 'Platform general response', cn: '平台通用应答',
  direction: 'down', editions: ALL,
  body: struct([
    field('replySerial', u16), field('replyMsgId', u16),
    field('result', u8, { doc: '0 success, 1 failure, 2 message error, 3 not supported, 4 alarm handled' }),
  ]),
});

/** 0x8003 — platform asks for missing packets; the count is a BYTE in 2013 and a WORD in 2019. */
export const platformResendRequest = message({
  id: 0x8003, name: 'platformResendRequest', title: 'Server sub-package re-send request', cn: '补传分包请求',
  direction: 'down', editions: SINCE_2013,
  body: struct([
    field('originalSerial', u16),
    field('packetIndexes', { 2011: list(u8, u16), 2013: list(u8, u16), 2019: list(u16, u16) }),
  ]),
});

/** 0x8004 (2019) — server time, the one BCD time in UTC. */
export const serverTime = message({
  id: 0x8004, name: 'serverTime', title: 'Query server time response', cn: '查询服务器时间应答',
  direction: 'down', editions: ONLY_2019,
  body: struct([field('time', bcdTime('utc'))]),
});

export const registerReply = message({
  id: 0x8100, name: 'registerReply', title: 'Terminal registration response', cn: '终端注册应答',
  direction: 'down', editions: ALL,
  body: struct([
    field('replySerial', u16),
    field('result', u8, { doc: '0 ok, 1 vehicle registered, 2 no such vehicle, 3 terminal registered, 4 no such terminal' }),
    field('authCode', textToEnd, { when: (o) => o.result === 0 }),
  ]),
});

export const setParams = message({
  id: 0x8103, name: 'setParams', title: 'Set terminal parameters', cn: '设置终端参数',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([field('totalCount', u8, until2011), field('params', list(u8, paramItem))]),
});

export const queryParams = message({
  id: 0x8104, name: 'queryParams', title: 'Query terminal parameters', cn: '查询终端参数',
  direction: 'down', editions: ALL, body: null, replies: [0x0104],
});

/** 0x8105 — terminal control; the parameters stay one `;`-separated string (§4.7, §7 rows 16–17). */
export const terminalControl = message({
  id: 0x8105, name: 'terminalControl', title: 'Terminal control', cn: '终端控制',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([
    field('command', u8, { doc: '1 upgrade, 2 connect to server, 3 power off, 4 reset, 5 factory reset, 6/7 close comms' }),
    field('parameters', textToEnd, { optional: true, doc: '`;`-separated fields of commands 1 and 2' }),
  ]),
});

export const querySpecifiedParams = message({
  id: 0x8106, name: 'querySpecifiedParams', title: 'Query specified terminal parameters', cn: '查询指定终端参数',
  direction: 'down', editions: SINCE_2013, replies: [0x0104],
  body: struct([field('paramIds', list(u8, u32))]),
});

export const queryAttributes = message({
  id: 0x8107, name: 'queryAttributes', title: 'Query terminal attributes', cn: '查询终端属性',
  direction: 'down', editions: SINCE_2013, body: null, replies: [0x0107],
});

/** 0x8108 — upgrade package; maker id is 5 bytes in 2013 and 2019 (§7 row 2). */
export const upgradePackage = message({
  id: 0x8108, name: 'upgradePackage', title: 'Deliver terminal upgrade package', cn: '下发终端升级包',
  direction: 'down', editions: SINCE_2013, replies: [0x0001],
  body: struct([
    field('upgradeType', u8), field('makerId', text(5)), field('version', text(u8)), field('package', bytes(u32)),
  ]),
});

export const queryLocation = message({
  id: 0x8201, name: 'queryLocation', title: 'Location query', cn: '位置信息查询',
  direction: 'down', editions: ALL, body: null, replies: [0x0201],
});

export const trackLocation = message({
  id: 0x8202, name: 'trackLocation', title: 'Temporary location tracking', cn: '临时位置跟踪控制',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([
    field('interval', u16, { unit: 's', doc: '0 stops tracking' }),
    field('validity', u32, { unit: 's', when: (o) => o.interval !== 0 }),
  ]),
});

export const confirmAlarm = message({
  id: 0x8203, name: 'confirmAlarm', title: 'Manual alarm confirmation', cn: '人工确认报警消息',
  direction: 'down', editions: SINCE_2013, replies: [0x0001],
  body: struct([
    field('alarmSerial', u16, { doc: 'serial of the 0x0200; 0 = all of these types' }),
    field('alarmTypes', u32, { doc: 'bits §4.10.6' }),
  ]),
});

export const linkCheck = message({
  id: 0x8204, name: 'linkCheck', title: 'Link check', cn: '链路检测',
  direction: 'down', editions: ONLY_2019, body: null, replies: [0x0001],
});

export const textMessage = message({
  id: 0x8300, name: 'textMessage', title: 'Text message', cn: '文本信息下发',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([
    field('flags', u8, { doc: 'bits §4.10.5' }),
    field('textType', u8, { since: 2019, doc: '1 notice, 2 service' }),
    field('text', textToEnd),
  ]),
});

export const eventSetting = message({
  id: 0x8301, name: 'eventSetting', title: 'Event setting', cn: '事件设置',
  direction: 'down', editions: UNTIL_2013, replies: [0x0001],
  body: struct([
    field('settingType', u8, { doc: '0 delete all, 1 update, 2 append, 3 modify, 4 delete listed' }),
    field('totalCount', u8, { ...until2011, when: (o) => o.settingType !== 0 }),
    field('events', list(u8, struct([field('eventId', u8), field('content', text(u8))])), { when: (o) => o.settingType !== 0 }),
  ]),
});

export const question = message({
  id: 0x8302, name: 'question', title: 'Question', cn: '提问下发',
  direction: 'down', editions: UNTIL_2013, replies: [0x0001, 0x0302],
  body: struct([
    field('flags', u8), field('question', text(u8)),
    field('answers', list('toEnd', struct([field('answerId', u8), field('content', text(u16))]))),
  ]),
});

export const infoMenuSetting = message({
  id: 0x8303, name: 'infoMenuSetting', title: 'Information menu setting', cn: '信息点播菜单设置',
  direction: 'down', editions: UNTIL_2013, replies: [0x0001],
  body: struct([
    field('settingType', u8), field('totalCount', u8, until2011),
    field('items', list(u8, struct([field('infoType', u8), field('name', text(u16))]))),
  ]),
});

export const infoService = message({
  id: 0x8304, name: 'infoService', title: 'Information service', cn: '信息服务',
  direction: 'down', editions: UNTIL_2013, replies: [0x0001],
  body: struct([field('infoType', u8), field('totalLength', u16, until2011), field('content', text(u16))]),
});

export const callBack = message({
  id: 0x8400, name: 'callBack', title: 'Call back', cn: '电话回拨',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([field('listen', u8, { doc: '0 normal call, 1 listen' }), field('phone', textToEnd)]),
});

export const setPhoneBook = message({
  id: 0x8401, name: 'setPhoneBook', title: 'Set phone book', cn: '设置电话本',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([
    field('settingType', u8), field('totalCount', u8, until2011),
    field('contacts', list(u8, struct([
      field('flag', u8, { doc: '1 incoming, 2 outgoing, 3 both' }), field('phone', text(u8)), field('name', text(u8)),
    ]))),
  ]),
});

/**
 * 2019 0x8500 controls: `type id WORD, parameter`, whose size only the id tells (§6.2). An id this
 * codec does not know ends the list: its parameter and the rest are kept raw in `rest`.
 */
interface VehicleControl {
  typeId: number;
  value?: number;
  rest?: Buffer;
}
const CONTROL_PARAM_SIZE: Record<number, number> = { 0x0001: 1 };
const vehicleControls: FieldType<VehicleControl[]> = {
  wire: 'count WORD, (type id WORD, parameter)×count',
  read: (r) => {
    const n = r.u16();
    const out: VehicleControl[] = [];
    for (let i = 0; i < n; i++) {
      const typeId = r.u16();
      if (CONTROL_PARAM_SIZE[typeId] === 1) {
        out.push({ typeId, value: r.u8() });
      } else {
        out.push({ typeId, rest: Buffer.from(r.buf.subarray(r.pos, r.end)) });
        r.pos = r.end;
        break;
      }
    }
    return out;
  },
  write: (w, v) => {
    w.u16(v.length);
    for (const c of v) {
      w.u16(c.typeId);
      if (c.rest) w.bytes(c.rest);
      else if (CONTROL_PARAM_SIZE[c.typeId] === 1 && typeof c.value === 'number') w.u8(c.value);
      else throw new CodecError(ErrorCode.ENCODE, `vehicle control 0x${c.typeId.toString(16)} needs value (known id) or rest (raw)`);
    }
  },
};

/** 0x8500 — 2011/2013: one flag byte (bit 0: 1 lock doors); 2019: controls, door 0x0001 value 0 locked, 1 opened (§7 row 5). */
export const vehicleControl = message({
  id: 0x8500, name: 'vehicleControl', title: 'Vehicle control', cn: '车辆控制',
  direction: 'down', editions: ALL, replies: [0x0001, 0x0500],
  body: struct([
    field('controlFlags', u8, { until: 2013, doc: 'bit 0: 0 unlock, 1 lock doors' }),
    field('controls', vehicleControls, { since: 2019 }),
  ]),
});

const areaMessage = (id: number, name: string, title: string, cn: string, body: FieldType<any>) =>
  message({ id, name, title, cn, direction: 'down', editions: ALL, replies: [0x0001], body });

export const setCircleAreas = areaMessage(0x8600, 'setCircleAreas', 'Set circular area', '设置圆形区域', circleAreaBody);
export const deleteCircleAreas = areaMessage(0x8601, 'deleteCircleAreas', 'Delete circular areas', '删除圆形区域', deleteAreasBody);
export const setRectangleAreas = areaMessage(0x8602, 'setRectangleAreas', 'Set rectangular area', '设置矩形区域', rectangleAreaBody);
export const deleteRectangleAreas = areaMessage(0x8603, 'deleteRectangleAreas', 'Delete rectangular areas', '删除矩形区域', deleteAreasBody);
export const setPolygonArea = areaMessage(0x8604, 'setPolygonArea', 'Set polygon area', '设置多边形区域', polygonAreaBody);
export const deletePolygonAreas = areaMessage(0x8605, 'deletePolygonAreas', 'Delete polygon areas', '删除多边形区域', deleteAreasBody);
export const setRoute = areaMessage(0x8606, 'setRoute', 'Set route', '设置路线', routeBody);
export const deleteRoutes = areaMessage(0x8607, 'deleteRoutes', 'Delete routes', '删除路线', deleteAreasBody);

export const queryAreas = message({
  id: 0x8608, name: 'queryAreas', title: 'Query area/route data', cn: '查询区域或线路数据',
  direction: 'down', editions: ONLY_2019, replies: [0x0608],
  body: struct([field('queryType', u8, { doc: '1 circle, 2 rectangle, 3 polygon, 4 route' }), field('ids', list(u32, u32))]),
});

export const recorderCollect = message({
  id: 0x8700, name: 'recorderCollect', title: 'Driving recorder data collection command', cn: '行驶记录数据采集命令',
  direction: 'down', editions: ALL, replies: [0x0700],
  body: struct([field('command', u8), field('data', bytes('toEnd'), { since: 2013 })]),
});

export const recorderParams = message({
  id: 0x8701, name: 'recorderParams', title: 'Driving recorder parameter command', cn: '行驶记录参数下传命令',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([field('command', u8), field('data', bytes('toEnd'))]),
});

export const requestDriverIdentity = message({
  id: 0x8702, name: 'requestDriverIdentity', title: 'Request driver identity report', cn: '上报驾驶员身份信息请求',
  direction: 'down', editions: SINCE_2013, body: null, replies: [0x0702],
});

/** 0x8800 — answer to 0x0801: no list when every packet arrived. 2011 starts with a reply serial. */
export const mediaUploadReply = message({
  id: 0x8800, name: 'mediaUploadReply', title: 'Multimedia data upload response', cn: '多媒体数据上传应答',
  direction: 'down', editions: ALL,
  body: struct([
    field('replySerial', u16, until2011),
    field('mediaId', u32),
    field('retransmit', list(u8, u16), { optional: true, doc: 'packet indexes to re-send; absent when complete' }),
  ]),
});

export const captureCommand = message({
  id: 0x8801, name: 'captureCommand', title: 'Camera capture command', cn: '摄像头立即拍摄命令',
  direction: 'down', editions: ALL, replies: [0x0805, 0x0001],
  body: struct([
    field('channel', u8), field('command', u16, { doc: '0 stop, 0xFFFF video, n photos' }),
    field('interval', u16, { unit: 's' }), field('save', u8, { doc: '1 save, 0 upload now' }),
    field('resolution', u8), field('quality', u8), field('brightness', u8), field('contrast', u8),
    field('saturation', u8), field('chroma', u8),
  ]),
});

const mediaQuery = [
  field('mediaType', u8), field('channel', u8, { doc: '0 = all channels' }), field('event', u8),
  field('startTime', bcd(6), { doc: 'YYMMDDhhmmss GMT+8; all zero = no filter' }), field('endTime', bcd(6)),
];

export const mediaSearch = message({
  id: 0x8802, name: 'mediaSearch', title: 'Stored multimedia search', cn: '存储多媒体数据检索',
  direction: 'down', editions: ALL, replies: [0x0802], body: struct(mediaQuery),
});

export const mediaUploadCommand = message({
  id: 0x8803, name: 'mediaUploadCommand', title: 'Stored multimedia upload command', cn: '存储多媒体数据上传命令',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([...mediaQuery, field('delete', u8, { doc: '0 keep, 1 delete after upload' })]),
});

export const audioRecording = message({
  id: 0x8804, name: 'audioRecording', title: 'Start audio recording', cn: '录音开始命令',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([
    field('command', u8, { doc: '0 stop, 1 start' }), field('duration', u16, { unit: 's' }),
    field('save', u8, { doc: '0 upload now, 1 save' }), field('sampleRate', u8, { doc: '0 8k, 1 11k, 2 23k, 3 32k' }),
  ]),
});

export const singleMediaUpload = message({
  id: 0x8805, name: 'singleMediaUpload', title: 'Single stored multimedia upload command', cn: '单条存储多媒体数据检索上传命令',
  direction: 'down', editions: SINCE_2013, replies: [0x0001],
  body: struct([field('mediaId', u32), field('delete', u8)]),
});

export const passThroughDown = message({
  id: 0x8900, name: 'passThroughDown', title: 'Downlink pass-through', cn: '数据下行透传',
  direction: 'down', editions: ALL, replies: [0x0001],
  body: struct([
    field('passThroughType', u8), field('totalLength', u32, until2011),
    field('content', { 2011: bytes(u16), 2013: bytes('toEnd'), 2019: bytes('toEnd') }),
  ]),
});

export const platformRsaKey = message({
  id: 0x8a00, name: 'platformRsaKey', title: 'Platform RSA public key', cn: '平台 RSA 公钥',
  direction: 'down', editions: ALL, replies: [0x0a00],
  body: struct([field('e', u32), field('n', bytes(128))]),
});

export const DOWNLINK = [
  platformGeneralReply, platformResendRequest, serverTime, registerReply, setParams, queryParams, terminalControl,
  querySpecifiedParams, queryAttributes, upgradePackage, queryLocation, trackLocation, confirmAlarm, linkCheck,
  textMessage, eventSetting, question, infoMenuSetting, infoService, callBack, setPhoneBook, vehicleControl,
  setCircleAreas, deleteCircleAreas, setRectangleAreas, deleteRectangleAreas, setPolygonArea, deletePolygonAreas,
  setRoute, deleteRoutes, queryAreas, recorderCollect, recorderParams, requestDriverIdentity, mediaUploadReply,
  captureCommand, mediaSearch, mediaUploadCommand, audioRecording, singleMediaUpload, passThroughDown, platformRsaKey,
];
