import { strict as assert } from 'node:assert';
import { count, counter, snapshot, valueOf } from '../../nodes/clients/common/metrics';

describe('metrics: counters by key and pre-bound counters share one registry', function () {
  it('a bound counter and count() add to the same series; snapshot() lists it with its labels', function () {
    const family = `test_${Date.now().toString(36)}`;
    const bound = counter(family, 'consumed', { queue: 'q1' });
    bound.add();
    bound.add(2);
    count(family, 'consumed', { queue: 'q1' });
    count(family, 'consumed', { queue: 'q2' }, 5);
    assert.equal(bound.value, 4);
    assert.equal(valueOf(family, 'consumed', { queue: 'q1' }), 4);
    assert.equal(valueOf(family, 'consumed'), 9);
    assert.strictEqual(counter(family, 'consumed', { queue: 'q1' }), bound, 'bound once, found again');
    const mine = snapshot().filter((s) => s.family === family);
    assert.deepEqual(
      mine.sort((a, b) => String(a.labels.queue).localeCompare(String(b.labels.queue))),
      [
        { family, name: 'consumed', labels: { queue: 'q1' }, value: 4 },
        { family, name: 'consumed', labels: { queue: 'q2' }, value: 5 },
      ],
    );
    // the labels of a series cannot be changed from the outside
    mine[0].labels.queue = 'changed';
    assert.equal(bound.labels.queue, 'q1');
  });
});
