/** A failing system is logged once, then at a backed-off pace, and once when it recovers (nodes/lib/failure-log.ts). */
import { strict as assert } from 'node:assert';
import type { Node } from 'node-red';
import { forgetFailures, logFailure, logRecovery } from '../../nodes/lib/failure-log';

function fakeNode() {
  const lines: Array<{ level: string; record: Record<string, unknown> }> = [];
  const at = (level: string) => (record: unknown) => lines.push({ level, record: record as Record<string, unknown> });
  return { node: { debug: at('debug'), log: at('info'), warn: at('warn'), error: at('error') } as unknown as Node, lines };
}

describe('failure log: once, then backed off, then recovered', function () {
  afterEach(forgetFailures);

  it('warns the first time, sends repeats to debug, warns again after 1, 2, 4 … minutes with the repeats counted', function () {
    const { node, lines } = fakeNode();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const warnsAt: number[] = [];
    // A poll every 10 s for an hour.
    for (let s = 0; s <= 3600; s += 10)
      logFailure(node, 'tab|sync.failed|patients|ODOO_UNAVAILABLE', 'sync.failed', { code: 'ODOO_UNAVAILABLE' }, t0 + s * 1000);
    lines.forEach((l, i) => l.level === 'warn' && warnsAt.push(i * 10));
    assert.deepEqual(
      warnsAt,
      [0, 60, 180, 420, 900, 1860, 3780].filter((s) => s <= 3600),
    );
    assert.equal(lines.filter((l) => l.level === 'warn').length, 6, 'six lines in an hour instead of 361');
    assert.equal(lines[6].record.repeats, 6);
    logRecovery(node, 'tab|sync.failed|', 'sync.recovered', {}, t0 + 3601000);
    assert.equal(lines[lines.length - 1].level, 'info');
    assert.equal(lines[lines.length - 1].record.event, 'sync.recovered');
    logRecovery(node, 'tab|sync.failed|', 'sync.recovered');
    assert.equal(lines.filter((l) => l.record.event === 'sync.recovered').length, 1, 'recovered once');
  });
});
