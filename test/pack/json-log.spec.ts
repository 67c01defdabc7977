import { strict as assert } from 'node:assert';
import { formatLogRecord } from '../../host/json-log';

describe('JSON log lines', function () {
  const node = { type: 'clinica-odoo-config', id: 'cfg.odoo' };

  it('spreads a structured event and names the node and correlation id', function () {
    const line = JSON.parse(formatLogRecord({ level: 40, ...node, msg: { event: 'odoo.connected', correlationId: 'c-1', db: 'clinica' }, timestamp: 0 }));
    assert.deepEqual(line, { time: '1970-01-01T00:00:00.000Z', level: 'info', node, correlationId: 'c-1', event: 'odoo.connected', db: 'clinica' });
  });

  it('keeps a warning structured when another handler already turned it into JSON text', function () {
    const line = JSON.parse(formatLogRecord({ level: 30, ...node, msg: JSON.stringify({ event: 'odoo.retry', attempt: 1 }) }));
    assert.deepEqual([line.level, line.event, line.attempt, line.correlationId], ['warn', 'odoo.retry', 1, null]);
  });

  it('keeps plain text and errors as msg', function () {
    assert.equal(JSON.parse(formatLogRecord({ level: 40, msg: 'Started flows' })).msg, 'Started flows');
    assert.equal(JSON.parse(formatLogRecord({ level: 20, msg: new Error('boom') })).msg, 'boom');
    assert.equal(JSON.parse(formatLogRecord({ level: 40, msg: '{not json}' })).msg, '{not json}');
  });
});
