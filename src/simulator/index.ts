/** The terminal simulator: the demo, the load generator and the end-to-end client of the gateway. */
export { runSimulation, type SimulationOptions, type SimulationProgress } from './run.js';
export { VirtualTerminal } from './terminal.js';
export { TerminalConnection, type TerminalState } from './connection.js';
export { defaultBehaviour, type TerminalBehaviour, type TerminalEnv } from './behaviour.js';
export { identityFor, plateOf, type SimEdition, type TerminalIdentity } from './identity.js';
export { RoutePath, loadRoutes, parseRoutes, distanceM, bearingDeg, type LonLat, type RouteCursor, type RouteFixture, type RoutePosition } from './route.js';
export { Vehicle, type DrivingRules } from './vehicle.js';
export { Scheduler, RateLimiter, ConnectGate, type Wakeable } from './scheduler.js';
export { SimulationStats, LatencyHistogram, reportOf, type SimulationReport } from './stats.js';
export { TerminalSettings, type TerminalDefaults } from './settings.js';
export { Random } from './random.js';
