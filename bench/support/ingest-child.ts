/** Entry point of bench/ingest's child processes: plays the role named by argv[2]. */
import type { IngestRole } from './ingest-proc.js';

const role = process.argv[2] as IngestRole;
if (role === 'gateway') (await import('./ingest-gateway.js')).runIngestGateway();
else if (role === 'simulator') (await import('./ingest-simulator.js')).runIngestSimulator();
else if (role === 'echoServer') (await import('./ingest-echo.js')).runEchoServer();
else if (role === 'echoClient') (await import('./ingest-echo.js')).runEchoClient();
else {
  process.stderr.write(`ingest child: unknown role '${String(role)}'\n`);
  process.exit(2);
}
