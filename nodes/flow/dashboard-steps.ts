/**
 * The steps of the dashboards (flows 08a Farmacia and 08b Integración), over nodes/domain/dashboards.ts. Part of
 * STEPS (nodes/flow/steps.ts); same contract: a step takes a message and gives what goes out of each output.
 * Messages of the monitor carry msg.dashboardRoles = ['admin']: the clinica-dashboard-auth plugin sends them only
 * to the sockets of users with that role.
 */
import { randomBytes } from 'node:crypto';
import { alertRows, correlationQuery, deadLetterRows, formMovement, medicationRows, movementResult, movementSeries, syncRows } from '../domain/dashboards';
import { records, type Step } from './step-types';

const ADMIN = ['admin'];
const WATCHED = new Set(['shared_medications', 'shared_stock_movements']);

export const DASHBOARD_STEPS: Record<string, Step> = {
  'dash.refresh': {
    outputs: 1,
    run(msg) {
      // A NOTIFY on shared_changes about medications or movements, a reconnection, a page view or a tick: read again.
      const p = msg.payload as { table?: string } | undefined;
      if (msg.topic === 'shared_changes' && !WATCHED.has(String(p?.table))) return null;
      return { topic: 'refresh', correlationId: msg.correlationId, ...(msg._client ? { _client: msg._client } : {}) };
    },
  },
  'dash.medications': {
    outputs: 1,
    run(msg) {
      msg.payload = medicationRows(records(msg.payload));
      return msg;
    },
  },
  'dash.movements-chart': {
    outputs: 1,
    run(msg) {
      msg.payload = movementSeries(records(msg.payload));
      return msg;
    },
  },
  'dash.alerts': {
    outputs: 1,
    run(msg) {
      msg.payload = alertRows(records(msg.payload));
      return msg;
    },
  },
  'dash.movement': {
    outputs: 2,
    run(msg) {
      // The form's values as the body of POST /api/pharmacy/movements, by the user the plugin verified (1); refused (2).
      const user = msg._client?.user;
      try {
        msg.payload = formMovement(msg.payload, user, `PANEL-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
      } catch (err) {
        return [null, { payload: `✗ ${(err as Error).message}`, _client: msg._client }];
      }
      msg.user = { sub: user.sub, username: user.username, email: user.email, roles: user.roles };
      return [msg, null];
    },
  },
  'dash.movement-result': {
    outputs: 1,
    run(msg) {
      const r = movementResult(msg.statusCode, msg.payload);
      return { payload: `${r.ok ? '✓' : '✗'} ${r.text}`, topic: r.ok ? 'applied' : 'refused', _client: msg._client, correlationId: msg.correlationId };
    },
  },
  'dash.sync': {
    outputs: 1,
    run(msg) {
      return { payload: syncRows(records(msg.payload)), dashboardRoles: ADMIN };
    },
  },
  'dash.admin-rows': {
    outputs: 1,
    run(msg) {
      // Rows only admins may see (deliveries, errors, a correlation id's path).
      return { payload: records(msg.payload), dashboardRoles: ADMIN, ...(msg._client ? { _client: msg._client } : {}) };
    },
  },
  'dash.trace': {
    outputs: 2,
    run(msg) {
      // The correlation id typed in the form (1: to the query), or why not (2).
      try {
        const id = correlationQuery((msg.payload as { correlationId?: unknown })?.correlationId ?? msg.payload);
        return [{ params: [id], _client: msg._client }, null];
      } catch (err) {
        return [null, { payload: `✗ ${(err as Error).message}`, _client: msg._client }];
      }
    },
  },
  'dash.dead-letters-ask': {
    outputs: 1,
    run(msg) {
      // A button of the monitor: inspect (payload "inspect"), replay all (payload "replay") the queue in msg.topic, or
      // replay one dead letter (payload "replay-one" with its msg.messageId).
      if (!(msg._client?.user?.roles ?? []).includes('admin') && msg._client) return null;
      const one = msg.payload === 'replay-one' && typeof msg.messageId === 'string' && msg.messageId;
      const action = msg.payload === 'replay' || one ? 'replay' : 'inspect';
      return {
        topic: msg.topic || 'invoice_queue',
        action,
        ...(action === 'replay' ? {} : { limit: 50 }),
        ...(one ? { messageId: msg.messageId } : {}),
        _client: msg._client,
      };
    },
  },
  'dash.dead-letters': {
    outputs: 2,
    run(msg) {
      // Inspected: the rows (1). Replayed: inspect again (2) so the table shows the queue emptied.
      if (msg.amqp?.action === 'replay') return [null, { topic: msg.topic, action: 'inspect', limit: 50 }];
      return [{ payload: deadLetterRows(String(msg.topic), msg.payload), topic: msg.topic, dashboardRoles: ADMIN }, null];
    },
  },
};
