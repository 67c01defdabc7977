/**
 * The API gateway plugin: loaded with the pack (package.json node-red.plugins) before any flow starts, it puts the
 * gateway (middleware.ts) in front of every /api route of the flows, serves the OpenAPI document at
 * GET /api/openapi.json and Prometheus metrics at GET /metrics (a token or an address allow-list). Configured from
 * the environment (policy.ts); API_GATEWAY=off leaves the flows' routes bare.
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { SharedDb, ensureDatabase, migrate } from '../clients/shared-db';
import { problemFor } from '../domain/http';
import { tokenMatches } from '../lib/webhook-token';
import { createMetrics } from './metrics';
import { createTracer } from './trace';
import { createGateway, webhookBodyGuard } from './middleware';
import { openApiDocument } from './openapi';
import { policyFromEnv } from './policy';

const PLUGIN = 'clinica-api-gateway';

export = function register(RED: NodeAPI): void {
  let policy;
  try {
    policy = policyFromEnv();
  } catch (err) {
    RED.log.error({ event: 'api.gateway.misconfigured', error: (err as Error).message } as unknown as string);
    throw err;
  }
  RED.plugins.registerPlugin(PLUGIN, { type: PLUGIN });
  // Odoo's webhooks: a body that does not parse is a 400 problem, not Express's 500 (also with API_GATEWAY=off).
  (RED.httpNode as unknown as { use(path: string, handler: unknown): void }).use('/odoo/webhook', webhookBodyGuard(1024 * 1024));
  if (!policy.enabled) {
    RED.log.warn({ event: 'api.gateway.off', msg: 'API_GATEWAY=off: /api routes have no rate limit, CORS, validation, audit or metrics' } as unknown as string);
    return;
  }
  const log = {
    info: (record: Record<string, unknown>) => RED.log.info(record as unknown as string),
    warn: (record: Record<string, unknown>) => RED.log.warn(record as unknown as string),
  };
  const db = policy.sharedDbUrl
    ? new SharedDb({ url: policy.sharedDbUrl, max: 5, statementTimeoutMs: 5000, applicationName: 'clinica-api-gateway' })
    : undefined;
  // The tables of migration 5 (rate limits, audit); the shared-DB config node runs the same migrations (locked, idempotent).
  if (db) {
    const url = db.url;
    let tries = 0;
    const prepare = () =>
      ensureDatabase(url)
        .then(() => migrate(db))
        .catch((err: unknown) => {
          tries += 1;
          if (tries === 1)
            log.warn({
              event: 'api.gateway.db-unavailable',
              error: (err as Error).message,
              msg: 'rate limits in memory and patient data refused until the shared DB answers',
            });
          setTimeout(prepare, Math.min(60000, 1000 * 2 ** Math.min(tries, 6))).unref();
        });
    void prepare();
  }
  // The path of each correlation id through the systems, for the monitor (tab 08b): CLINICA_TRACE=off stops it.
  if (db && (process.env.CLINICA_TRACE ?? 'on').toLowerCase() !== 'off') {
    const tracer = createTracer(db.pool, {
      perSecond: Number(process.env.CLINICA_TRACE_PER_SECOND) || 500,
      days: Number(process.env.CLINICA_TRACE_DAYS) || 7,
      warn: log.warn,
    });
    const hooks = RED.hooks as unknown as { add(name: string, fn: (event: unknown) => void): void; remove(name: string): void };
    // Hooks are process-wide: a runtime started again in the same process (tests, benches) replaces the earlier one's.
    hooks.remove('onComplete.clinicaTrace');
    hooks.add('onComplete.clinicaTrace', (event) => tracer.onComplete(event as Parameters<typeof tracer.onComplete>[0]));
  }
  let auditStats: () => { rows: number; failures: number } = () => ({ rows: 0, failures: 0 });
  const metrics = createMetrics({ pool: db?.pool, amqpUrl: process.env.AMQP_URL || undefined, audit: () => auditStats() });
  const gateway = createGateway(policy, { log, pool: db?.pool, metrics });
  auditStats = () => gateway.auditStats;
  const http = RED.httpNode as unknown as {
    use(path: string, handler: unknown): void;
    get(path: string, handler: (req: Request, res: Response) => void): void;
  };
  http.use('/api', gateway.handle);
  http.get('/api/openapi.json', (req: Request, res: Response) => {
    res.type('application/json').send(
      JSON.stringify(
        openApiDocument({
          serverUrl: `${req.protocol}://${req.get('host') ?? 'localhost'}`,
          keycloakIssuer: policy.keycloak?.issuer,
        }),
      ),
    );
  });
  http.get('/metrics', (req: Request, res: Response) => {
    const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const bearer = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const byToken = !!policy.metricsToken && tokenMatches(bearer, policy.metricsToken);
    const byAddress = policy.metricsAllow.includes(address) || policy.metricsAllow.includes(`::ffff:${address}`);
    if (!byToken && !byAddress) {
      const answer = problemFor({
        code: 'METRICS_FORBIDDEN',
        retryable: false,
        message: 'metrics need METRICS_TOKEN as a bearer token, or an address in METRICS_ALLOW',
      });
      res.status(answer.statusCode).set(answer.headers).send(JSON.stringify(answer.payload));
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.type(metrics.registry.contentType).send(text),
      (err: unknown) =>
        res
          .status(500)
          .type('text/plain')
          .send(`metrics failed: ${(err as Error).message}`),
    );
  });
  log.info({
    event: 'api.gateway.on',
    corsOrigins: policy.corsOrigins,
    rateLimits: policy.rateLimits,
    rateLimitStore: policy.rateLimitStore,
    bodyLimitBytes: policy.bodyLimitBytes,
    audit: policy.audit && !!db,
    keycloak: policy.keycloak?.issuer ?? null,
  });
};
