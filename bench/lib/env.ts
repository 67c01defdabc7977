/** Where the benchmarks find the local servers (same defaults as the tests). */
export const AMQP_URL = process.env.BENCH_AMQP_URL || process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
export const PG_BASE_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432';
