/**
 * What every node of the pack shares at run time: the RED holder, the input handler that always finishes
 * (status, send, done / done(err)), the correlation id, status helpers and JSON log events.
 * See STYLE.md example 1 and docs/conventions.md.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { IntegrationError, errorMessage, isRetryable, type SystemName } from '../clients/common/errors';
import { counter } from '../clients/common/metrics';
import { correlationIdOf } from '../domain/http';
import { redact } from './redact';

let red: NodeAPI | undefined;

/** Called by every node module's export function, so shared code can reach RED. */
export function setRED(api: NodeAPI): NodeAPI {
  red = api;
  return api;
}

export function getRED(): NodeAPI {
  if (!red) throw new Error('Node-RED runtime not initialised: a node module must call setRED(RED) first');
  return red;
}

/** A message as our nodes see it: Node-RED's, plus the shared properties of docs/conventions.md. */
export interface Msg extends NodeMessageInFlow {
  [key: string]: unknown;
  correlationId?: string;
  errorInfo?: ErrorInfo;
}

/** What the pack adds to a failed message before done(err): Node-RED's Catch keeps only message/code/stack. */
export interface ErrorInfo {
  code: string;
  system: SystemName;
  retryable: boolean;
  message: string;
  details?: Record<string, unknown>;
  node: { type: string; id: string };
}

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;

/**
 * The message's correlation id: its own, else the X-Correlation-Id of the HTTP request it carries (an
 * `http in` message), else a new one; set on the message.
 */
export function ensureCorrelationId(msg: Record<string, unknown>): string {
  const existing = msg.correlationId;
  if (typeof existing === 'string' && existing) return existing;
  const id = correlationIdOf(msg.req) ?? randomUUID();
  msg.correlationId = id;
  return id;
}

/** Status helpers: the text is a message id from the node's locale (status.*), translated by the editor. */
export const status = {
  working: (node: Node, text = 'status.working') => node.status({ fill: 'blue', shape: 'dot', text }),
  ok: (node: Node, text = 'status.connected') => node.status({ fill: 'green', shape: 'dot', text }),
  retrying: (node: Node, text = 'status.reconnecting') => node.status({ fill: 'yellow', shape: 'ring', text }),
  failed: (node: Node, text = 'status.failed') => node.status({ fill: 'red', shape: 'ring', text }),
  clear: (node: Node) => node.status({}),
  set: (node: Node, s: NodeStatus) => node.status(s),
};

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * One structured log event. settings.ts prints every Node-RED log record as a JSON line, adding the
 * node's type and id; this adds the event name, the correlation id and redacted fields.
 */
export function logEvent(node: Node, level: Level, event: string, fields: Record<string, unknown> = {}): void {
  const record = { event, ...(redact(fields) as Record<string, unknown>) };
  switch (level) {
    case 'debug':
      node.debug(record as unknown as string);
      break;
    case 'info':
      node.log(record as unknown as string);
      break;
    case 'warn':
      node.warn(record as unknown as string);
      break;
    case 'error':
      node.error(record as unknown as string);
      break;
  }
}

export function errorInfoOf(err: unknown, node: Node, system: SystemName): ErrorInfo {
  if (err instanceof IntegrationError) {
    return { code: err.code, system: err.system, retryable: err.retryable, message: err.message, details: err.details, node: { type: node.type, id: node.id } };
  }
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'UNEXPECTED';
  return { code, system, retryable: isRetryable(err), message: errorMessage(err), node: { type: node.type, id: node.id } };
}

export interface InputOptions {
  /** Family name for metrics and errors: odoo, nextcloud, keycloak, shared-db, amqp. */
  system: SystemName;
  /** Status text while a message is being worked on. */
  workingText?: string;
  /** Status when idle after a success; default: clear. */
  idleStatus?: NodeStatus | null;
}

/**
 * Registers an input handler that always finishes the message: blue status while working (with the
 * number in flight), the handler sends what it produces, then done(); on failure a red ring, msg.errorInfo
 * and done(err) so Catch nodes fire. Counts operations and failures for the node's family.
 */
export function handleInput(node: Node, options: InputOptions, handler: (msg: Msg, send: Send) => Promise<void>): void {
  let inFlight = 0;
  const family = options.system;
  // Bound once: counting a message costs an addition, not a key built from its labels.
  const operations = counter(family, 'operations', { node: node.type });
  const failures = counter(family, 'failures', { node: node.type });
  node.on('input', (rawMsg, send, done) => {
    const msg = rawMsg as Msg;
    ensureCorrelationId(msg);
    inFlight += 1;
    // Status changes only when the node goes from idle to busy and back: a stream of messages costs no status traffic.
    if (inFlight === 1) node.status({ fill: 'blue', shape: 'dot', text: options.workingText ?? 'status.working' });
    const started = Date.now();
    handler(msg, send as Send).then(
      () => {
        inFlight -= 1;
        operations.add();
        if (inFlight === 0) {
          if (options.idleStatus) node.status(options.idleStatus);
          else node.status({});
        }
        done();
      },
      (err: unknown) => {
        inFlight -= 1;
        failures.add();
        const info = errorInfoOf(err, node, family);
        msg.errorInfo = info;
        node.status({ fill: 'red', shape: 'ring', text: shortCode(info.code) });
        logEvent(node, 'debug', 'operation.failed', {
          correlationId: msg.correlationId,
          code: info.code,
          retryable: info.retryable,
          ms: Date.now() - started,
        });
        done(err instanceof Error ? err : new Error(info.message));
      },
    );
  });
}

/** A status text must stay short: the error code is the message id users can look up in the help. */
function shortCode(code: string): string {
  return code.length > 32 ? code.slice(0, 32) : code;
}

/** Reads a message property by dotted path (msg.payload.a.b), for "from msg" settings. */
export function getMsgProperty(msg: Msg, path: string): unknown {
  return getRED().util.getMessageProperty(msg, path);
}

/** Evaluates a typed-input setting (msg, flow, global, env, str, num, json, jsonata…) against a message. */
export function evaluateTyped(node: Node, value: string, type: string, msg: Msg): Promise<unknown> {
  const RED = getRED();
  if (type === 'jsonata') {
    return new Promise((resolve, reject) => {
      const expr = RED.util.prepareJSONataExpression(value, node);
      RED.util.evaluateJSONataExpression(expr, msg, (err, result) => (err ? reject(err) : resolve(result)));
    });
  }
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
  });
}

/** Registers a node constructor written as `function (this: N, def: D)` with Node-RED's loose typing. */
export function registerType<N extends Node, D extends NodeDef>(
  type: string,
  ctor: (this: N, def: D) => void,
  options?: { credentials?: Record<string, { type: 'text' | 'password' }>; settings?: Record<string, unknown> },
): void {
  const RED = getRED();
  RED.nodes.registerType(type, ctor as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], options as Parameters<NodeAPI['nodes']['registerType']>[2]);
}
