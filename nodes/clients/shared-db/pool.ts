/**
 * The shared database client: one pg pool per connection string, typed errors, transactions.
 * No Node-RED import (nodes/shared-db are thin adapters over this).
 */
import { Pool, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';
import { IntegrationError } from '../common/errors';
import { sharedDbError } from './errors';

export interface SharedDbOptions {
  /** postgres://user:pass@host:port/clinica_shared */
  url: string;
  /** Pool size (default 10). */
  max?: number;
  /** Per-statement timeout in ms (default 30000; 0 = none). */
  statementTimeoutMs?: number;
  /** Connect timeout in ms (default 5000). */
  connectTimeoutMs?: number;
  applicationName?: string;
}

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
  command: string;
}

export type Queryable = Pick<PoolClient, 'query'>;

export class SharedDb {
  readonly pool: Pool;
  readonly url: string;
  private closed = false;

  constructor(readonly options: SharedDbOptions) {
    if (!options.url) {
      throw new IntegrationError('Shared DB URL is empty: set SHARED_DB_URL or the URL of the database config node', {
        code: 'SHARED_DB_NOT_CONFIGURED',
        system: 'shared-db',
        retryable: false,
      });
    }
    this.url = options.url;
    const config: PoolConfig = {
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30000,
      application_name: options.applicationName ?? 'clinica-node-red',
      statement_timeout: options.statementTimeoutMs ?? 30000,
    };
    this.pool = new Pool(config);
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  /** A parameterised query ($1, $2 …); values never become part of the SQL text. */
  async query<T extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = [], operation = 'query'): Promise<QueryResult<T>> {
    try {
      const res = await this.pool.query<T>(sql, params);
      return { rows: res.rows, rowCount: res.rowCount ?? res.rows.length, command: res.command };
    } catch (err) {
      throw sharedDbError(err, operation);
    }
  }

  /** Runs fn inside BEGIN … COMMIT on one connection; any error rolls back and is rethrown typed. */
  async transaction<T>(fn: (client: Queryable) => Promise<T>, operation = 'transaction'): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw sharedDbError(err, `${operation} (connect)`);
    }
    const broken = watchCheckedOut(client);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw sharedDbError(err, operation);
    } finally {
      broken.release();
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', [], 'health check');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * A client checked out of the pool has no 'error' listener of the pool's: the server ending its connection while no
 * statement runs (a restart, pg_terminate_backend) would be an uncaught exception. This listens for it and, on
 * release, has the pool destroy the dead connection instead of handing it out again.
 */
export function watchCheckedOut(client: PoolClient): { release(): void } {
  let failed: Error | undefined;
  const onError = (err: Error) => {
    failed = err;
  };
  client.on('error', onError);
  return {
    release: () => {
      client.removeListener('error', onError);
      client.release(failed);
    },
  };
}

/** Creates the database named in the URL when it is missing (connecting to the server's `postgres` db). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name)
    throw new IntegrationError(`Shared DB URL ${target.host} names no database`, { code: 'SHARED_DB_NOT_CONFIGURED', system: 'shared-db', retryable: false });
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const db = new SharedDb({ url: admin.toString(), max: 1 });
  try {
    const found = await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [name], 'database lookup');
    if (found.rowCount > 0) return false;
    try {
      await db.query(`CREATE DATABASE ${quoteIdent(name)}`, [], `create database ${name}`);
    } catch (err) {
      // Two starters racing: the other one created it.
      if ((err as IntegrationError).details?.sqlstate !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await db.close();
  }
}

/** Quotes an SQL identifier (table, column, database): the only thing ever spliced into SQL text. */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || !name || name.length > 63 || name.includes('\u0000')) {
    throw new IntegrationError(`"${String(name)}" is not a valid SQL identifier`, { code: 'BAD_INPUT', system: 'shared-db', retryable: false });
  }
  return `"${name.replace(/"/g, '""')}"`;
}
