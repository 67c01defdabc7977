/**
 * A second Node-RED in its own process, for the tests that need two runtimes on one database and broker (one
 * embedded runtime per process): `node runtime-child.js <flow.json>`, the environment passed by the parent.
 * Prints `READY <url>` when its flows run; stops cleanly on SIGTERM. With CLINICA_REPLICA_LOGS=1 it also prints
 * every log record as a `LOG <json>` line (the fault suite greps them for secrets).
 */
import * as fs from 'node:fs';
import { startRuntime } from './runtime';

const flow = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as object[];
const printLogs = process.env.CLINICA_REPLICA_LOGS === '1';
startRuntime(flow, printLogs ? { onLog: (r) => process.stdout.write(`LOG ${JSON.stringify(r)}\n`) } : {}).then(
  (rt) => {
    process.stdout.write(`READY ${rt.url}\n`);
    process.once('SIGTERM', () => {
      rt.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
