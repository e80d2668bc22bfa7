/**
 * Fences as GeoJSON Features (RFC 7946), the form the HTTP API and the fixtures use:
 *
 * | shape     | geometry                         | properties besides the common ones            |
 * | --------- | -------------------------------- | --------------------------------------------- |
 * | circle    | Point (the centre)               | `radiusM`                                     |
 * | rectangle | Polygon, its 4 corners + closing | `shape: "rectangle"`                          |
 * | polygon   | Polygon (holes) or MultiPolygon  |                                               |
 * | corridor  | LineString                       | `widthM`, optional `segments` (one per segment: `{ speedLimitKmh?, timeWindows? }` or null) |
 *
 * Common properties: `kind` (required), `name` (default: the id), `organisation`,
 * `timeWindows` (`[{ days: [1…7], from: "HH:MM", to: "HH:MM" }]`, China time), `speedLimitKmh`.
 * The id is the Feature's `id` (or `properties.id`). Other properties are ignored on import.
 */
import type { Feature, FeatureCollection, Geometry, LineString, MultiPolygon, Point, Polygon, Position } from 'geojson';
import { assertValidFence, FenceError, FenceErrorCode, type Fence, type FenceKind } from './fence.js';

type Props = Record<string, unknown>;

/** A fence from a GeoJSON Feature; throws FenceError (FG_ERR_BAD_GEOMETRY / FG_ERR_BAD_FENCE). */
export function fenceFromGeoJSON(feature: unknown): Fence {
  if (feature === null || typeof feature !== 'object' || (feature as { type?: unknown }).type !== 'Feature') {
    throw new FenceError(FenceErrorCode.BAD_FENCE, 'not a GeoJSON Feature');
  }
  const { id: featureId, geometry, properties } = feature as Feature<Geometry | null>;
  const props: Props = properties ?? {};
  const rawId = featureId ?? props.id;
  if ((typeof rawId !== 'string' && typeof rawId !== 'number') || rawId === '') {
    throw new FenceError(FenceErrorCode.BAD_FENCE, 'the Feature has no id (Feature.id or properties.id)');
  }
  const id = String(rawId);
  const common = {
    id,
    name: props.name === undefined ? id : (props.name as string),
    kind: props.kind as FenceKind,
    ...(props.organisation !== undefined && { organisation: props.organisation as string }),
    ...(props.timeWindows !== undefined && { timeWindows: structuredClone(props.timeWindows) as Fence['timeWindows'] }),
    ...(props.speedLimitKmh !== undefined && { speedLimitKmh: props.speedLimitKmh as number }),
  };
  const geom = (msg: string) => new FenceError(FenceErrorCode.BAD_GEOMETRY, msg, id);
  if (geometry === null || typeof geometry !== 'object') throw geom('the Feature has no geometry');
  if (!Array.isArray((geometry as { coordinates?: unknown }).coordinates)) throw geom(`${geometry.type} geometry without coordinates`);
  switch (geometry.type) {
    case 'Point':
      return assertValidFence({ ...common, shape: 'circle', center: copy((geometry as Point).coordinates), radiusM: props.radiusM as number });
    case 'LineString':
      return assertValidFence({
        ...common, shape: 'corridor', line: copy((geometry as LineString).coordinates), widthM: props.widthM as number,
        ...(props.segments !== undefined && { segments: structuredClone(props.segments) as [] }),
      });
    case 'Polygon':
      if (props.shape === 'rectangle') return assertValidFence({ ...common, shape: 'rectangle', ...rectangleCorners(geometry as Polygon, geom) });
      return assertValidFence({ ...common, shape: 'polygon', geometry: { type: 'Polygon', coordinates: copy((geometry as Polygon).coordinates) } });
    case 'MultiPolygon':
      return assertValidFence({ ...common, shape: 'polygon', geometry: { type: 'MultiPolygon', coordinates: copy((geometry as MultiPolygon).coordinates) } });
    default:
      throw geom(`unsupported geometry type ${JSON.stringify(geometry.type)} (Point, LineString, Polygon or MultiPolygon)`);
  }
}

/** Every Feature of a FeatureCollection; the first bad one throws, its index in the message. */
export function fencesFromGeoJSON(collection: unknown): Fence[] {
  const features = (collection as FeatureCollection | null)?.features;
  if ((collection as FeatureCollection | null)?.type !== 'FeatureCollection' || !Array.isArray(features)) {
    throw new FenceError(FenceErrorCode.BAD_FENCE, 'not a GeoJSON FeatureCollection');
  }
  return features.map((f, i) => {
    try {
      return fenceFromGeoJSON(f);
    } catch (e) {
      if (e instanceof FenceError) throw new FenceError(e.code, `feature ${i}: ${e.message}`);
      throw e;
    }
  });
}

/** The fence as a GeoJSON Feature; fenceFromGeoJSON(fenceToGeoJSON(f)) equals f. */
export function fenceToGeoJSON(f: Fence): Feature {
  const properties: Props = { name: f.name, kind: f.kind };
  if (f.organisation !== undefined) properties.organisation = f.organisation;
  if (f.timeWindows !== undefined) properties.timeWindows = structuredClone(f.timeWindows);
  if (f.speedLimitKmh !== undefined) properties.speedLimitKmh = f.speedLimitKmh;
  let geometry: Geometry;
  switch (f.shape) {
    case 'circle':
      geometry = { type: 'Point', coordinates: copy(f.center) };
      properties.radiusM = f.radiusM;
      break;
    case 'rectangle': {
      const [w, s] = f.sw, [e, n] = f.ne;
      geometry = { type: 'Polygon', coordinates: [[[w!, s!], [e!, s!], [e!, n!], [w!, n!], [w!, s!]]] };
      properties.shape = 'rectangle';
      break;
    }
    case 'polygon':
      geometry = copy(f.geometry);
      break;
    case 'corridor':
      geometry = { type: 'LineString', coordinates: copy(f.line) };
      properties.widthM = f.widthM;
      if (f.segments !== undefined) properties.segments = structuredClone(f.segments);
      break;
  }
  return { type: 'Feature', id: f.id, properties, geometry };
}

export function fencesToGeoJSON(fences: Iterable<Fence>): FeatureCollection {
  return { type: 'FeatureCollection', features: [...fences].map(fenceToGeoJSON) };
}

function copy<T>(v: T): T {
  return structuredClone(v);
}

/** sw/ne of a Polygon that must be an axis-aligned rectangle (its corners are its bbox's). */
function rectangleCorners(g: Polygon, geom: (msg: string) => FenceError): { sw: Position; ne: Position } {
  const ring = g.coordinates[0];
  if (g.coordinates.length !== 1 || !Array.isArray(ring) || ring.length !== 5) {
    throw geom('a rectangle is a Polygon of one ring with 4 corners and the first repeated');
  }
  if (!ring.every((p) => Array.isArray(p) && p.length >= 2)) throw geom('rectangle corners must be [lon, lat] positions');
  const lons = ring.map((p) => p[0]!), lats = ring.map((p) => p[1]!);
  const sw = [Math.min(...lons), Math.min(...lats)], ne = [Math.max(...lons), Math.max(...lats)];
  const onCorner = (p: Position) => (p[0] === sw[0] || p[0] === ne[0]) && (p[1] === sw[1] || p[1] === ne[1]);
  const distinct = new Set(ring.slice(0, 4).map((p) => `${p[0]},${p[1]}`));
  if (!ring.every(onCorner) || distinct.size !== 4) throw geom(`not an axis-aligned rectangle: ${JSON.stringify(ring)}`);
  return { sw, ne };
}
