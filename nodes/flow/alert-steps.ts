/**
 * The steps of the alert fan-out (flow 07a) and of its API (flow 07b), over nodes/domain/alerts.ts. Part of
 * STEPS (nodes/flow/steps.ts); same contract: a step takes a message and gives what goes out of each output.
 */
import {
  activityRequest,
  alertAnswer,
  alertEmail,
  alertListParams,
  alreadyDelivered,
  attemptParams,
  checkAlertEvent,
  checkReplayRequest,
  checkSubscriberRequest,
  deliveryTarget,
  outboxMessages,
  pharmacyLink,
  replayMessage,
  subscriberAnswer,
  webhookFanout,
  webhookRequest,
  ALERT_TOPICS,
  STOCK_LOW,
  type AlertRow,
  type DeliveryTarget,
  type ReplayRequest,
} from '../domain/alerts';
import { idOf } from '../domain/gateway';
import { generateSecret } from '../clients/webhook';
import { records as rows, take, type Step } from './step-types';

export const ALERT_STEPS: Record<string, Step> = {
  // ----------------------------------------------------------------------------------- outbox (07a, 1)
  'alert.notified': {
    outputs: 2,
    run(msg) {
      // A NOTIFY from the transaction that raised an alert: claim the outbox now (1) and show it on dashboards (2).
      // A reconnection of the listener only claims (what was raised meanwhile is in the outbox).
      const claim = { payload: Date.now(), correlationId: msg.correlationId };
      const p = msg.payload;
      if (msg.topic !== 'stock_alerts' || !p || typeof p !== 'object') return [claim, null];
      const alert = { event: STOCK_LOW, ...(p as Record<string, unknown>) };
      return [claim, { topic: 'stock.alert', payload: alert, correlationId: (p as { correlation_id?: string }).correlation_id ?? msg.correlationId }];
    },
  },
  'alert.outbox': {
    outputs: 1,
    run(msg) {
      const claimed = outboxMessages(rows(msg.payload) as AlertRow[], msg.correlationId);
      if (!claimed.length) return null;
      return [
        claimed.map((c) => ({
          payload: c.event,
          topic: ALERT_TOPICS.notification,
          messageId: c.messageId,
          alertId: c.alertId,
          correlationId: c.correlationId,
        })),
      ];
    },
  },
  'alert.publish-failed': {
    outputs: 1,
    run(msg, api) {
      // The lease is cut to a back-off: the next sweep (any process) publishes it again; nothing is lost meanwhile.
      const info = msg.errorInfo ?? {};
      api.warn('alert.publish.failed', { alertId: msg.alertId, code: info.code, retryable: info.retryable, message: info.message });
      if (!msg.alertId) return null;
      return { correlationId: msg.correlationId, params: [msg.alertId, `${info.code ?? 'UNEXPECTED'}: ${info.message ?? ''}`.slice(0, 2000)] };
    },
  },

  // ---------------------------------------------------------------------------------- channels (07a, 2)
  'alert.target': {
    outputs: 1,
    run(msg) {
      const target = deliveryTarget(msg.amqp?.queue, msg.payload);
      msg.target = target;
      msg.startedAt = Date.now();
      msg.params = [target.event.alert.id, target.channel, target.subscriberId];
      return msg;
    },
  },
  'alert.route': {
    outputs: 4,
    run(msg) {
      // 1 e-mail, 2 Odoo activity, 3 webhook, 4 delivered already (straight to the ack).
      const target = msg.target as DeliveryTarget;
      const row = msg.payload ?? undefined;
      take(msg, 'params');
      if (alreadyDelivered(row)) return [null, null, null, msg];
      const event = target.event;
      msg.startedAt = Date.now();
      if (target.channel === 'email') {
        msg.email = alertEmail(event, pharmacyLink(event));
        msg.payload = msg.email.text;
        return [msg, null, null, null];
      }
      if (target.channel === 'odoo') {
        msg.ids = [event.medication.odooProductId];
        return [null, msg, null, null];
      }
      msg.webhook = webhookRequest(event, row);
      msg.payload = event;
      return [null, null, msg, null];
    },
  },
  'alert.activity': {
    outputs: 1,
    run(msg) {
      // The product's template carries the To-Do (the product form users open).
      const product = rows(msg.payload)[0];
      const template = Array.isArray(product?.product_tmpl_id) ? product.product_tmpl_id[0] : undefined;
      const event = (msg.target as DeliveryTarget).event;
      if (!template) throw new Error(`Odoo product ${event.medication.odooProductId} was not found: no activity for alert ${event.alert.id}`);
      msg.ids = [template];
      msg.payload = activityRequest(event);
      return msg;
    },
  },
  'alert.subscribers': {
    outputs: 1,
    run(msg) {
      const event = checkAlertEvent(msg.payload);
      msg.event = event;
      msg.params = [event.alert.id, event.event];
      return msg;
    },
  },
  'alert.fanout': {
    outputs: 1,
    run(msg) {
      msg.messages = webhookFanout(msg.event, rows(msg.payload));
      take(msg, 'params', 'event');
      return msg;
    },
  },

  // ----------------------------------------------------------------------------------- audit (07a, 6)
  'alert.attempt': {
    outputs: 2,
    run(msg) {
      // An attempt becomes an audit row (1); a message that never became an attempt (malformed) goes to the ack (2).
      if (!msg.target) return [null, msg];
      const odoo = msg.target.channel === 'odoo' && !msg.errorInfo ? (msg.payload ?? {}) : undefined;
      msg.params = attemptParams({
        target: msg.target,
        errorInfo: msg.errorInfo,
        amqp: msg.amqp?.delivery ?? msg.amqp,
        email: msg.email,
        webhook: msg.webhook,
        odoo,
        startedAt: msg.startedAt,
        correlationId: msg.correlationId,
      });
      return [msg, null];
    },
  },

  // ---------------------------------------------------------------------------------------- API (07b)
  'alert.list-query': {
    outputs: 1,
    run(msg) {
      const { params, page } = alertListParams(msg.req?.query);
      msg.params = params;
      msg.page = page;
      return msg;
    },
  },
  'alert.list': {
    outputs: 1,
    run(msg) {
      msg.payload = rows(msg.payload).map(alertAnswer);
      take(msg, 'params');
      return msg;
    },
  },
  'alert.one-query': {
    outputs: 1,
    run(msg) {
      msg.params = [idOf(msg.req?.params?.id, 'alert')];
      return msg;
    },
  },
  'alert.one': {
    outputs: 1,
    run(msg) {
      msg.payload = msg.payload ? { ...alertAnswer(msg.payload), attempts: msg.payload.attempts ?? [] } : null;
      take(msg, 'params');
      return msg;
    },
  },
  'alert.replay-check': {
    outputs: 1,
    run(msg) {
      const req = checkReplayRequest(msg.req?.params?.id, msg.payload);
      msg.replay = req;
      msg.params = [req.alertId, req.channel, req.subscriberId];
      return msg;
    },
  },
  'alert.replay': {
    outputs: 1,
    run(msg) {
      const m = replayMessage(msg.replay as ReplayRequest, msg.payload ?? undefined);
      msg.topic = m.topic;
      msg.messageId = m.messageId;
      msg.payload = m.payload;
      take(msg, 'params');
      return msg;
    },
  },
  'alert.replayed': {
    outputs: 1,
    run(msg) {
      const r = msg.replay as ReplayRequest;
      msg.statusCode = 202;
      msg.payload = { alertId: r.alertId, channel: r.channel, subscriberId: r.subscriberId || undefined, state: 'pending', messageId: msg.messageId };
      take(msg, 'replay', 'messageId', 'amqp');
      return msg;
    },
  },
  'subscriber.create': {
    outputs: 1,
    run(msg) {
      const s = checkSubscriberRequest(msg.payload);
      // Made here, shown once in the answer, never read back through the API.
      msg.secret = generateSecret();
      msg.params = [s.url, msg.secret, s.eventTypes, s.description, msg.user?.username ?? msg.user?.sub ?? null];
      return msg;
    },
  },
  'subscriber.created': {
    outputs: 1,
    run(msg) {
      msg.statusCode = 201;
      msg.payload = subscriberAnswer(msg.payload, msg.secret);
      take(msg, 'secret', 'params');
      return msg;
    },
  },
  'subscriber.list': {
    outputs: 1,
    run(msg) {
      msg.payload = rows(msg.payload).map((r) => subscriberAnswer(r));
      return msg;
    },
  },
  'subscriber.delete': {
    outputs: 1,
    run(msg) {
      msg.params = [idOf(msg.req?.params?.id, 'subscriber')];
      return msg;
    },
  },
  'subscriber.deleted': {
    outputs: 1,
    run(msg) {
      // null (no such subscriber, or deleted before) answers 404.
      msg.payload = msg.payload ? { id: msg.payload.id, deleted: true } : null;
      take(msg, 'params');
      return msg;
    },
  },
};
