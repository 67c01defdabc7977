/** Types and helpers shared by the Odoo nodes (a node module itself may export only its function). */
import type { Node, NodeDef } from 'node-red';
import { configNodeOf, missingConfigError } from '../lib/config-node';
import { type IntegrationError, badInput } from '../clients/common/errors';
import type { OdooClient } from '../clients/odoo/client';

export interface OdooConfigDef extends NodeDef {
  url: string;
  db: string;
  username: string;
  /** auto | jsonrpc | xmlrpc | json2 */
  protocol: string;
  /** Per-request timeout, seconds. */
  timeout: string | number;
  /** Requests in flight at once for this connection. */
  concurrency: string | number;
  /** Extra attempts for retryable failures. */
  retries: string | number;
  /** Language of Odoo's answers (context lang), e.g. es_ES; empty = the user's. */
  lang: string;
}

export interface OdooConfigCredentials {
  apiKey?: string;
  password?: string;
}

export interface OdooConfigNode extends Node<OdooConfigCredentials> {
  /** For display: URL, database and user (no secret). */
  readonly url: string;
  readonly db: string;
  readonly username: string;
  register(user: Node): void;
  deregister(user: Node): void;
  /** The client of this config node (one per config node, shared by its users). Throws when not configured. */
  getClient(): OdooClient;
  /** Tells the config node how an operation ended, so every user node shows the connection state. */
  report(err?: unknown): void;
}

/** The config node a user node names, if it is one. */
export function odooConfigOf(RED: { nodes: { getNode(id: string): unknown } }, id: string | undefined): OdooConfigNode | undefined {
  return configNodeOf<OdooConfigNode>(RED, id, 'getClient');
}

export function notConfigured(user: Node): IntegrationError {
  return missingConfigError(user, 'odoo', 'Odoo connection', 'clinica-odoo-config');
}

export const label = (node: Node) => `${node.type} "${node.name || node.id}"`;

/** A JSON setting of the node (domain, values, args …); empty gives `fallback`. */
export function jsonSetting<T>(node: Node, text: unknown, what: string, fallback: T): T {
  if (text === undefined || text === null) return fallback;
  if (typeof text !== 'string') return text as T;
  if (!text.trim()) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw badInput('odoo', `${label(node)}: its ${what} setting is not valid JSON (${(err as Error).message}); fix it in the node`);
  }
}

/** "name, email" or ["name", "email"] → a list of field names. */
export function fieldList(node: Node, value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const list =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && /^[A-Za-z_][\w.]*$/.test(f))) {
    throw badInput('odoo', `${label(node)}: ${where} must be field names, e.g. "name, email" or ["name", "email"]; got ${JSON.stringify(value)}`);
  }
  return list.length ? (list as string[]) : undefined;
}

/** A domain: a list of [field, operator, value] and '&' '|' '!'. */
export function checkDomain(node: Node, value: unknown, where: string): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  if (!Array.isArray(value)) {
    throw badInput('odoo', `${label(node)}: ${where} must be a domain list such as [["is_company", "=", false]]; got ${JSON.stringify(value)}`);
  }
  for (const term of value) {
    const ok =
      term === '&' || term === '|' || term === '!' || (Array.isArray(term) && term.length === 3 && typeof term[0] === 'string' && typeof term[1] === 'string');
    if (!ok) {
      throw badInput('odoo', `${label(node)}: ${where} has ${JSON.stringify(term)}, which is neither a [field, operator, value] condition nor '&', '|' or '!'`);
    }
  }
  return value;
}

/** Record ids from a setting ("7" or "7, 8") or a message (7, [7, 8], {id: 7}). */
export function idList(node: Node, value: unknown, where: string): number[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let list: unknown[];
  if (typeof value === 'string')
    list = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
  else if (typeof value === 'number') list = [value];
  else if (Array.isArray(value)) list = value;
  else if (typeof value === 'object' && 'id' in (value as object)) list = [(value as { id: unknown }).id];
  else list = [value];
  if (!list.length || !list.every((id) => Number.isInteger(id) && (id as number) > 0)) {
    throw badInput('odoo', `${label(node)}: ${where} must be record ids (a positive integer or a list of them); got ${JSON.stringify(value)}`);
  }
  return list as number[];
}
