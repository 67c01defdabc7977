/**
 * What every /api request gets before a flow sees it, and after it answers (docs/api.md): a correlation id; security
 * headers (helmet); CORS from an allow-list; a body limit (413); a rate limit per client and route class (429 with
 * Retry-After and RateLimit-* headers; rate-limiter-flexible over the shared PostgreSQL, so every Node-RED process
 * shares one limit; in memory only as a fallback); the query, path and body validated against the OpenAPI document
 * (ajv; 400 naming each field); the audit row of a patient-data answer written before the answer leaves (503 if it
 * cannot be); one JSON access-log line and the request metrics when it is done.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { problemFor } from '../domain/http';
import { AuditWriter, patientIdsOf } from './audit';
import type { GatewayMetrics } from './metrics';
import { OPERATIONS, type Operation, type RouteClass } from './openapi';
import type { GatewayPolicy } from './policy';

export interface GatewayLog {
  info(record: Record<string, unknown>): void;
  warn(record: Record<string, unknown>): void;
}

interface CompiledOp {
  op: Operation;
  pattern: RegExp;
  paramNames: string[];
  params?: ValidateFunction;
  query?: ValidateFunction;
  body?: ValidateFunction;
}

interface Caller {
  client: string;
  subject: string | null;
  username: string | null;
  roles: string[];
  azp: string | null;
}

/** Per request, on res.locals.clinica. */
interface RequestState {
  started: bigint;
  correlationId: string;
  route: string;
  op?: CompiledOp;
  params: Record<string, string>;
  /** A path parameter that is not valid percent-encoded UTF-8 (`%ff`): answered 400 by the validation. */
  badPath?: boolean;
  caller?: Caller;
}

const CORRELATION_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** true when a path's percent-escapes decode (as UTF-8). */
function decodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
const JSON_TYPE = /^application\/([a-z.+-]*\+)?json\b/i;

function compile(ajv: Ajv): CompiledOp[] {
  return OPERATIONS.map((op) => {
    const paramNames: string[] = [];
    const pattern = new RegExp(
      `^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
        paramNames.push(name);
        return '([^/]+)';
      })}/?$`,
    );
    const schemaOf = (where: 'path' | 'query') => {
      const ps = (op.params ?? []).filter((p) => p.in === where);
      return {
        type: 'object',
        properties: Object.fromEntries(ps.map((p) => [p.name, p.schema])),
        required: ps.filter((p) => where === 'path' || p.required).map((p) => p.name),
        additionalProperties: false,
      };
    };
    return {
      op,
      pattern,
      paramNames,
      params: paramNames.length ? ajv.compile(schemaOf('path')) : undefined,
      query: ajv.compile(schemaOf('query')),
      body: op.body ? ajv.compile(op.body) : undefined,
    };
  });
}

/** ajv's errors as the problems of a 400, each naming its field (query.limit, body.quantity …). */
export function problemsOf(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const field = `${where}${e.instancePath.replace(/\//g, '.')}`;
    if (e.keyword === 'additionalProperties') return `${field}: unknown property "${String(e.params.additionalProperty)}"`;
    if (e.keyword === 'required') return `${field}.${String(e.params.missingProperty)} is required`;
    if (e.keyword === 'enum') return `${field} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
    return `${field} ${e.message ?? 'is invalid'}`;
  });
}

/** A refusal as problem details, its status the one its code calls for (nodes/domain/http.ts). */
function send(res: Response, code: string, message: string, state: RequestState, extra: Record<string, unknown> = {}, retryable = false) {
  const answer = problemFor({ code, message, retryable, details: extra }, { correlationId: state.correlationId });
  res.status(answer.statusCode).set(answer.headers).send(JSON.stringify(answer.payload));
}

export interface Gateway {
  /** The middleware for /api (mount it before the flows' routes). */
  handle: express.Router;
  /** Audit rows written and failed by this process. */
  readonly auditStats: { rows: number; failures: number };
}

export function createGateway(policy: GatewayPolicy, deps: { log: GatewayLog; pool?: Pool; metrics: GatewayMetrics }): Gateway {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
  addFormats(ajv);
  ajv.addFormat('date-time-or-date', (s: string) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)));
  const ops = compile(ajv);
  const audit = policy.audit && deps.pool ? new AuditWriter(deps.pool) : undefined;

  // ---------------------------------------------------------------------------------------- rate limits
  const limiters = new Map<string, RateLimiterAbstract>();
  for (const [cls, limit] of Object.entries(policy.rateLimits)) {
    const memory = new RateLimiterMemory({ keyPrefix: `api_${cls}`, points: limit.points, duration: limit.duration });
    limiters.set(
      cls,
      policy.rateLimitStore === 'postgres' && deps.pool
        ? new RateLimiterPostgres({
            storeClient: deps.pool,
            tableName: 'api_rate_limits',
            tableCreated: true,
            keyPrefix: `api_${cls}`,
            points: limit.points,
            duration: limit.duration,
            // The database down: each process limits on its own until it is back.
            insuranceLimiter: memory,
          })
        : memory,
    );
  }

  // ----------------------------------------------------------------------------------------- callers
  const jwks = policy.keycloak ? createRemoteJWKSet(new URL(policy.keycloak.jwksUrl), { cooldownDuration: 10000, timeoutDuration: 5000 }) : undefined;
  const verified = new Map<string, { caller: Caller; until: number }>();
  const addressOf = (req: IncomingMessage) => (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  const callerFrom = (claims: JWTPayload & Record<string, unknown>, client: string): Caller => ({
    client,
    subject: typeof claims.sub === 'string' ? claims.sub : null,
    username: typeof claims.preferred_username === 'string' ? claims.preferred_username : null,
    roles: ((claims.realm_access as { roles?: string[] } | undefined)?.roles ?? []).filter((r) => typeof r === 'string'),
    azp: typeof claims.azp === 'string' ? claims.azp : null,
  });
  /** The client a rate limit counts: the verified token's azp, else the address. Never an unverified claim. */
  async function identify(req: IncomingMessage): Promise<Caller> {
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : undefined;
    const anonymous: Caller = { client: `ip:${addressOf(req)}`, subject: null, username: null, roles: [], azp: null };
    if (!token || !jwks || !policy.keycloak) return anonymous;
    const known = verified.get(token);
    if (known && known.until > Date.now()) return known.caller;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: policy.keycloak.issuer, clockTolerance: 10 });
      const claims = payload as JWTPayload & Record<string, unknown>;
      const caller = callerFrom(claims, typeof claims.azp === 'string' ? `azp:${claims.azp}` : anonymous.client);
      if (verified.size > 10000) verified.clear();
      verified.set(token, { caller, until: Math.min((payload.exp ?? 0) * 1000, Date.now() + 300000) });
      return caller;
    } catch {
      return anonymous;
    }
  }

  const helmetMw = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: policy.corsOrigins.length ? 'cross-origin' : 'same-origin' },
  });
  const corsMw = cors({
    origin: (origin, cb) => cb(null, !!origin && policy.corsOrigins.includes(origin)),
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Correlation-Id', 'If-None-Match'],
    exposedHeaders: ['X-Correlation-Id', 'ETag', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'],
    methods: ['GET', 'POST', 'DELETE'],
    maxAge: 600,
  });
  const jsonParser = express.json({ limit: policy.bodyLimitBytes, strict: true, type: () => true });

  const router = express.Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.headers['x-correlation-id'];
    const correlationId = typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
    // The flows take the request's X-Correlation-Id (nodes/lib/node-runtime.ts): one id from the gateway to the answer.
    req.headers['x-correlation-id'] = correlationId;
    res.setHeader('X-Correlation-Id', correlationId);
    const path = (req.originalUrl ?? req.url).split('?')[0];
    let found: CompiledOp | undefined;
    let params: Record<string, string> = {};
    // A path that is not valid percent-encoded UTF-8 (`/api/patients/%ff`): Express's router would answer it with its
    // own page (500, or 400 with the stack outside production); the validation below answers 400 problem details.
    let badPath = !decodable(path);
    const method = req.method === 'HEAD' ? 'get' : req.method.toLowerCase();
    for (const c of ops) {
      // A preflight (OPTIONS) is about the path, whatever method it asks for.
      if (c.op.method !== method && method !== 'options') continue;
      const m = c.pattern.exec(path);
      if (!m) continue;
      found = c;
      params = Object.fromEntries(
        c.paramNames.map((n, i) => {
          try {
            return [n, decodeURIComponent(m[i + 1])];
          } catch {
            // URIError, before: Express's 500 page with the stack (found by test/fuzz/http.spec.ts)
            badPath = true;
            return [n, m[i + 1]];
          }
        }),
      );
      break;
    }
    const state: RequestState = { started: process.hrtime.bigint(), correlationId, route: found?.op.path ?? 'unmatched', op: found, params, badPath };
    res.locals.clinica = state;
    res.on('finish', () => finished(req, res, state));
    next();
  });
  // helmet's headers do not depend on the request: taken from it once, set per request in one pass.
  const securityHeaders: Array<[string, string]> = [];
  const removed: string[] = [];
  helmetMw(
    {} as IncomingMessage,
    {
      setHeader: (k: string, v: unknown) => securityHeaders.push([k, String(v)]),
      removeHeader: (k: string) => removed.push(k),
      getHeader: () => undefined,
    } as unknown as ServerResponse,
    () => undefined,
  );
  router.use((_req: Request, res: Response, next: NextFunction) => {
    for (const [k, v] of securityHeaders) res.setHeader(k, v);
    for (const k of removed) res.removeHeader(k);
    next();
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      if (!origin || !policy.corsOrigins.includes(origin)) {
        send(res, 'CORS_ORIGIN_REFUSED', `origin ${origin ?? '(none)'} is not allowed to call this API (API_CORS_ORIGINS)`, res.locals.clinica as RequestState);
        return;
      }
    }
    corsMw(req, res, next);
  });
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const state = res.locals.clinica as RequestState;
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > policy.bodyLimitBytes) {
      send(res, 'PAYLOAD_TOO_LARGE', `the body is ${length} bytes; at most ${policy.bodyLimitBytes} are accepted (API_BODY_LIMIT)`, state);
      return;
    }
    const cls: RouteClass = state.op?.op.routeClass ?? (req.method === 'GET' ? 'read' : 'write');
    state.caller = await identify(req);
    if (cls !== 'health') {
      const limiter = limiters.get(cls) as RateLimiterAbstract;
      const limit = policy.rateLimits[cls];
      const headers = (r: RateLimiterRes) => ({
        'RateLimit-Limit': String(limit.points),
        'RateLimit-Remaining': String(Math.max(0, r.remainingPoints)),
        'RateLimit-Reset': String(Math.ceil(r.msBeforeNext / 1000)),
        'RateLimit-Policy': `${limit.points};w=${limit.duration}`,
      });
      try {
        res.set(headers(await limiter.consume(`${cls}:${state.caller.client}`)));
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) {
          deps.log.warn({ event: 'api.rate-limit.unavailable', correlationId: state.correlationId, error: String((e as Error)?.message ?? e) });
        } else {
          res.set(headers(e));
          deps.metrics.rateLimited.inc({ class: cls });
          send(res, 'RATE_LIMITED', `too many ${cls} requests from ${state.caller.client}: at most ${limit.points} per ${limit.duration} s`, state, {
            retryAfterMs: Math.max(1000, e.msBeforeNext),
          });
          return;
        }
      }
    }
    next();
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    const state = res.locals.clinica as RequestState;
    const c = state.op;
    if (state.badPath) {
      send(res, 'BAD_INPUT', 'the path is not valid percent-encoded UTF-8', state, { problems: ['path: not valid percent-encoded UTF-8'] });
      return;
    }
    if (req.method === 'OPTIONS') return next();
    if (c) {
      const problems: string[] = [];
      if (c.params && !c.params(state.params)) problems.push(...problemsOf('path', c.params.errors));
      if (c.query && !c.query({ ...(req.query as Record<string, unknown>) })) problems.push(...problemsOf('query', c.query.errors));
      if (problems.length) {
        send(res, 'BAD_INPUT', problems.join('; '), state, { problems });
        return;
      }
    }
    const json = JSON_TYPE.test(String(req.headers['content-type'] ?? ''));
    if (c?.body && !json) {
      send(res, 'BAD_INPUT', 'the body must be JSON sent as Content-Type: application/json', state, { problems: ['body must be application/json'] });
      return;
    }
    // Any JSON body is parsed here, whether the route takes one or not: a body that does not parse is this 400, never
    // the 500 of the http in node's own parser.
    if (!json) return next();
    jsonParser(req, res, (err?: unknown) => {
      if (err) {
        const e = err as { type?: string; status?: number };
        if (e.type === 'entity.too.large') send(res, 'PAYLOAD_TOO_LARGE', `at most ${policy.bodyLimitBytes} bytes are accepted (API_BODY_LIMIT)`, state);
        else send(res, 'BAD_INPUT', 'the body is not valid JSON', state, { problems: ['body is not valid JSON'] });
        return;
      }
      if (!c?.body) return next();
      if (!(c.body as ValidateFunction)(req.body)) {
        const bodyProblems = problemsOf('body', (c.body as ValidateFunction).errors);
        send(res, 'BAD_INPUT', bodyProblems.join('; '), state, { problems: bodyProblems });
        return;
      }
      next();
    });
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    const state = res.locals.clinica as RequestState;
    const spec = state.op?.op.audit;
    if (!spec || !audit) return next();
    // The answer leaves only once its audit row is committed.
    const original = res.send.bind(res);
    let auditing = false;
    res.send = ((body?: unknown) => {
      if (auditing || res.statusCode >= 400) return original(body);
      auditing = true;
      let parsed: unknown = body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        try {
          parsed = JSON.parse(String(body));
        } catch {
          parsed = undefined;
        }
      }
      const caller = callerOf(req, state);
      audit
        .write({
          at: new Date().toISOString(),
          subject: caller.subject,
          username: caller.username,
          roles: caller.roles,
          client: caller.azp,
          method: req.method,
          route: state.route,
          path: (req.originalUrl ?? req.url).split('?')[0],
          status: res.statusCode,
          patient_ids: patientIdsOf(spec, state.params, parsed),
          correlation_id: state.correlationId,
        })
        .then(
          () => original(body),
          (err: unknown) => {
            deps.log.warn({ event: 'api.audit.failed', correlationId: state.correlationId, route: state.route, error: String((err as Error)?.message ?? err) });
            for (const h of ['ETag', 'Content-Type', 'Content-Length']) res.removeHeader(h);
            send(res, 'AUDIT_UNAVAILABLE', 'the access could not be audited, so the patient data is not served; try again shortly', state, {}, true);
          },
        );
      return res;
    }) as Response['send'];
    next();
  });

  /** Who made a request that the flow answered: the verified caller, or the claims of the token the guard accepted. */
  function callerOf(req: IncomingMessage, state: RequestState): Caller {
    if (state.caller?.subject) return state.caller;
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) {
      try {
        const claims = decodeJwt(auth.replace(/^Bearer\s+/i, '').trim()) as JWTPayload & Record<string, unknown>;
        return callerFrom(claims, state.caller?.client ?? 'unknown');
      } catch {
        /* not a JWT */
      }
    }
    return state.caller ?? { client: 'unknown', subject: null, username: null, roles: [], azp: null };
  }

  function finished(req: IncomingMessage, res: ServerResponse, state: RequestState) {
    const seconds = Number(process.hrtime.bigint() - state.started) / 1e9;
    const labels = { route: state.route, method: req.method ?? 'GET', status: String(res.statusCode) };
    deps.metrics.requests.inc(labels);
    deps.metrics.latency.observe(labels, seconds);
    const caller = res.statusCode < 400 ? callerOf(req, state) : state.caller;
    deps.log.info({
      event: 'http.access',
      correlationId: state.correlationId,
      method: req.method,
      route: state.route,
      path: ((req as Request).originalUrl ?? req.url ?? '').split('?')[0],
      status: res.statusCode,
      durationMs: Math.round(seconds * 10000) / 10,
      client: caller?.client ?? null,
      user: caller?.username ?? null,
    });
  }

  return {
    handle: router,
    get auditStats() {
      return { rows: audit?.stats.rows ?? 0, failures: audit?.stats.failures ?? 0 };
    },
  };
}

/**
 * In front of Odoo's webhooks (`/odoo/webhook/*`, outside the gateway's /api): a JSON body that does not parse, is
 * not an object or array, is too large or names a charset other than UTF-8 gets 400 (or 413) problem details here.
 * Without it Node-RED's own body parser hands the error to Express, which answered 500 text/plain (found by
 * test/fuzz/http.spec.ts). A body that parses is left on the request for the flow (the http in node does not parse
 * it again); other content types pass untouched.
 */
export function webhookBodyGuard(limitBytes: number): express.RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    const badPath = !decodable((req.originalUrl ?? req.url).split('?')[0]);
    if (!badPath && (req.method !== 'POST' || !JSON_TYPE.test(String(req.headers['content-type'] ?? '')))) return next();
    const refuse = (err?: unknown) => {
      if (!err && !badPath) return next();
      const tooLarge = (err as { type?: string } | undefined)?.type === 'entity.too.large';
      const header = req.headers['x-correlation-id'];
      const correlationId = typeof header === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(header) ? header : randomUUID();
      const message = badPath
        ? 'the path is not valid percent-encoded UTF-8'
        : tooLarge
          ? `an Odoo webhook body is at most ${limitBytes} bytes`
          : 'an Odoo automation webhook body is a JSON object {_model, _id, …} in UTF-8';
      const answer = problemFor({ code: tooLarge ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT', retryable: false, message }, { correlationId });
      res.status(answer.statusCode).set(answer.headers).send(JSON.stringify(answer.payload));
    };
    if (badPath) refuse();
    else parse(req, res, refuse);
  };
}
