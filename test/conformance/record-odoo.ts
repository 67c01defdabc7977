/**
 * Runs the Odoo battery against a real Odoo and the peer, prints the probe-by-probe table (Markdown) and
 * every difference; with --write, stores the real Odoo's observations as the reference CI compares with.
 *
 *   npm run build && ODOO_CONFORMANCE_URL=http://127.0.0.1:8069 ODOO_CONFORMANCE_DB=clinica \
 *     ODOO_CONFORMANCE_USER=admin ODOO_CONFORMANCE_PASSWORD=admin node dist/test/conformance/record-odoo.js [--write] [--only <regex>]
 */
import { jsonrpc } from './odoo-wire';
import { ODOO_KNOWN_DIFFERENCES, ODOO_PROBES } from './odoo-probes';
import { peerTarget, realConfigured, realTarget, runTag, writeRecording } from './odoo-targets';
import { judge, markdownTable, runProbes, staleExceptions } from './runner';

async function main(): Promise<void> {
  if (!realConfigured()) throw new Error('set ODOO_CONFORMANCE_URL (and ODOO_CONFORMANCE_DB, _USER, _PASSWORD) to a real Odoo 18');
  const i = process.argv.indexOf('--only');
  const only = i >= 0 ? new RegExp(process.argv[i + 1]) : undefined;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const real = await realTarget();
  const { envelope } = await jsonrpc(real, 'common', 'version', []);
  const server = String((envelope.result as { server_version: string }).server_version);
  log(`real: ${real.url} (Odoo ${server}, db ${real.db}, uid ${real.uid})`);
  const realResults = await runProbes(ODOO_PROBES, real, { tag: runTag(), only, log: (l) => log(`  real  ${l}`) });
  const { peer, target } = await peerTarget();
  let peerResults;
  try {
    peerResults = await runProbes(ODOO_PROBES, target, { tag: runTag(), only, log: (l) => log(`  peer  ${l}`) });
  } finally {
    await peer.stop();
  }
  const verdicts = judge(realResults, peerResults, ODOO_KNOWN_DIFFERENCES);
  process.stdout.write(`${markdownTable(verdicts, { reference: 'Odoo 18', actual: 'peer' })}\n`);
  for (const r of realResults.filter((x) => x.error)) process.stdout.write(`\nprobe failed on the real Odoo: ${r.name}\n${r.error}\n`);
  const stale = only ? [] : staleExceptions(verdicts, ODOO_KNOWN_DIFFERENCES);
  for (const s of stale) process.stdout.write(`\nstale exception (no longer differs): ${s.probe} ${s.path}\n`);
  if (process.argv.includes('--write')) {
    if (only || realResults.some((r) => r.error)) throw new Error('not writing a partial recording (--only, or a probe failed on the real Odoo)');
    writeRecording({ server, recordedAt: new Date().toISOString(), results: realResults });
    log('recording written');
  }
  const bad = verdicts.filter((v) => v.status === 'different' || v.status === 'missing');
  process.exitCode = bad.length || stale.length ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
