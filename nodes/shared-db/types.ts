/** Types and helpers shared by the shared-db nodes (a node module itself may export only its function). */
import type { Node, NodeDef } from 'node-red';
import { configNodeOf, missingConfigError } from '../lib/config-node';
import { expandEnv, settingOrEnv } from '../lib/env';
import { type IntegrationError } from '../clients/common/errors';
import type { SharedDb } from '../clients/shared-db/pool';
import type { PgListener } from '../clients/shared-db/listener';

export interface DbConfigDef extends NodeDef {
  url: string;
  poolSize: string | number;
  statementTimeout: string | number;
  migrate: boolean;
}

export interface DbConfigCredentials {
  password?: string;
}

export interface DbConfigNode extends Node<DbConfigCredentials> {
  readonly url: string;
  register(user: Node): void;
  deregister(user: Node): void;
  /** The pool, ready to use (migrated when the config asks for it). Rejects with a typed error while down. */
  getDb(): Promise<SharedDb>;
  /** A LISTEN connection of its own on the given channels (not started). */
  createListener(channels: string[]): PgListener;
}

/** The connection string with the credential password put in (it never sits in the flow). */
export function connectionUrl(configured: string, password: string | undefined): string {
  const url = settingOrEnv(configured, 'SHARED_DB_URL', 'postgres://postgres@127.0.0.1:5432/clinica_shared');
  const pw = expandEnv(password);
  if (!pw) return url;
  const u = new URL(url);
  u.password = pw;
  return u.toString();
}

/** The config node a user node names, if it is one. */
export function dbConfigOf(RED: { nodes: { getNode(id: string): unknown } }, id: string | undefined): DbConfigNode | undefined {
  return configNodeOf<DbConfigNode>(RED, id, 'getDb');
}

export function notConfigured(user: Node): IntegrationError {
  return missingConfigError(user, 'shared-db', 'shared database connection', 'clinica-db-config');
}
