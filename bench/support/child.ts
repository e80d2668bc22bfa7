/**
 * Entry point of every benchmark child process: plays the role named by argv[2]. Each role is
 * imported only where it runs, so a client process does not load the gateway (or the reverse).
 */
import type { Role } from './ipc.js';

const role = process.argv[2] as Role;
switch (role) {
  case 'gateway':
    (await import('./gateway-server.js')).runGatewayServer();
    break;
  case 'bare':
    (await import('./bare-server.js')).runBareServer();
    break;
  case 'clients':
    (await import('./clients.js')).runClients();
    break;
  case 'publisher':
    (await import('./publisher.js')).runPublisher();
    break;
  default:
    process.stderr.write(`bench child: unknown role '${String(role)}'\n`);
    process.exit(2);
}
