/** PostgreSQL errors as the pack's typed errors: SQLSTATE classes decide the code and whether to retry. */
import { IntegrationError, asIntegrationError } from '../common/errors';

interface PgError {
  code?: string;
  message?: string;
  table?: string;
  column?: string;
  constraint?: string;
  detail?: string;
}

/**
 * node-postgres's own errors when the connection is gone (they carry no SQLSTATE): the server restarted or ended the
 * session while no statement ran, or the connection timed out.
 */
const PG_CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect|Query read timeout)/;

export function sharedDbError(err: unknown, operation: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const pg = (err ?? {}) as PgError;
  const state = typeof pg.code === 'string' && /^[0-9A-Z]{5}$/.test(pg.code) ? pg.code : undefined;
  const where = [pg.table && `table ${pg.table}`, pg.column && `column ${pg.column}`, pg.constraint && `constraint ${pg.constraint}`]
    .filter(Boolean)
    .join(', ');
  const base = `Shared DB ${operation} failed${where ? ` (${where})` : ''}: ${pg.message ?? String(err)}`;
  const details = { sqlstate: state, table: pg.table, column: pg.column, constraint: pg.constraint, detail: pg.detail };
  const make = (code: string, retryable: boolean, fix: string) =>
    new IntegrationError(`${base}. ${fix}`, { code, system: 'shared-db', retryable, details, cause: err });

  if (!state && PG_CONNECTION_LOST.test(pg.message ?? '')) {
    return make('SHARED_DB_UNREACHABLE', true, 'The connection to the database was lost (a restart, a network fault); it will be retried.');
  }
  if (!state) {
    return asIntegrationError(err, 'shared-db', { code: 'SHARED_DB_ERROR', message: `Shared DB ${operation} failed`, details });
  }
  if (state === '42P01' || state === '42703' || state === '42883' || state === '3F000') {
    return make('SHARED_DB_SCHEMA', false, 'Run the migrations (npm run migrate) or check the table and column names.');
  }
  if (state === '3D000') return make('SHARED_DB_NO_DATABASE', false, 'Create the database or fix SHARED_DB_URL (npm run migrate creates clinica_shared).');
  if (state === '28P01' || state === '28000') return make('SHARED_DB_AUTH', false, 'Check the user and password in SHARED_DB_URL.');
  if (state === '42501') return make('SHARED_DB_ACCESS_DENIED', false, 'Grant the database user the privilege it lacks.');
  if (state === '23505') return make('SHARED_DB_CONFLICT', false, 'A row with that key exists already; use the upsert node for records synced from Odoo.');
  if (state.startsWith('23')) return make('SHARED_DB_CONSTRAINT', false, 'The record breaks a constraint of the shared schema; fix the record.');
  if (state.startsWith('22')) return make('SHARED_DB_BAD_INPUT', false, 'A value has the wrong type or format for its column; fix the input.');
  if (state.startsWith('42')) return make('SHARED_DB_BAD_QUERY', false, 'Fix the SQL of the query node (parameters are $1, $2, …).');
  if (state === '40001' || state === '40P01') return make('SHARED_DB_CONFLICT_RETRY', true, 'A concurrent transaction won; trying again is safe.');
  if (state === '57014') return make('SHARED_DB_TIMEOUT', true, 'The statement ran past its timeout; retry or raise the timeout in the database config.');
  if (state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300' || state.startsWith('53')) {
    return make('SHARED_DB_UNREACHABLE', true, 'The database is restarting, overloaded or unreachable; it will be retried.');
  }
  return make('SHARED_DB_ERROR', false, 'See the PostgreSQL message above.');
}
