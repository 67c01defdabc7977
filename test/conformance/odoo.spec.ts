/**
 * Conformance of the Odoo peer with a real Odoo 18: the battery of test/conformance/odoo-probes.ts runs
 * against the peer and is judged against the observations recorded from a real Odoo 18
 * (odoo18.observed.json, see record-odoo.ts); every difference fails unless it is one of the documented
 * exceptions, and an exception that no longer matches fails too. With ODOO_CONFORMANCE_URL set, the
 * battery also runs against that Odoo and the peer is judged against it live.
 */
import * as assert from 'node:assert/strict';
import type { OdooPeer } from '../../peers/odoo';
import { ODOO_KNOWN_DIFFERENCES, ODOO_PROBES } from './odoo-probes';
import { peerTarget, readRecording, realConfigured, realTarget, runTag } from './odoo-targets';
import { differences, judge, markdownTable, normalise, runProbes, staleExceptions, type ProbeResult, type Verdict } from './runner';

function explain(v: Verdict): string {
  if (v.error) return `${v.probe}: the probe failed: ${v.error}`;
  return `${v.probe} differs from Odoo 18:\n${v.differences.map((d) => `  ${d.path}: Odoo ${JSON.stringify(d.reference)}, peer ${JSON.stringify(d.actual)}`).join('\n')}`;
}

describe('conformance: the Odoo peer answers like a real Odoo 18', function () {
  this.timeout(120000);
  const recording = readRecording();
  let peer: OdooPeer;
  let observed: ProbeResult[];
  let verdicts: Verdict[];

  before(async () => {
    const side = await peerTarget();
    peer = side.peer;
    observed = await runProbes(ODOO_PROBES, side.target, { tag: runTag() });
    verdicts = judge(recording.results, observed, ODOO_KNOWN_DIFFERENCES);
  });
  after(async () => {
    await peer?.stop();
  });

  it('has a recording from Odoo 18 of every probe, each run to the end', () => {
    assert.match(recording.server, /^18\./);
    assert.deepEqual(
      recording.results.map((r) => r.name),
      ODOO_PROBES.map((p) => p.name),
      'record again: node dist/test/conformance/record-odoo.js --write',
    );
    assert.deepEqual(
      recording.results.filter((r) => r.error).map((r) => r.name),
      [],
    );
  });

  for (const probe of ODOO_PROBES) {
    it(`${probe.name}: ${probe.about}`, () => {
      const v = verdicts.find((x) => x.probe === probe.name);
      assert.ok(v, `no verdict for ${probe.name}`);
      assert.ok(v.status === 'same' || v.status === 'excepted', explain(v));
    });
  }

  it('keeps only exceptions that still match a difference, each with its reason', () => {
    assert.deepEqual(staleExceptions(verdicts, ODOO_KNOWN_DIFFERENCES), []);
    for (const k of ODOO_KNOWN_DIFFERENCES) assert.ok(k.reason.length > 40, `${k.probe} ${k.path}: say why the difference does not matter`);
  });

  describe('against a live Odoo (ODOO_CONFORMANCE_URL)', function () {
    if (!realConfigured()) return;
    this.timeout(600000);
    let live: Verdict[];
    before(async () => {
      const real = await realTarget();
      const realResults = await runProbes(ODOO_PROBES, real, { tag: runTag() });
      live = judge(realResults, observed, ODOO_KNOWN_DIFFERENCES);
      process.stdout.write(`${markdownTable(live, { reference: 'Odoo 18', actual: 'peer' })}\n`);
    });
    it('the peer answers every probe like this Odoo', () => {
      const bad = live.filter((v) => v.status !== 'same' && v.status !== 'excepted');
      assert.deepEqual(bad.map(explain), []);
    });
  });
});

describe('conformance runner', () => {
  it('normalises the run tag, aliases and times, keeping their precision', () => {
    const out = normalise(
      { name: 'conf1 paciente', at: '2026-12-01 04:23:08.849556', rpc: '2026-12-01 04:23:08', day: '2026-12-01', user: 'Mitchell Admin', n: 7 },
      new Map<string | number, string>([
        ['conf1', '<tag>'],
        ['Mitchell Admin', '<user>'],
        [7, '<id>'],
      ]),
    );
    assert.deepEqual(out, { name: '<tag> paciente', at: '<datetime.us>', rpc: '<datetime>', day: '<date>', user: '<user>', n: '<id>' });
  });

  it('reports every differing leaf, separates documented exceptions and finds stale ones', () => {
    const reference: ProbeResult[] = [
      { name: 'p', about: '', observed: { a: 1, b: [1, 2], c: 'x' }, ms: 0 },
      { name: 'q', about: '', observed: { a: 1 }, ms: 0 },
    ];
    const actual: ProbeResult[] = [
      { name: 'p', about: '', observed: { a: 2, b: [1], c: 'x' }, ms: 0 },
      { name: 'q', about: '', observed: { a: 1 }, ms: 0 },
    ];
    assert.deepEqual(
      differences(reference[0].observed, actual[0].observed).map((d) => d.path),
      ['a', 'b.1'],
    );
    const known = [
      { probe: 'p', path: 'b', reason: 'r' },
      { probe: 'q', path: 'a', reason: 'r' },
    ];
    const [p, q] = judge(reference, actual, known);
    assert.equal(p.status, 'different');
    assert.deepEqual(
      p.differences.map((d) => d.path),
      ['a'],
    );
    assert.deepEqual(
      p.excepted.map((d) => d.path),
      ['b.1'],
    );
    assert.equal(q.status, 'same');
    assert.deepEqual(staleExceptions([p, q], known), [{ probe: 'q', path: 'a', reason: 'r' }]);
  });
});
