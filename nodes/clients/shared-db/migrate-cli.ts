/** `npm run migrate`: creates clinica_shared when missing and applies the migrations (SHARED_DB_URL). */
import { SharedDb, ensureDatabase } from './pool';
import { migrate } from './migrations';

async function main(): Promise<void> {
  const url = process.env.SHARED_DB_URL || 'postgres://postgres@127.0.0.1:5432/clinica_shared';
  const created = await ensureDatabase(url);
  const db = new SharedDb({ url, max: 1 });
  try {
    const report = await migrate(db);
    process.stdout.write(JSON.stringify({ level: 'info', event: 'migrations', databaseCreated: created, ...report }) + '\n');
  } finally {
    await db.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(JSON.stringify({ level: 'error', event: 'migrations.failed', msg: err.message }) + '\n');
  process.exit(1);
});
