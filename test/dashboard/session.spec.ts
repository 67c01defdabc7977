/**
 * The dashboards' session and page rules alone (nodes/dashboard/session.ts) and their data rules
 * (nodes/domain/dashboards.ts): what the browser test exercises end to end, held here case by case.
 */
import { strict as assert } from 'node:assert';
import { type IntegrationError } from '../../nodes/clients/common/errors';
import { allowed, audienceOf, cookieLine, page, pagesOf, parseCookies, rolesFor, safeNext, seal, unseal, type Session } from '../../nodes/dashboard/session';
import { correlationQuery, deadLetterRows, formMovement, medicationRows, movementResult, stockState, syncRows } from '../../nodes/domain/dashboards';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as IntegrationError).code;
  }
  return 'no error';
};

describe('dashboards: session and page rules', function () {
  const secret = 'a-secret-of-the-test';
  const user: Session = { sub: 's1', username: 'farmacia.prueba', name: 'Farmacia', roles: ['farmacia'], exp: Date.now() + 60000 };

  it('a sealed session opens with its secret only, unchanged, unexpired', function () {
    const sealed = seal(secret, user);
    assert.deepEqual(unseal<Session>(secret, sealed), user);
    assert.equal(unseal(secret.toUpperCase(), sealed), undefined, 'another secret');
    const [body, mac] = sealed.split('.');
    const forged = Buffer.from(JSON.stringify({ ...user, roles: ['admin'] })).toString('base64url');
    assert.equal(unseal(secret, `${forged}.${mac}`), undefined, 'roles changed');
    assert.equal(unseal(secret, `${body}.${mac.slice(1)}`), undefined, 'a cut signature');
    assert.equal(unseal(secret, seal(secret, { ...user, exp: Date.now() - 1 })), undefined, 'expired');
    for (const junk of [undefined, '', '.', 'abc', 'x.y', `${body}`]) assert.equal(unseal(secret, junk), undefined, String(junk));
  });

  it('cookies: parsed (first wins), written HttpOnly, SameSite=Lax, Secure on https; Max-Age 0 deletes', function () {
    const c = parseCookies('a=1; clinica_dash=x%3Dy; a=2; broken; =v');
    assert.deepEqual([c.get('a'), c.get('clinica_dash'), c.size], ['1', 'x=y', 2]);
    assert.equal(cookieLine('s', 'v=1', 3600, true), 's=v%3D1; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure');
    assert.match(cookieLine('s', '', -5, false), /Max-Age=0$/);
  });

  it('pages: Farmacia for farmacia and admin, Integración for admin; assets and the socket for any role of a page', function () {
    assert.deepEqual(rolesFor('/dashboard/farmacia', '/dashboard'), ['farmacia', 'admin']);
    assert.deepEqual(rolesFor('/dashboard/integracion?x=1', '/dashboard'), ['admin']);
    assert.deepEqual(rolesFor('/dashboard/socket.io/?EIO=4', '/dashboard').sort(), ['admin', 'farmacia']);
    assert.ok(allowed(['farmacia'], rolesFor('/dashboard/farmacia', '/dashboard')));
    assert.ok(!allowed(['farmacia'], rolesFor('/dashboard/integracion', '/dashboard')));
    assert.ok(!allowed(['medico'], rolesFor('/dashboard/assets/app.js', '/dashboard')));
    assert.deepEqual(pagesOf(['admin']), ['farmacia', 'integracion']);
    assert.deepEqual(pagesOf(['medico']), []);
  });

  it('a login returns only under the dashboard, never to another site', function () {
    assert.equal(safeNext('/dashboard/farmacia', '/dashboard'), '/dashboard/farmacia');
    for (const bad of ['https://evil.test/dashboard/x', '//evil.test', '/dashboardx', '/dashboard/\\evil', '/dashboard/x\r\nSet-Cookie: a', 42, undefined]) {
      assert.equal(safeNext(bad, '/dashboard'), '/dashboard', String(bad));
    }
  });

  it('pages escape what they show; a message names its audience', function () {
    const html = page('<script>x</script>', ['a & b'], [{ href: '/dashboard/"x', text: '<b>' }]);
    assert.ok(!html.includes('<script>x') && html.includes('&#60;script&#62;') && html.includes('a &#38; b') && !html.includes('"x"'));
    assert.deepEqual(audienceOf({ dashboardRoles: ['admin', 3] }), ['admin']);
    assert.equal(audienceOf({}), undefined);
  });
});

describe('dashboards: what the pages show', function () {
  it('medications: low first then by name, with their state; over the maximum is over', function () {
    const rows = medicationRows([
      { odoo_product_id: 2, name: 'Ibuprofeno', stock_quantity: '80', min_stock_level: '20', max_stock_level: '60' },
      { odoo_product_id: 1, name: 'Paracetamol', stock_quantity: '5', min_stock_level: '20', max_stock_level: null },
      { odoo_product_id: 3, name: 'Amoxicilina', stock_quantity: 30, min_stock_level: 20, max_stock_level: 100 },
    ]);
    assert.deepEqual(
      rows.map((r) => [r.name, r.state, r.low]),
      [
        ['Paracetamol', 'low', true],
        ['Amoxicilina', 'ok', false],
        ['Ibuprofeno', 'over', false],
      ],
    );
    assert.equal(stockState(20, 20, null), 'ok', 'at the minimum is not low (as low_stock_alerts)');
  });

  it('the form becomes the API body once: who recorded it, only farmacia or admin, quantities signed by type', function () {
    const body = formMovement(
      { odoo_product_id: '7', quantity: '-3', movement_type: 'out', notes: ' turno noche ' },
      { username: 'farmacia.prueba', roles: ['farmacia'] },
      'PANEL-1',
    );
    assert.deepEqual(body, {
      external_ref: 'PANEL-1',
      odoo_product_id: 7,
      movement_type: 'out',
      quantity: 3,
      notes: 'turno noche · recorded by farmacia.prueba (dashboard)',
    });
    assert.equal(formMovement({ odoo_product_id: 7, quantity: -2, movement_type: 'adjustment' }, { username: 'a', roles: ['admin'] }, 'P2').quantity, -2);
    assert.equal(
      codeOf(() => formMovement({}, undefined, 'P3')),
      'BAD_INPUT',
    );
    assert.equal(
      codeOf(() => formMovement({}, { username: 'medico.prueba', roles: ['medico'] }, 'P4')),
      'FORBIDDEN',
    );
  });

  it('results, syncs, dead letters and a typed correlation id', function () {
    assert.deepEqual(movementResult(201, { data: { external_ref: 'P', movement_type: 'out', quantity: 1, odoo_move_id: 9 } }).ok, true);
    assert.match(movementResult(200, { replayed: true, data: { external_ref: 'P' } }).text, /already recorded/);
    assert.deepEqual(movementResult(409, { detail: 'same reference' }), { ok: false, text: 'not recorded (409): same reference' });
    const [s] = syncRows([{ name: 'patients', cursor: { at: 1 }, last_run: new Date(10000), records: '5', last_error: null }], 70000);
    assert.deepEqual([s.lagSeconds, s.cursor, s.records], [60, '{"at":1}', 5]);
    assert.deepEqual(deadLetterRows('invoice_queue', [{ reason: 'x', code: 'C', attempts: 3 }])[0], {
      n: 1,
      queue: 'invoice_queue',
      reason: 'x',
      code: 'C',
      attempts: 3,
      failedAt: null,
      correlationId: null,
      messageId: null,
    });
    assert.deepEqual(deadLetterRows('q', 'nothing'), []);
    assert.equal(correlationQuery(' abc-1 '), 'abc-1');
    for (const bad of ["x'; DROP TABLE sync_state; --", '', 'a'.repeat(101), 7])
      assert.equal(
        codeOf(() => correlationQuery(bad)),
        'BAD_INPUT',
      );
  });
});
