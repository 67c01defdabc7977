/** A throw-away database on the machine's real PostgreSQL for one test file. */
import { Client } from 'pg';
import { PG_BASE_URL, uniqueName } from './harness';

export async function createTestDatabase(prefix = 'clinica_test'): Promise<string> {
  const name = uniqueName(prefix).toLowerCase();
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return `${PG_BASE_URL}/${name}`;
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new Client({ connectionString: `${PG_BASE_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Terminates every backend of `application_name` LIKE pattern; returns how many were killed. */
export async function killConnections(url: string, applicationNameLike: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()', [
      applicationNameLike,
    ]);
    return res.rowCount ?? 0;
  } finally {
    await c.end();
  }
}
