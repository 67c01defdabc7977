/** The shared database client (`clinica_shared`): pool, migrations, idempotent upserts, LISTEN. */
export * from './pool';
export * from './migrations';
export * from './entities';
export * from './upsert';
export * from './listener';
export * from './lease';
export * from './cursors';
