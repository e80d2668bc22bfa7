import { bcd, field, list, scaled, struct, text, u16, u32, u8, type Fields } from '../../src/codec/index.js';

/**
 * Areas and routes (0x8600–0x8608, 0x0608 items). Optional fields follow the attribute bits in
 * both directions (§7 rows 7–9): bit 0 → start/end time, bit 1 → speed limit (and the 2019 night
 * limit). Times are BCD strings `YYMMDDhhmmss` because `000000hhmmss` means "every day".
 * Coordinates are unsigned degrees; attribute bits 6/7 (segment bits 2/3) give the hemisphere.
 */
const timeRule = (o: Fields): boolean => ((o.attribute as number) & 1) !== 0;
const speedRule = (o: Fields): boolean => ((o.attribute as number) & 2) !== 0;
const degrees = scaled(u32, 1e6);

const timeFields = [
  field('startTime', bcd(6), { when: timeRule, doc: 'YYMMDDhhmmss GMT+8; 000000 date = daily' }),
  field('endTime', bcd(6), { when: timeRule }),
];
const speedFields = [
  field('maxSpeed', u16, { when: speedRule, unit: 'km/h' }),
  field('overspeedDuration', u8, { when: speedRule, unit: 's' }),
];
const nightSpeed = field('nightMaxSpeed', u16, { since: 2019, when: speedRule, unit: 'km/h' });
const areaName = field('name', text(u16), { since: 2019 });

export const circleArea = struct([
  field('areaId', u32), field('attribute', u16, { doc: 'bits §4.8.1' }),
  field('latitude', degrees, { unit: 'degree' }), field('longitude', degrees, { unit: 'degree' }),
  field('radius', u32, { unit: 'm' }),
  ...timeFields, ...speedFields, nightSpeed, areaName,
]);

export const rectangleArea = struct([
  field('areaId', u32), field('attribute', u16),
  field('topLeftLatitude', degrees), field('topLeftLongitude', degrees),
  field('bottomRightLatitude', degrees), field('bottomRightLongitude', degrees),
  ...timeFields, ...speedFields, nightSpeed, areaName,
]);

const setAreas = (item: typeof circleArea) =>
  struct([
    field('settingType', u8, { doc: '0 update (replace), 1 append, 2 modify' }),
    field('totalCount', u8, { until: 2011, doc: '2011: areas in total; the list count is this packet' }),
    field('areas', list(u8, item)),
  ]);

export const circleAreaBody = setAreas(circleArea);
export const rectangleAreaBody = setAreas(rectangleArea);

const vertex = struct([field('latitude', degrees), field('longitude', degrees)]);

/** 0x8604: one polygon per message; the 2019 night limit comes after the vertices (§7 row 9). */
export const polygonAreaBody = struct([
  field('areaId', u32), field('attribute', u16),
  ...timeFields, ...speedFields,
  field('totalVertices', u16, { until: 2011 }),
  field('vertices', { 2011: list(u8, vertex), 2013: list(u16, vertex), 2019: list(u16, vertex) }),
  nightSpeed, areaName,
]);

const segmentTime = (o: Fields): boolean => ((o.segmentAttribute as number) & 1) !== 0;
const segmentSpeed = (o: Fields): boolean => ((o.segmentAttribute as number) & 2) !== 0;

const turningPoint = struct([
  field('pointId', u32, { since: 2013 }),
  field('segmentId', u32),
  field('latitude', degrees), field('longitude', degrees),
  field('segmentWidth', u8, { unit: 'm' }),
  field('segmentAttribute', u8, { doc: 'bit 0 time thresholds, bit 1 speed limit, bit 2 south, bit 3 west' }),
  field('maxDrivingTime', u16, { since: 2013, when: segmentTime, unit: 's', doc: 'too-long threshold' }),
  field('minDrivingTime', u16, { since: 2013, when: segmentTime, unit: 's', doc: 'too-short threshold' }),
  field('drivingTime', u16, { until: 2011, when: segmentTime, unit: 's' }),
  field('maxSpeed', u16, { when: segmentSpeed, unit: 'km/h' }),
  field('overspeedDuration', u8, { when: segmentSpeed, unit: 's' }),
  field('nightMaxSpeed', u16, { since: 2019, when: segmentSpeed, unit: 'km/h' }),
]);

export const routeBody = struct([
  field('routeId', u32), field('attribute', u16, { doc: 'bits §4.8.2' }),
  ...timeFields,
  field('totalPoints', u16, { until: 2011 }),
  field('points', { 2011: list(u8, turningPoint), 2013: list(u16, turningPoint), 2019: list(u16, turningPoint) }),
  areaName,
]);

/** 0x8601/0x8603/0x8605/0x8607: up to 125 ids; an empty list deletes all of that shape. */
export const deleteAreasBody = struct([field('ids', list(u8, u32))]);
