/**
 * `npm run bench`: every benchmark, one after the other, each in its own process (they measure memory and
 * start their own runtimes). Prints what each prints; exits non-zero if one failed to run.
 * One benchmark: node dist/bench/<name>.js (see each file's header for its arguments).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const only = process.argv.slice(2);
const benches = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.js') && f !== 'run-all.js' && !f.endsWith('-load.js') && !f.endsWith('-peer.js'))
  .map((f) => f.replace(/\.js$/, ''))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

let failed = 0;
for (const name of benches) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const res = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, `${name}.js`)], { stdio: 'inherit' });
  if (res.status !== 0) {
    failed += 1;
    process.stdout.write(`(${name} exited with ${res.status ?? res.signal})\n`);
  }
}
process.exit(failed ? 1 : 0);
