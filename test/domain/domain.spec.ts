/**
 * The domain rules of the shipped flows (nodes/domain/), alone: documents, shared-database rows, pharmacy
 * movements, gateway parameters and HTTP problem details.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type IntegrationError } from '../../nodes/clients/common/errors';
import {
  alreadyLinked,
  documentFileName,
  documentRef,
  noteDomain,
  noteText,
  patientDocuments,
  queueMessage,
  storedNotification,
  unstoredSearches,
  withRecord,
} from '../../nodes/domain/documents';
import { dependenciesReady, idOf, listingParams, pageOf, readiness, stockMovementParams, windowOf, type DependencyCheck } from '../../nodes/domain/gateway';
import { correlationIdOf, etagOf, notModified, problemFor, statusOf, successFor } from '../../nodes/domain/http';
import { checkMovementRequest, claimOutcome, decideMovement, type StoredMovement } from '../../nodes/domain/pharmacy';
import {
  appointmentRows,
  medicationDomains,
  medicationRows,
  moveEntries,
  patientRows,
  splitPharmacyMoves,
  stockVersions,
  touchedMedications,
} from '../../nodes/domain/sync';
import { STEPS } from '../../nodes/flow/steps';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as IntegrationError).code;
  }
  return 'no error';
};

describe('domain rules of the shipped flows', function () {
  describe('documents', function () {
    it('knows the three document models and refuses anything else', function () {
      assert.deepEqual(documentRef({ model: 'account.move', id: 7 }), {
        model: 'account.move',
        id: 7,
        kind: 'invoice',
        nameField: 'name',
        patientField: 'partner_id',
        routingKey: 'invoice.created',
      });
      for (const bad of [null, {}, { model: 'res.partner', id: 1 }, { model: 'x_prescription', id: 0 }, { model: 'x_prescription', id: '1.5' }]) {
        assert.equal(
          code(() => documentRef(bad)),
          'BAD_INPUT',
          JSON.stringify(bad),
        );
      }
    });

    it('folds the record in: patient, name, what an earlier run stored; a record without patient is refused', function () {
      const ref = withRecord(documentRef({ model: 'x_medical_record', id: 3 }), {
        id: 3,
        x_name: 'HC-1',
        x_patient_id: [42, 'Ana'],
        x_nextcloud_path: false,
        x_nextcloud_url: false,
      });
      assert.deepEqual([ref.name, ref.patient, ref.stored], ['HC-1', { id: 42, name: 'Ana' }, { path: null, url: null }]);
      assert.equal(
        code(() => withRecord(documentRef({ model: 'x_medical_record', id: 3 }), { id: 3, x_name: 'HC-1', x_patient_id: false })),
        'BAD_INPUT',
      );
      assert.equal(
        code(() => withRecord(documentRef({ model: 'x_medical_record', id: 3 }), undefined)),
        'ODOO_MISSING_RECORD',
      );
    });

    it('names files: invoices by number, records by reference and id; nothing a path could misuse', function () {
      const inv = { ...documentRef({ model: 'account.move', id: 5 }), name: 'INV/2025/00001' };
      assert.equal(documentFileName(inv), 'INV_2025_00001.pdf');
      const rec = { ...documentRef({ model: 'x_prescription', id: 9 }), name: '../../etc/passwd' };
      assert.equal(documentFileName(rec), 'etc_passwd_9.pdf');
      assert.equal(documentFileName({ ...inv, name: '///' }), 'account.move-5.pdf');
    });

    it('a replay is recognised, the note is posted once, the queue message is keyed on the record', function () {
      const ref = {
        ...documentRef({ model: 'account.move', id: 5 }),
        stored: { path: '/p/a.pdf', url: 'http://n/f/1' },
        file: { path: '/p/a.pdf', name: 'a.pdf', status: 'skipped' },
        link: { url: 'http://n/f/1', created: false },
      };
      assert.equal(alreadyLinked(ref, { path: '/p/a.pdf', status: 'skipped' }), true);
      assert.equal(alreadyLinked(ref, { path: '/p/a.pdf', status: 'created' }), false);
      assert.deepEqual(noteDomain(ref), [
        ['model', '=', 'account.move'],
        ['res_id', '=', 5],
        ['body', 'ilike', '/p/a.pdf'],
      ]);
      assert.match(noteText(ref), /Documento archivado en Nextcloud: \/p\/a\.pdf · enlace: http:\/\/n\/f\/1/);
      assert.deepEqual(queueMessage('x_prescription', { id: 4, x_name: 'R-1', x_patient_id: [8, 'Luis'] }, 'webhook'), {
        topic: 'medical.created',
        messageId: 'x_prescription-4',
        payload: { model: 'x_prescription', id: 4, name: 'R-1', patientId: 8, source: 'webhook' },
      });
      assert.equal(queueMessage('res.partner', { id: 1 }, 'poll'), undefined);
      assert.deepEqual(
        unstoredSearches().map((q) => q.topic),
        ['account.move', 'x_medical_record', 'x_prescription'],
      );
      assert.equal(storedNotification({ model: 'account.move', id: 5 }, 'c-1').messageId, 'notification-account.move-5');
    });
  });

  describe("a patient's documents", function () {
    it('lists the files of Facturas, Recetas and Historiales with type, name, date, size and link, newest first', function () {
      const base = '/Documentos_Clinicos/Pacientes/7';
      const entries = [
        { path: `${base}/Facturas`, name: 'Facturas', type: 'folder', size: 0, modified: '2025-06-03T10:00:00.000Z' },
        {
          path: `${base}/Facturas/INV_2025_00001.pdf`,
          name: 'INV_2025_00001.pdf',
          type: 'file',
          size: 900,
          modified: '2025-06-01T10:00:00.000Z',
          url: 'https://nc/index.php/f/11',
        },
        {
          path: `${base}/Historiales/HC-1_3.pdf`,
          name: 'HC-1_3.pdf',
          type: 'file',
          size: 500,
          modified: '2025-06-02T10:00:00.000Z',
          url: 'https://nc/index.php/f/12',
        },
        { path: `${base}/Recetas/R-1_4.pdf`, name: 'R-1_4.pdf', type: 'file', size: 300, modified: '2025-06-02T10:00:00.000Z' },
        { path: `${base}/Recetas/2024`, name: '2024', type: 'folder', size: 0, modified: null },
        { path: `${base}/Recetas/2024/old.pdf`, name: 'old.pdf', type: 'file', size: 1, modified: null },
        { path: `${base}/nota.txt`, name: 'nota.txt', type: 'file', size: 1, modified: null },
        { path: `${base}/Otros/x.pdf`, name: 'x.pdf', type: 'file', size: 1, modified: null },
        { path: '/Documentos_Clinicos/Pacientes/70/Facturas/a.pdf', name: 'a.pdf', type: 'file', size: 1, modified: null },
      ];
      assert.deepEqual(patientDocuments(7, entries), [
        {
          type: 'record',
          name: 'HC-1_3.pdf',
          date: '2025-06-02T10:00:00.000Z',
          size: 500,
          url: 'https://nc/index.php/f/12',
          path: `${base}/Historiales/HC-1_3.pdf`,
        },
        { type: 'prescription', name: 'R-1_4.pdf', date: '2025-06-02T10:00:00.000Z', size: 300, url: null, path: `${base}/Recetas/R-1_4.pdf` },
        {
          type: 'invoice',
          name: 'INV_2025_00001.pdf',
          date: '2025-06-01T10:00:00.000Z',
          size: 900,
          url: 'https://nc/index.php/f/11',
          path: `${base}/Facturas/INV_2025_00001.pdf`,
        },
      ]);
      assert.deepEqual(patientDocuments(7, []), []);
    });

    it('the steps: a bad patient id is 400, an unknown patient 404', function () {
      assert.equal(
        code(() => STEPS['document.patient'].run({ req: { params: { patientId: 'abc' } } }, {} as never)),
        'BAD_INPUT',
      );
      assert.equal(
        code(() => STEPS['document.patient-known'].run({ patientId: 9, payload: null }, {} as never)),
        'PATIENT_NOT_FOUND',
      );
      assert.equal(statusOf({ code: 'PATIENT_NOT_FOUND', retryable: false }), 404);
    });
  });

  describe('shared-database rows', function () {
    it('patients: empty values become NULL, texts are cut to their columns', function () {
      const [row] = patientRows([{ id: 1, name: 'x'.repeat(300), email: false, phone: '', vat: 'ES1', active: false, write_date: '2026-01-01 00:00:00' }]);
      assert.deepEqual([row.name.length, row.email, row.phone, row.vat, row.active], [255, null, null, 'ES1', false]);
    });

    it('appointments: the patient is the attendee marked as one, the doctor another, archived is cancelled', function () {
      const rows = appointmentRows(
        [{ id: 10, name: 'Consulta', partner_ids: [1, 2, 3], start: 's', stop: 'e', active: false, write_date: 'w' }],
        [
          { id: 1, name: 'Admin', x_is_patient: false, function: 'Recepción' },
          { id: 2, name: 'Ana', x_is_patient: true },
          { id: 3, name: 'Dra. Ruiz', x_is_patient: false, function: 'Médica' },
        ],
      );
      assert.deepEqual([rows[0].patient_odoo_id, rows[0].doctor_name, rows[0].status, rows[0].active], [2, 'Dra. Ruiz', 'cancelled', false]);
    });

    it('medications: the products a change touches, the stock version, min/max summed over the rules', function () {
      assert.deepEqual(
        touchedMedications('stock.quant', [
          { id: 1, product_id: [5, 'A'] },
          { id: 2, product_id: [5, 'A'] },
        ]),
        [5],
      );
      assert.deepEqual(touchedMedications('product.template', { id: 1, product_variant_ids: [7, 8] }), [7, 8]);
      assert.deepEqual(medicationDomains([5]).quants, [
        ['product_id', 'in', [5]],
        ['location_id.usage', '=', 'internal'],
      ]);
      const versions = stockVersions([
        { id: 1, product_id: [5, 'A'], write_date: '2026-01-02 00:00:00' },
        { id: 2, product_id: [5, 'A'], write_date: '2026-01-01 00:00:00' },
      ]);
      assert.deepEqual(versions, { 5: '2026-01-02 00:00:00' });
      const [row] = medicationRows(
        [{ id: 5, name: 'Ibuprofeno', categ_id: [3, 'All / Medicamentos'], qty_available: 4, list_price: 2.345, write_date: '2026-01-01 00:00:00' }],
        [{ id: 1, product_id: [5, 'A'], product_min_qty: 10, product_max_qty: 50, write_date: '2026-01-01 12:00:00' }],
        versions,
      );
      assert.deepEqual(
        [row.category, row.stock_quantity, row.min_stock_level, row.max_stock_level, row.unit_price, row.odoo_write_date],
        ['Medicamentos', 4, 10, 50, 2.35, '2026-01-02 00:00:00'],
      );
    });

    it('moves: in, out and signed adjustments from the locations; a pharmacy movement is completed, not counted', function () {
      const locations = [
        { id: 4, usage: 'supplier' },
        { id: 8, usage: 'internal' },
        { id: 9, usage: 'internal' },
        { id: 14, usage: 'inventory' },
      ];
      const m2o = (id: number): [number, string] => [id, 'x'];
      const entries = moveEntries(
        [
          { id: 1, product_id: m2o(5), location_id: m2o(4), location_dest_id: m2o(8), quantity: 3, reference: 'WH/IN/1', origin: 'FARM-1' },
          { id: 2, product_id: m2o(5), location_id: m2o(8), location_dest_id: m2o(14), quantity: 2, reference: 'Ajuste' },
          { id: 3, product_id: m2o(5), location_id: m2o(8), location_dest_id: m2o(9), quantity: 1 },
        ],
        locations,
      );
      assert.deepEqual(
        entries.map((e) => [e.row.movement_type, e.row.quantity]),
        [
          ['in', 3],
          ['adjustment', -2],
        ],
      );
      const { own, matched } = splitPharmacyMoves(entries, [{ external_ref: 'FARM-1', odoo_product_id: 5, movement_type: 'in', quantity: 3 }]);
      assert.deepEqual([own.map((r) => r.odoo_move_id), matched.map((r) => [r.external_ref, r.odoo_move_id, r.sync_status])], [[2], [['FARM-1', 1, 'synced']]]);
    });
  });

  describe('pharmacy movements', function () {
    const mv = { external_ref: 'FARM-1', odoo_product_id: 5, movement_type: 'out' as const, quantity: 2, notes: null };
    const row = (over: Partial<StoredMovement> = {}): StoredMovement => ({
      external_ref: 'FARM-1',
      odoo_product_id: 5,
      movement_type: 'out',
      quantity: 2,
      sync_status: 'pending',
      odoo_move_id: null,
      ...over,
    });

    it('checks the body and lists every problem', function () {
      assert.deepEqual(checkMovementRequest({ external_ref: 'FARM-1', odoo_product_id: 5, movement_type: 'adjustment', quantity: -1.23456 }), {
        ...mv,
        movement_type: 'adjustment',
        quantity: -1.235,
      });
      try {
        checkMovementRequest({ external_ref: 'a b', odoo_product_id: 'x', movement_type: 'robo', quantity: 0, extra: 1 });
        assert.fail('refused');
      } catch (err) {
        const e = err as IntegrationError;
        assert.equal(e.code, 'BAD_INPUT');
        assert.equal((e.details?.problems as string[]).length, 5);
      }
    });

    it('applies a new one, answers a done one as before, refuses another movement under the same reference', function () {
      assert.deepEqual(decideMovement(mv, { active: true }, null), { action: 'apply' });
      assert.deepEqual(decideMovement(mv, { active: true }, row({ sync_status: 'failed' })), { action: 'apply' });
      assert.equal(decideMovement(mv, { active: true }, row({ sync_status: 'synced', odoo_move_id: 9 })).action, 'replay');
      assert.equal(
        code(() => decideMovement(mv, { active: true }, row({ quantity: 3 }))),
        'CONFLICT',
      );
      assert.equal(
        code(() => decideMovement(mv, { active: false }, null)),
        'BAD_INPUT',
      );
    });

    it('after the claim: ours, done meanwhile, asked again, or in progress elsewhere', function () {
      assert.deepEqual(claimOutcome({ claimed: 1 }, 0, 'FARM-1'), { action: 'apply' });
      assert.equal(claimOutcome({ claimed: 0, current: row({ sync_status: 'synced', odoo_move_id: 3 }) }, 0, 'FARM-1').action, 'replay');
      assert.equal(claimOutcome({ claimed: 0, current: row({ sync_status: 'failed' }) }, 1, 'FARM-1').action, 'claim-again');
      assert.equal(
        code(() => claimOutcome({ claimed: 0, current: row({ sync_status: 'failed' }) }, 2, 'FARM-1')),
        'IN_PROGRESS',
      );
      assert.equal(
        code(() => claimOutcome({ claimed: 0, current: row() }, 0, 'FARM-1')),
        'IN_PROGRESS',
      );
    });
  });

  describe('gateway parameters', function () {
    it('bounds paging, defaults the appointment window, refuses a bad id', function () {
      assert.deepEqual(pageOf({ limit: '5000', offset: '-3' }), { limit: 200, offset: 0 });
      assert.deepEqual(pageOf({ limit: 'abc' }), { limit: 50, offset: 0 });
      assert.deepEqual(windowOf({}, new Date('2026-03-04T15:00:00Z')), { from: '2026-03-04T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z' });
      assert.deepEqual(listingParams('patients', { q: '  Ana  ', limit: '10' }).params, ['Ana', 10, 0]);
      assert.equal(idOf('12', 'patient'), 12);
      assert.equal(
        code(() => idOf('1e3x', 'patient')),
        'BAD_INPUT',
      );
    });
  });

  describe('stock movements listing', function () {
    const problemsOf = (query: Record<string, unknown>): string[] => {
      try {
        stockMovementParams(query);
      } catch (err) {
        assert.equal((err as IntegrationError).code, 'BAD_INPUT');
        return ((err as IntegrationError).details?.problems as string[]) ?? [];
      }
      return [];
    };

    it('takes medication, from, to, type and paging; a day alone in `to` counts whole', function () {
      assert.deepEqual(stockMovementParams({}), { params: [null, null, null, null, 50, 0], page: { limit: 50, offset: 0 } });
      assert.deepEqual(stockMovementParams({ medication: '7', from: '2025-06-01', to: '2025-06-30', type: 'out', limit: '10', offset: '20' }).params, [
        7,
        '2025-06-01T00:00:00.000Z',
        '2025-07-01T00:00:00.000Z',
        'out',
        10,
        20,
      ]);
      assert.deepEqual(stockMovementParams({ from: '2025-06-01T08:00:00+02:00', to: '2025-06-01T10:00:00Z' }).params.slice(1, 3), [
        '2025-06-01T06:00:00.000Z',
        '2025-06-01T10:00:00.001Z',
      ]);
      assert.deepEqual(stockMovementParams({ medication: '', type: '' }).params.slice(0, 4), [null, null, null, null], 'empty is absent');
    });

    it('names every bad field in one BAD_INPUT (400), nothing guessed', function () {
      assert.deepEqual(problemsOf({ medication: 'abc' }), ['medication must be an Odoo product id (a positive whole number)']);
      assert.match(problemsOf({ medication: '0' })[0], /^medication/);
      assert.match(problemsOf({ from: 'yesterday' })[0], /^from must be an ISO 8601 date/);
      assert.match(problemsOf({ to: '2025-13-45' })[0], /^to must be an ISO 8601 date/);
      assert.match(problemsOf({ to: '06/30/2025' })[0], /^to must be/);
      assert.deepEqual(problemsOf({ type: 'sale' }), ['type must be in, out or adjustment']);
      assert.deepEqual(problemsOf({ limit: '0' }), ['limit must be 1 to 200']);
      assert.deepEqual(problemsOf({ limit: '201' }), ['limit must be 1 to 200']);
      assert.deepEqual(problemsOf({ offset: '-1' }), ['offset must be a whole number ≥ 0']);
      assert.deepEqual(problemsOf({ from: '2025-07-01', to: '2025-06-01' }), ['from must be before to']);
      assert.equal(problemsOf({ medication: 'x', type: 'y', limit: 'z' }).length, 3);
    });
  });

  describe('readiness', function () {
    const up = (name: string, required = true): DependencyCheck => ({ name, node: `cfg.${name}`, state: 'up', required, latencyMs: 3 });
    it('a required system down is NOT_READY naming it, with what was checked; another one down or absent is reported', function () {
      const checks = [up('shared-db'), { name: 'amqp', node: 'cfg.amqp', state: 'down', required: true, latencyMs: 2000, code: 'TIMEOUT' } as DependencyCheck];
      let caught: IntegrationError | undefined;
      try {
        dependenciesReady(checks);
      } catch (err) {
        caught = err as IntegrationError;
      }
      assert.equal(caught?.code, 'NOT_READY');
      assert.equal(caught?.retryable, true);
      assert.equal(caught?.message, 'not ready: amqp is down (TIMEOUT after 2000 ms)');
      const problem = problemFor({ code: caught?.code, retryable: true, message: caught?.message, details: caught?.details }, { retryAfter: 5 });
      assert.equal(problem.statusCode, 503);
      assert.equal(problem.headers['Retry-After'], '5');
      const body = problem.payload as { detail: string; problems: string[]; checks: DependencyCheck[] };
      assert.equal(body.detail, 'not ready: amqp is down (TIMEOUT after 2000 ms)');
      assert.deepEqual(body.problems, ['amqp is down (TIMEOUT after 2000 ms)']);
      assert.deepEqual(body.checks, checks);
      const optional = [up('shared-db'), { name: 'odoo', state: 'down', required: false, code: 'ODOO_UNREACHABLE' } as DependencyCheck];
      assert.deepEqual(dependenciesReady(optional), optional);
      const absent = [up('shared-db'), { name: 'nextcloud', state: 'absent', required: true } as DependencyCheck];
      assert.deepEqual(dependenciesReady(absent), absent);
    });

    it('reports the dependencies beside the syncs when ready', function () {
      const now = Date.parse('2026-01-01T12:00:00Z');
      const r = readiness([{ name: 'patients', last_run: '2026-01-01T11:59:00Z', last_error: null }], now, undefined, [up('shared-db')]);
      assert.deepEqual(r.dependencies, [up('shared-db')]);
      assert.equal(r.syncs[0].ok, true);
    });
  });

  describe('ETag', function () {
    it('is strong, follows the body, and If-None-Match matches it (weak comparison, lists, *)', function () {
      const a = etagOf({ data: [1, 2], page: { limit: 2 } });
      assert.match(a, /^"[A-Za-z0-9_-]{32}"$/);
      assert.equal(etagOf({ data: [1, 2], page: { limit: 2 } }), a);
      assert.notEqual(etagOf({ data: [1, 3], page: { limit: 2 } }), a);
      assert.ok(notModified(a, a));
      assert.ok(notModified(`"other", ${a}`, a));
      assert.ok(notModified(`W/${a}`, a));
      assert.ok(notModified('*', a));
      assert.ok(!notModified('"other"', a));
      assert.ok(!notModified(undefined, a));
      assert.ok(!notModified('', a));
    });
  });

  describe('HTTP answers', function () {
    it('maps codes to statuses and builds problem details without leaking a system message', function () {
      const cases: Array<[object, number]> = [
        [{ code: 'BAD_INPUT', retryable: false }, 400],
        [{ code: 'ODOO_MISSING_RECORD', retryable: false }, 404],
        [{ code: 'CONFLICT', retryable: false }, 409],
        [{ code: 'ODOO_PDF_UNAVAILABLE', retryable: false }, 422],
        [{ code: 'NEXTCLOUD_RATE_LIMITED', retryable: true }, 429],
        [{ code: 'ODOO_UNREACHABLE', retryable: true }, 503],
        [{ code: 'ODOO_OUTCOME_UNKNOWN', retryable: false }, 503],
        [{ code: 'WEIRD', retryable: false }, 500],
      ];
      for (const [err, status] of cases) assert.equal(statusOf(err), status, JSON.stringify(err));
      const p = problemFor({ code: 'ODOO_UNREACHABLE', retryable: true, message: 'connect ECONNREFUSED 10.0.0.5:8069' }, { correlationId: 'c-1' });
      assert.equal(p.headers['Retry-After'], '5');
      assert.equal(p.headers['Content-Type'], 'application/problem+json');
      assert.doesNotMatch(JSON.stringify(p.payload), /10\.0\.0\.5/);
      assert.equal(problemFor({ code: 'NEXTCLOUD_RATE_LIMITED', details: { retryAfterMs: 42000 } }).headers['Retry-After'], '42');
      assert.deepEqual(
        (problemFor({ code: 'BAD_INPUT', retryable: false, message: 'x', details: { problems: ['a'] } }).payload as { problems: string[] }).problems,
        ['a'],
      );
      assert.deepEqual(successFor({ a: 1 }, 201, 'c').headers, { 'Cache-Control': 'no-store', 'X-Correlation-Id': 'c' });
      assert.equal(correlationIdOf({ headers: { 'x-correlation-id': 'ok-1' } }), 'ok-1');
      assert.equal(correlationIdOf({ headers: { 'x-correlation-id': 'no spaces\n' } }), undefined);
    });
  });

  it('the editor knows every step and its outputs (nodes/flow/step.html)', function () {
    const html = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'nodes', 'flow', 'step.html'), 'utf8');
    const outputs = JSON.parse(/var OUTPUTS = (\{[^}]*\});/.exec(html)?.[1] ?? '{}') as Record<string, number>;
    assert.deepEqual(outputs, Object.fromEntries(Object.entries(STEPS).map(([id, s]) => [id, s.outputs])));
    for (const id of Object.keys(STEPS)) assert.ok(html.includes(`value="${id}"`), `${id} can be chosen`);
  });
});
