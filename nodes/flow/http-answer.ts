/**
 * clinica-http-answer: prepares the answer of an `http in` request for the `http response` node after it, the
 * way every endpoint of the pack answers (docs/conventions.md "HTTP answers"):
 *  - a message with msg.errorInfo (a failed node, through a Catch) becomes RFC 9457 problem details with the
 *    status its code calls for (400, 404, 409, 422, 429, 503 + Retry-After, 500), never a stack or a secret;
 *  - any other message is a success: the node's status (or msg.statusCode), the payload as {data} (plus
 *    msg.page for a listing; 404 for a record that is not there) or as it is;
 *  - in "acknowledge" mode it answers the request itself at once (Odoo waits for its webhooks inside the
 *    user's save) and passes the message on, without the response object, for the work that follows.
 * Every answer echoes X-Correlation-Id and forbids storing it (no-store); a GET's list answer carries a strong ETag
 * of its body, and a request naming it in If-None-Match gets 304 with no body (revalidation without a transfer). The node consumes msg.errorInfo, msg.error,
 * msg.statusCode, msg.page and msg.replayed.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { badInput } from '../clients/common/errors';
import { etagOf, notModified, problemFor, successFor, type HttpAnswer } from '../domain/http';
import { intSetting } from '../lib/env';
import { handleInput, logEvent, registerType, setRED, type Msg } from '../lib/node-runtime';
import { count } from '../clients/common/metrics';
import { takeWebhookToken, tokenMatches, webhookSecret } from '../lib/webhook-token';

/** Warned once per process that Odoo's webhooks are open (no ODOO_WEBHOOK_SECRET: the demo). */
let warnedOpen = false;

/** The part of Express's response the acknowledgement uses (msg.res._res of an http in message). */
interface ExpressResponse {
  status(code: number): ExpressResponse;
  set(headers: Record<string, string>): ExpressResponse;
  json(body: unknown): ExpressResponse;
}

interface AnswerDef extends NodeDef {
  /** answer: prepare the answer for an http response node; ack: answer the request at once and pass it on. */
  mode: 'answer' | 'ack';
  /** Status of a success (default 200; 202 for an accepted job). */
  status: string | number;
  /** data: {data: payload}; body: the payload as it is. */
  body: 'data' | 'body';
  /** Retry-After seconds for 503 and 429. */
  retryAfter: string | number;
  /** ack: the body must be an Odoo automation webhook ({_id, _model, …}), else 400. */
  odooWebhook: boolean;
  /**
   * ETag of a GET's 200 answer: auto (default) for a list (msg.page or an array payload), always, or off. A request
   * whose If-None-Match names it gets 304 with no body.
   */
  etag?: 'auto' | 'always' | 'off';
}

/** The part of an http in message's msg.req the ETag needs. */
interface Request {
  method?: string;
  headers?: Record<string, unknown>;
}

/** A GET's answer with its strong ETag; 304 with no body (headers kept: ETag, no-store, correlation id) when If-None-Match names it. */
function withEtag(answer: HttpAnswer, req: Request | undefined): HttpAnswer {
  const method = String(req?.method ?? '').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return answer;
  // Serialised once: the tag is of the bytes sent, and the http response node sends this text as it is.
  const json = typeof answer.payload === 'string' ? answer.payload : JSON.stringify(answer.payload);
  const etag = etagOf(json);
  const headers = { ...answer.headers, ETag: etag };
  if (notModified(req?.headers?.['if-none-match'], etag)) return { statusCode: 304, headers, payload: '' };
  return {
    ...answer,
    headers: typeof answer.payload === 'string' ? headers : { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    payload: json,
  };
}

function apply(msg: Msg, answer: HttpAnswer): Msg {
  msg.statusCode = answer.statusCode;
  msg.headers = answer.headers;
  msg.payload = answer.payload;
  return msg;
}

export = function (RED: NodeAPI): void {
  setRED(RED);

  function HttpAnswerNode(this: Node, def: AnswerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const ack = def.mode === 'ack';
    const okStatus = intSetting(def.status, ack ? 202 : 200, 200, 299);
    const retryAfter = intSetting(def.retryAfter, 5, 1, 3600);
    const etagMode = def.etag === 'always' || def.etag === 'off' ? def.etag : 'auto';

    handleInput(node, { system: 'node-red' }, async (msg: Msg, send) => {
      const correlationId = msg.correlationId;
      const failed =
        msg.errorInfo ??
        (msg.error ? { code: 'UNEXPECTED', retryable: false, message: String((msg.error as { message?: unknown }).message ?? '') } : undefined);
      if (ack) {
        // Answer now, on the request's own response (what an http response node would do), then pass the work on.
        const res = (msg.res as { _res?: ExpressResponse } | undefined)?._res;
        if (!res) throw badInput('node-red', `${node.type} "${node.name || node.id}": no HTTP request to answer; put it right after an http in node`);
        if (def.odooWebhook) {
          // Only calls that carry the shared secret (?token= in the rule's URL, or the header) get through.
          const req = msg.req as { query?: Record<string, unknown>; headers?: Record<string, unknown>; route?: { path?: unknown } } | undefined;
          const token = takeWebhookToken(req);
          const secret = webhookSecret();
          if (!secret) {
            if (!warnedOpen) {
              warnedOpen = true;
              logEvent(node, 'warn', 'odoo.webhook.open', { hint: 'ODOO_WEBHOOK_SECRET is not set: Odoo webhooks are accepted without a token (demo only)' });
            }
          } else if (!tokenMatches(token, secret)) {
            const route = typeof req?.route?.path === 'string' ? req.route.path : 'unknown';
            count('node-red', 'webhook_unauthorized', { route });
            logEvent(node, 'warn', 'odoo.webhook.unauthorized', { correlationId, route, token: token === undefined ? 'missing' : 'wrong' });
            const denied = problemFor(
              { code: 'WEBHOOK_UNAUTHORIZED', retryable: false, message: 'this webhook needs the shared secret of the Odoo automation rules (?token=…)' },
              { correlationId },
            );
            res.status(denied.statusCode).set(denied.headers).json(denied.payload);
            delete msg.res;
            return;
          }
        }
        const body = msg.payload as Record<string, unknown> | undefined;
        const webhookOk = !def.odooWebhook || (body && typeof body === 'object' && !Array.isArray(body) && body._id !== undefined);
        const answer = webhookOk
          ? successFor({ received: true, correlationId }, okStatus, correlationId)
          : problemFor(badInput('node-red', 'an Odoo automation webhook body {_model, _id, …} was expected'), { correlationId });
        res.status(answer.statusCode).set(answer.headers).json(answer.payload);
        delete msg.res;
        if (webhookOk) send(msg);
        return;
      }
      let answer: HttpAnswer;
      if (failed) {
        answer = problemFor(failed, { correlationId, retryAfter });
      } else if (def.body !== 'body' && !msg.page && (msg.payload === null || msg.payload === undefined)) {
        answer = problemFor({ code: 'NOT_FOUND', retryable: false, message: 'no such record' }, { correlationId });
      } else {
        const status = typeof msg.statusCode === 'number' ? msg.statusCode : okStatus;
        const page = msg.page as Record<string, unknown> | undefined;
        const payload =
          def.body === 'body'
            ? msg.payload
            : {
                data: msg.payload,
                ...(page ? { page: { ...page, count: Array.isArray(msg.payload) ? msg.payload.length : 0 } } : {}),
                ...(msg.replayed ? { replayed: true } : {}),
              };
        answer = successFor(payload, status, correlationId);
        const list = Boolean(page) || Array.isArray(msg.payload);
        if (status === 200 && (etagMode === 'always' || (etagMode === 'auto' && list))) answer = withEtag(answer, msg.req as Request | undefined);
      }
      for (const k of ['errorInfo', 'error', 'page', 'replayed']) delete msg[k];
      send(apply(msg, answer));
    });
  }

  registerType('clinica-http-answer', HttpAnswerNode);
};
