import type { LocationInput } from '../../protocols/jt808/index.js';
import type { Random } from './random.js';
import type { RouteCursor, RoutePath } from './route.js';

/** JT/T 808 §4.3 alarm bits and §4.4 status bits the simulator sets. */
const ALARM_EMERGENCY = 1 << 0;
const ALARM_OVERSPEED = 1 << 1;
const STATUS_ACC = 1 << 0;
const STATUS_LOCATED = 1 << 1;
const STATUS_GPS = 1 << 18;
const STATUS_BEIDOU = 1 << 19;

/** What the terminal's parameters and the run's options say about one step. */
export interface DrivingRules {
  /** Parameter 0x0055: above this the overspeed alarm bit is set. */
  maxSpeedKmh: number;
  /** Chance per driving report that the driver starts speeding; SOS is twenty times rarer. */
  alarmProbability: number;
}

/** Fuel use of a government sedan, L/km (≈ 9 L/100 km in town). */
const FUEL_L_PER_KM = 0.09;
const TANK_L = 60;

/**
 * One vehicle driving its route: speed that follows the road (slower before turns, now and then
 * a red light), trips out to the far end and back to the depot with ACC-off stops at each end,
 * odometer and fuel gauge, and the odd speeding episode or SOS press. Every random choice is
 * drawn from the terminal's own stream, and only in `step`, so a seed fixes the whole track.
 */
export class Vehicle {
  private readonly cursor: RouteCursor;
  accOn: boolean;
  speedKmh = 0;
  private parkedUntilVt = 0;
  private lastVt: number;
  private mileageKm: number;
  private fuelL: number;
  private speedingReports = 0;
  private sos = false;
  /** GNSS noise of the last fix, metres east and north: a real fix wanders a few metres. */
  private noiseE = 0;
  private noiseN = 0;

  constructor(
    readonly path: RoutePath,
    private readonly rng: Random,
    startVt: number,
  ) {
    this.cursor = { distanceM: rng.range(0, path.lengthM), reverse: rng.chance(0.5) };
    this.mileageKm = Math.round(rng.range(3_000, 90_000));
    this.fuelL = rng.range(15, TANK_L);
    this.lastVt = startVt;
    // Most of a fleet is out on the road during the day; the rest waits at a stop.
    this.accOn = rng.chance(0.8);
    if (this.accOn) this.speedKmh = rng.range(0.5, 1) * path.route.speedKmh;
    else this.parkedUntilVt = startVt + rng.range(1, 20) * 60_000;
  }

  /** Advances the vehicle to virtual time `vt` (ms since the epoch). */
  step(vt: number, rules: DrivingRules): void {
    const dtS = (vt - this.lastVt) / 1000;
    this.lastVt = vt;
    this.noiseE = this.rng.range(-3, 3);
    this.noiseN = this.rng.range(-3, 3);
    if (dtS <= 0) return;
    if (!this.accOn) {
      if (vt >= this.parkedUntilVt) this.accOn = true; // engine on; it moves from the next report
      return;
    }
    const target = this.targetSpeed(rules);
    // Cars reach their speed in seconds; over a long report interval the change is immediate.
    const maxChange = 8 * dtS; // km/h per second
    const next = Math.max(0, this.speedKmh + Math.max(-maxChange, Math.min(maxChange, target - this.speedKmh)));
    const metres = ((this.speedKmh + next) / 2 / 3.6) * dtS;
    this.speedKmh = next;
    const ended = this.path.advance(this.cursor, metres);
    this.mileageKm += metres / 1000;
    this.fuelL -= (metres / 1000) * FUEL_L_PER_KM;
    if (this.rng.chance(rules.alarmProbability / 20)) this.sos = true;
    if (ended) this.park(vt);
  }

  private targetSpeed(rules: DrivingRules): number {
    let target = this.path.route.speedKmh * this.rng.range(0.75, 1.1);
    const turn = this.path.turnAhead(this.cursor, 150);
    if (turn > 60) target = Math.min(target, 25);
    else if (turn > 25) target = Math.min(target, 40);
    if (this.speedingReports > 0) {
      this.speedingReports--;
      return rules.maxSpeedKmh + this.rng.range(5, 25);
    }
    if (this.rng.chance(rules.alarmProbability)) {
      this.speedingReports = this.rng.int(1, 4);
      return rules.maxSpeedKmh + this.rng.range(5, 25);
    }
    if (this.rng.chance(0.08)) return 0; // a red light: ACC on, standing still
    return target;
  }

  /** Reached an end of the path: engine off for a while (longer back at the depot), maybe a fill-up. */
  private park(vt: number): void {
    const atDepot = this.cursor.distanceM === 0;
    this.accOn = false;
    this.speedKmh = 0;
    this.parkedUntilVt = vt + (atDepot ? this.rng.range(10, 40) : this.rng.range(5, 20)) * 60_000;
    if (this.fuelL < 15) this.fuelL = this.rng.range(50, TANK_L);
  }

  /** The SOS button stays latched until the platform answers (§4.3 bit 0: cleared on reply). */
  clearEmergency(): void {
    this.sos = false;
  }

  get odometerKm(): number {
    return this.mileageKm;
  }

  get emergency(): boolean {
    return this.sos;
  }

  /** The current fix as a 0x0200 body. Draws nothing: a location query must not change the track. */
  location(vt: number, rules: DrivingRules, signalStrength: number, satellites: number): LocationInput {
    const p = this.path.at(this.cursor);
    const cos = Math.cos((p.latitude * Math.PI) / 180);
    const latitude = p.latitude + this.noiseN / 111_195;
    const longitude = p.longitude + this.noiseE / (111_195 * cos);
    const speed = Math.round(this.speedKmh * 10) / 10;
    const overspeed = speed > rules.maxSpeedKmh;
    const extras: Record<string, unknown> = {
      mileage: Math.round(this.mileageKm * 10) / 10,
      fuel: Math.round(Math.max(0, this.fuelL) * 10) / 10,
      signalStrength,
      satellites,
    };
    // §4.5.1: an overspeed alarm carries item 0x11; position type 0 = no particular area.
    if (overspeed) extras.overspeedAlarm = { positionType: 0 };
    return {
      alarm: (overspeed ? ALARM_OVERSPEED : 0) | (this.sos ? ALARM_EMERGENCY : 0),
      status: ((this.accOn ? STATUS_ACC : 0) | STATUS_LOCATED | STATUS_GPS | STATUS_BEIDOU) >>> 0,
      latitude: Math.round(latitude * 1e6) / 1e6,
      longitude: Math.round(longitude * 1e6) / 1e6,
      // Jinan rises from the Yellow River plain (~25 m) to the hills in the south.
      altitude: Math.round(25 + Math.max(0, 36.7 - p.latitude) * 1500),
      speed,
      direction: Math.round(p.heading) % 360,
      time: new Date(vt),
      extras,
    };
  }
}
