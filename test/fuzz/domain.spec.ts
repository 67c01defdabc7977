/**
 * Fuzz: the domain functions that check what comes from outside (request bodies, queries, path ids, queue
 * messages, form values) get anything at all. Each either returns or throws an IntegrationError with code
 * BAD_INPUT: never a TypeError, never another code. `FUZZ_RUNS` sets the runs per property (default 200).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { IntegrationError } from '../../nodes/clients/common/errors';
import { alertListParams, checkAlertEvent, checkReplayRequest, checkSubscriberRequest, deliveryTarget } from '../../nodes/domain/alerts';
import { correlationQuery, formMovement } from '../../nodes/domain/dashboards';
import { DOCUMENT_MODELS, documentRef, queueMessage } from '../../nodes/domain/documents';
import { idOf, listingParams, pageOf, searchOf, stockMovementParams, windowOf } from '../../nodes/domain/gateway';
import { correlationIdOf } from '../../nodes/domain/http';
import { checkMovementRequest } from '../../nodes/domain/pharmacy';
import { FUZZ_RUNS, hostileValue, hostileQuery } from './arbitraries';

type Checked = (input: unknown, more: unknown) => unknown;

/** Every checker, given one or two values from outside. */
const CHECKERS: Record<string, Checked> = {
  checkAlertEvent: (a) => checkAlertEvent(a),
  deliveryTarget: (a, b) => deliveryTarget(a, b),
  'deliveryTarget(alert_email_queue)': (a) => deliveryTarget('alert_email_queue', a),
  'deliveryTarget(webhook_delivery_queue)': (a) => deliveryTarget('webhook_delivery_queue', a),
  alertListParams: (a) => alertListParams(a as Record<string, unknown>),
  checkReplayRequest: (a, b) => checkReplayRequest(a, b),
  checkSubscriberRequest: (a) => checkSubscriberRequest(a),
  correlationQuery: (a) => correlationQuery(a),
  formMovement: (a) => formMovement(a, { username: 'farmacia.prueba', roles: ['farmacia'] }, 'PANEL-1'),
  documentRef: (a) => documentRef(a),
  queueMessage: (a, b) => queueMessage(a, b as Record<string, unknown>, 'fuzz'),
  pageOf: (a) => pageOf(a as Record<string, unknown>),
  searchOf: (a) => searchOf(a as Record<string, unknown>),
  windowOf: (a) => windowOf(a as Record<string, unknown>),
  idOf: (a) => idOf(a, 'patient'),
  'listingParams(patients)': (a) => listingParams('patients', a as Record<string, unknown>),
  'listingParams(appointments)': (a) => listingParams('appointments', a as Record<string, unknown>),
  'listingParams(medications)': (a) => listingParams('medications', a as Record<string, unknown>),
  'listingParams(alerts)': (a) => listingParams('alerts', a as Record<string, unknown>),
  stockMovementParams: (a) => stockMovementParams(a as Record<string, unknown>),
  correlationIdOf: (a) => correlationIdOf(a),
  checkMovementRequest: (a) => checkMovementRequest(a),
};

function returnsOrBadInput(name: string, fn: Checked, a: unknown, b: unknown): void {
  try {
    fn(a, b);
  } catch (err) {
    assert.ok(err instanceof IntegrationError, `${name} threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.equal(err.code, 'BAD_INPUT', `${name} threw ${err.code}: ${err.message}`);
    assert.equal(err.retryable, false);
  }
}

describe('fuzz: domain input checks return or throw BAD_INPUT (fast-check)', function () {
  this.timeout(60000);

  for (const [name, fn] of Object.entries(CHECKERS)) {
    it(`${name}: anything → a value or BAD_INPUT`, function () {
      fc.assert(
        fc.property(hostileValue, hostileValue, (a, b) => returnsOrBadInput(name, fn, a, b)),
        { numRuns: FUZZ_RUNS },
      );
    });
    it(`${name}: query-like objects (strings, arrays, hostile keys) → a value or BAD_INPUT`, function () {
      fc.assert(
        fc.property(hostileQuery, hostileQuery, (a, b) => returnsOrBadInput(name, fn, a, b)),
        { numRuns: FUZZ_RUNS },
      );
    });
  }

  it('a document is only one of the document models: never a property of Object.prototype (constructor, toString, __proto__ …)', function () {
    const names = fc.oneof(fc.constantFrom('constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'), fc.string());
    fc.assert(
      fc.property(names, fc.integer({ min: 1, max: 1e6 }), (model, id) => {
        const known = Object.keys(DOCUMENT_MODELS).includes(model);
        let ref: unknown;
        try {
          ref = documentRef({ model, id });
        } catch (err) {
          assert.equal((err as IntegrationError).code, 'BAD_INPUT');
        }
        assert.equal(ref !== undefined, known, `documentRef accepted model ${JSON.stringify(model)}`);
        assert.equal(queueMessage(model, { id }, 'fuzz') !== undefined, known, `queueMessage accepted model ${JSON.stringify(model)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('a page is always within its bounds, whatever the query', function () {
    fc.assert(
      fc.property(hostileQuery, (q) => {
        const page = pageOf(q as Record<string, unknown>);
        assert.ok(Number.isInteger(page.limit) && page.limit >= 1 && page.limit <= 200, `limit ${page.limit}`);
        assert.ok(Number.isSafeInteger(page.offset) && page.offset >= 0, `offset ${page.offset}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
