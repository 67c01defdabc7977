/**
 * The named steps of the shipped flows: each takes a message and gives what goes out of each output, using
 * the domain modules (nodes/domain/). The clinica-step node runs one of them; tests run them directly. A step
 * consumes the message properties it reads as inputs for the next node (msg.domain, msg.ids …), so no flow
 * has to delete them.
 */
import {
  alreadyLinked,
  documentFileName,
  documentRef,
  noteDomain,
  noteText,
  patientDocuments,
  patientNotFound,
  queueMessage,
  recordFields,
  storedNotification,
  storedResult,
  unstoredSearches,
  withRecord,
  type DocRef,
} from '../domain/documents';
import { idOf, listingParams, readiness, stockMovementParams, type DependencyCheck, type Listing, type SyncState } from '../domain/gateway';
import { checkMovementRequest, claimOutcome, decideMovement, type PharmacyMovement, type StoredMovement } from '../domain/pharmacy';
import {
  appointmentRows,
  attendeeIds,
  lastErrorText,
  medicationDomains,
  medicationRows,
  moveEntries,
  moveLocationIds,
  movesSince,
  oldestWriteDate,
  patientRows,
  reconcileParams,
  splitPharmacyMoves,
  stockVersions,
  touchedMedications,
  type MoveEntry,
  type PharmacyRow,
} from '../domain/sync';

import { ALERT_STEPS } from './alert-steps';
import { DASHBOARD_STEPS } from './dashboard-steps';
import { records, take, type Step, type StepMsg, type StepOutput } from './step-types';

export type { Step, StepApi, StepMsg, StepOutput, StepResult } from './step-types';

/** The sync a failed message belongs to: its msg.sync, else its model, else the node that failed. */
function syncNameOf(msg: StepMsg): string {
  if (msg.sync?.name) return msg.sync.name;
  const byModel: Record<string, string> = { 'res.partner': 'patients', 'calendar.event': 'appointments', 'stock.move': 'stock_movements' };
  if (typeof msg.topic === 'string' && byModel[msg.topic]) return byModel[msg.topic];
  const source = String(msg.error?.source?.id ?? '');
  if (/appointment|attendee/.test(source)) return 'appointments';
  if (/moves|locations|classify|pharmacy|split/.test(source)) return 'stock_movements';
  return /^inv\.|medication|quant|orderpoint|template/.test(source) || /^(stock\.|product\.)/.test(String(msg.topic ?? '')) ? 'medications' : 'patients';
}

export const STEPS: Record<string, Step> = {
  ...ALERT_STEPS,
  ...DASHBOARD_STEPS,
  // ------------------------------------------------------------------------------------ documents (01, 02)
  'document.identify': {
    outputs: 1,
    run(msg) {
      const ref = documentRef(msg.payload);
      msg.docRef = ref;
      msg.topic = ref.model;
      msg.ids = [ref.id];
      msg.fields = recordFields(ref);
      take(msg, 'patientId', 'document', 'domain');
      return msg;
    },
  },
  'document.record': {
    outputs: 1,
    run(msg) {
      const record = records(msg.payload)[0];
      const ref = withRecord(msg.docRef as DocRef, record);
      msg.docRef = ref;
      // The record as read, for the PDF node (an invoice is not read twice).
      msg.odoo = { ...(msg.odoo ?? {}), model: ref.model, id: ref.id, record };
      msg.patientId = ref.patient?.id;
      msg.payload = ref.id;
      take(msg, 'fields', 'ids');
      return msg;
    },
  },
  'document.file-name': {
    outputs: 1,
    run(msg) {
      msg.document = { ...(msg.document ?? {}), name: documentFileName(msg.docRef as DocRef) };
      return msg;
    },
  },
  'document.linked': {
    outputs: 2,
    run(msg) {
      const ref = msg.docRef as DocRef;
      const up = msg.nextcloud ?? {};
      ref.file = { path: up.path, name: up.name, status: up.status, size: up.size };
      if (alreadyLinked(ref, up)) {
        ref.link = { url: ref.stored?.url as string, created: false };
        return [null, msg];
      }
      return [msg, null];
    },
  },
  'document.link-values': {
    outputs: 1,
    run(msg) {
      const ref = msg.docRef as DocRef;
      ref.link = { url: msg.nextcloud?.url, created: true };
      msg.topic = ref.model;
      msg.ids = [ref.id];
      msg.payload = { x_nextcloud_path: ref.file?.path, x_nextcloud_url: ref.link.url };
      return msg;
    },
  },
  'document.note-query': {
    outputs: 1,
    run(msg) {
      msg.domain = noteDomain(msg.docRef as DocRef);
      take(msg, 'ids');
      return msg;
    },
  },
  'document.post-once': {
    outputs: 2,
    run(msg) {
      const ref = msg.docRef as DocRef;
      take(msg, 'domain');
      if (Number(msg.payload) > 0) {
        ref.chatter = 'already';
        return [null, msg];
      }
      ref.chatter = 'posted';
      msg.topic = ref.model;
      msg.ids = [ref.id];
      msg.payload = noteText(ref);
      return [msg, null];
    },
  },
  'document.result': {
    outputs: 1,
    run(msg) {
      const ref = msg.docRef as DocRef;
      msg.payload = storedResult(ref);
      msg.topic = ref.model;
      take(msg, 'ids');
      return msg;
    },
  },
  'document.request': {
    outputs: 1,
    run(msg) {
      const ref = documentRef(msg.payload);
      msg.payload = { model: ref.model, id: ref.id };
      return msg;
    },
  },
  'document.failed': {
    outputs: 3,
    run(msg, api) {
      const info = msg.errorInfo ?? {};
      api.warn('document.store.failed', {
        model: msg.docRef?.model,
        id: msg.docRef?.id,
        code: info.code,
        retryable: info.retryable,
        message: info.message ?? msg.error?.message,
      });
      // Back to the link call that sent it; else the queue delivery is failed at an ack node; else the HTTP request is answered.
      if (Array.isArray(msg._linkSource) && msg._linkSource.length) return [msg, null, null];
      if (msg.amqp?.deliveryKey) return [null, msg, null];
      if (msg.res) return [null, null, msg];
      return null;
    },
  },
  'document.patient': {
    outputs: 1,
    run(msg) {
      // GET /api/documents/<patient id>: which patient (a positive whole number), looked up in shared_patients next.
      const id = idOf(msg.req?.params?.patientId, 'patient');
      msg.patientId = id;
      msg.params = [id];
      take(msg, 'document');
      return msg;
    },
  },
  'document.patient-known': {
    outputs: 1,
    run(msg) {
      if (!msg.payload) throw patientNotFound(msg.patientId as number);
      take(msg, 'params');
      return msg;
    },
  },
  'document.list': {
    outputs: 1,
    run(msg) {
      msg.payload = patientDocuments(msg.patientId as number, records(msg.payload));
      return msg;
    },
  },
  'document.queue-message': {
    outputs: 1,
    run(msg, api) {
      const qm = queueMessage(msg.topic, msg.payload, msg.odoo?.source ?? 'republish');
      if (!qm) {
        api.warn('documents.not-a-document', { model: msg.topic, id: msg.payload?.id });
        return null;
      }
      return { ...qm, correlationId: msg.correlationId };
    },
  },
  'document.unstored': {
    outputs: 1,
    run(msg) {
      return [unstoredSearches().map((s) => ({ ...s, correlationId: msg.correlationId }))];
    },
  },
  'document.notification': {
    outputs: 1,
    run(msg) {
      const n = storedNotification(msg.payload, msg.correlationId);
      // The publish node replaces msg.amqp with what it published: keep the delivery for the ack node.
      msg.delivery = msg.amqp;
      msg.topic = 'notification.send';
      msg.messageId = n.messageId;
      msg.payload = n.payload;
      return msg;
    },
  },
  'document.publish-again': {
    outputs: 1,
    run(msg, api) {
      // A document the broker did not take is published again (5 tries); a failed read is only logged (the next poll reads again).
      const info = msg.errorInfo ?? {};
      const fromPublish = msg.error?.source?.type === 'clinica-amqp-publish';
      msg.publishTries = (msg.publishTries ?? 1) + 1;
      if (fromPublish && info.retryable !== false && msg.publishTries <= 5) {
        take(msg, 'error', 'errorInfo');
        return msg;
      }
      api.warn(fromPublish ? 'documents.publish.failed' : 'documents.intake.failed', {
        code: info.code,
        message: info.message ?? msg.error?.message,
        messageId: msg.messageId,
      });
      return null;
    },
  },

  // ---------------------------------------------------------------------------------- sync (03, 04a)
  'sync.patients': {
    outputs: 1,
    run(msg) {
      const recs = records(msg.payload);
      if (!recs.length) return null;
      msg.payload = patientRows(recs);
      msg.params = reconcileParams(
        recs.map((r) => r.id),
        msg.startedAt,
      );
      msg.sync = { name: 'patients', cursor: msg.odoo?.cursor ?? null };
      msg.topic = 'patients';
      return msg;
    },
  },
  'sync.attendees': {
    outputs: 1,
    run(msg) {
      const events = records(msg.payload);
      if (!events.length) return null;
      msg.events = events;
      msg.sync = { name: 'appointments', cursor: msg.odoo?.cursor ?? null };
      msg.domain = [
        ['id', 'in', attendeeIds(events)],
        ['active', 'in', [true, false]],
      ];
      return msg;
    },
  },
  'sync.appointments': {
    outputs: 1,
    run(msg) {
      const events = records(msg.events);
      msg.payload = appointmentRows(events, records(msg.payload));
      msg.params = reconcileParams(
        events.map((e) => e.id),
        msg.startedAt,
      );
      msg.topic = 'appointments';
      take(msg, 'events', 'domain');
      return msg;
    },
  },
  'sync.medications-of': {
    outputs: 2,
    run(msg) {
      // A quant changed: its medication is re-read, and the done moves are polled at once (output 2).
      const productIds = touchedMedications(msg.topic, msg.payload);
      const moves = msg.topic === 'stock.quant' ? { payload: Date.now(), sync: { name: 'stock_movements' } } : null;
      return [{ productIds, correlationId: msg.correlationId }, moves];
    },
  },
  'sync.medication-scope': {
    outputs: 1,
    run(msg) {
      const ids = Array.isArray(msg.productIds) ? (msg.productIds as number[]) : undefined;
      if (ids && !ids.length) return null;
      const d = medicationDomains(ids);
      msg.productDomain = d.products;
      msg.domain = d.quants;
      take(msg, 'productIds');
      return msg;
    },
  },
  'sync.stock-version': {
    outputs: 1,
    run(msg) {
      msg.stockVersion = stockVersions(records(msg.payload));
      msg.domain = msg.productDomain;
      take(msg, 'productDomain');
      return msg;
    },
  },
  'sync.reorder-rules': {
    outputs: 1,
    run(msg) {
      const products = records(msg.payload);
      if (!products.length) return null;
      msg.products = products;
      msg.domain = [
        ['product_id', 'in', products.map((p) => p.id)],
        ['active', '=', true],
      ];
      return msg;
    },
  },
  'sync.medications': {
    outputs: 1,
    run(msg) {
      const products = records(msg.products);
      msg.payload = medicationRows(products, records(msg.payload), msg.stockVersion ?? {});
      msg.params = reconcileParams(
        products.map((p) => p.id),
        msg.startedAt,
      );
      msg.sync = { name: 'medications', cursor: null };
      msg.topic = 'medications';
      take(msg, 'products', 'stockVersion', 'domain');
      return msg;
    },
  },
  'sync.move-locations': {
    outputs: 1,
    run(msg) {
      const moves = records(msg.payload);
      if (!moves.length) return null;
      msg.moves = moves;
      msg.sync = { name: 'stock_movements', cursor: msg.odoo?.cursor ?? null };
      msg.resyncFrom = oldestWriteDate(moves, msg.resyncFrom);
      msg.domain = [
        ['id', 'in', moveLocationIds(moves)],
        ['active', 'in', [true, false]],
      ];
      return msg;
    },
  },
  'sync.moves': {
    outputs: 1,
    run(msg) {
      const entries = moveEntries(records(msg.moves), records(msg.payload));
      take(msg, 'moves', 'domain');
      if (!entries.length) return null;
      msg.entries = entries;
      // Which of these references are pharmacy movements?
      msg.params = [[...new Set(entries.flatMap((e) => e.refs))]];
      return msg;
    },
  },
  'sync.pharmacy-split': {
    outputs: 2,
    run(msg, api) {
      const { own, matched } = splitPharmacyMoves(records(msg.entries) as MoveEntry[], records(msg.payload) as PharmacyRow[]);
      take(msg, 'entries');
      const out = (rows: unknown[], topic: string) => (rows.length ? { ...api.clone(msg), payload: rows, topic } : null);
      return [out(own, 'stock_movements'), out(matched, 'pharmacy_movements')];
    },
  },
  'sync.resync': {
    outputs: 2,
    run(msg, api) {
      // Earlier writes failed and the database answers again: output 1 reconciles, output 2 re-reads the moves lost.
      // What is pending lives in sync_state (resync_pending, resync_from), taken and cleared by "record a poll" in
      // one statement (msg.payload), so whichever replica polls next does it.
      api.recovered('sync.failed');
      const out: StepOutput[] = [null, null];
      const pending = (msg.payload ?? {}) as { resync_pending?: unknown; resync_from?: unknown };
      if (pending.resync_pending === true) out[0] = { payload: Date.now(), reconcile: true, startedAt: Date.now() };
      const from = pending.resync_from;
      if (typeof from === 'string' && from) out[1] = { resyncFrom: from, domain: movesSince(from) };
      return out;
    },
  },
  'sync.failure': {
    outputs: 1,
    run(msg, api) {
      // Remembered in sync_state (last_error, and what to re-read: a reconcile, or the moves from resync_from), so
      // the next poll re-reads what was lost once the database answers, on whichever replica polls.
      const info = msg.errorInfo ?? {};
      const name = syncNameOf(msg);
      const resyncFrom = typeof msg.resyncFrom === 'string' && msg.resyncFrom ? msg.resyncFrom : null;
      const reconcile = !resyncFrom && name !== 'stock_movements';
      api.warn('sync.failed', { sync: name, code: info.code, retryable: info.retryable });
      return { correlationId: msg.correlationId, params: [name, lastErrorText(info, msg.error?.message), reconcile, resyncFrom] };
    },
  },

  // ---------------------------------------------------------------------------------------- pharmacy (04b)
  'pharmacy.check': {
    outputs: 1,
    run(msg) {
      const mv = checkMovementRequest(msg.payload);
      msg.movement = mv;
      msg.params = [mv.external_ref, mv.odoo_product_id];
      return msg;
    },
  },
  'pharmacy.decide': {
    outputs: 2,
    run(msg) {
      const mv = msg.movement as PharmacyMovement;
      const row = msg.payload ?? {};
      const decision = decideMovement(mv, row.medication, row.existing);
      if (decision.action === 'replay') return [null, replay(msg, decision.row)];
      msg.params = [mv.external_ref, mv.odoo_product_id, mv.movement_type, mv.quantity, mv.notes];
      return [msg, null];
    },
  },
  'pharmacy.claimed': {
    outputs: 3,
    run(msg) {
      const mv = msg.movement as PharmacyMovement;
      const outcome = claimOutcome(msg.payload, msg.claimAttempts ?? 0, mv.external_ref);
      if (outcome.action === 'replay') return [null, replay(msg, outcome.row), null];
      if (outcome.action === 'claim-again') {
        msg.claimAttempts = (msg.claimAttempts ?? 0) + 1;
        return [null, null, msg];
      }
      msg.stored = true;
      msg.payload = mv;
      return [msg, null, null];
    },
  },
  'pharmacy.synced': {
    outputs: 1,
    run(msg) {
      msg.params = [msg.movement.external_ref, msg.payload.moveId];
      return msg;
    },
  },
  'pharmacy.failed': {
    outputs: 2,
    run(msg, api) {
      // A stored movement is marked failed first (output 1) so a retry may take it over at once; else answer now.
      const info = msg.errorInfo ?? {};
      api.warn('pharmacy.movement.failed', { ref: msg.movement?.external_ref, code: info.code, retryable: info.retryable });
      if (!msg.stored) return [null, msg];
      msg.params = [msg.movement.external_ref];
      return [msg, null];
    },
  },

  // ---------------------------------------------------------------------------------------- gateway (05)
  ...Object.fromEntries(
    (['patients', 'appointments', 'medications', 'alerts'] as Listing[]).map((listing) => [
      `gateway.${listing}`,
      {
        outputs: 1,
        run(msg: StepMsg) {
          const { params, page } = listingParams(listing, msg.req?.query);
          msg.params = params;
          msg.page = page;
          return msg;
        },
      },
    ]),
  ),
  'gateway.stock-movements': {
    outputs: 1,
    run(msg) {
      const { params, page } = stockMovementParams(msg.req?.query);
      msg.params = params;
      msg.page = page;
      return msg;
    },
  },
  'gateway.readiness': {
    outputs: 1,
    run(msg) {
      const deps = (Array.isArray(msg.dependencies) ? msg.dependencies : []) as DependencyCheck[];
      msg.payload = { status: 'ready', ...readiness((Array.isArray(msg.payload) ? msg.payload : []) as SyncState[], undefined, undefined, deps) };
      take(msg, 'dependencies');
      return msg;
    },
  },
  'gateway.patient': {
    outputs: 1,
    run(msg) {
      msg.params = [idOf(msg.req?.params?.odooId, 'patient')];
      return msg;
    },
  },
};

/** The answer of a movement already applied: as it was, marked replayed. */
function replay(msg: StepMsg, row: StoredMovement): StepMsg {
  msg.statusCode = 200;
  msg.payload = row;
  msg.replayed = true;
  return msg;
}

export const STEP_IDS = Object.keys(STEPS);
