/**
 * The OpenAPI 3.1 document of every /api route the shipped flows serve: served at GET /api/openapi.json, used by the
 * gateway to validate each request's query and body (ajv), and by the tests to validate every real answer, so the
 * document cannot drift from the flows. Each operation also says what the gateway does with it:
 *   x-clinica-class   the rate-limit class (read, write, admin; health is not limited)
 *   x-clinica-audit   patient data: where the patient ids are (a path parameter, or a field of the answer's items)
 */

type Schema = Record<string, unknown>;

export type RouteClass = 'health' | 'read' | 'write' | 'admin';

export interface AuditSpec {
  /** The path parameter that is the patient's Odoo id. */
  param?: string;
  /** Fields of the answer's `data` items (or of `data` itself) that hold patient Odoo ids. */
  fields?: string[];
}

export interface Operation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI path, e.g. /api/patients/{odooId}. */
  path: string;
  summary: string;
  /** Keycloak roles (any of them); none: public. */
  roles?: string[];
  routeClass: RouteClass;
  audit?: AuditSpec;
  params?: Array<{ name: string; in: 'path' | 'query'; schema: Schema; description?: string; required?: boolean }>;
  body?: Schema;
  /** Success status and its `data` schema (or the whole body with raw: true). */
  ok: { status: number; data?: Schema; list?: boolean; raw?: Schema; description?: string };
  errors: number[];
}

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const num = (extra: Schema = {}): Schema => ({ type: 'number', ...extra });
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({ type: 'object', properties, required, ...extra });
/** Timestamps as PostgreSQL's JSON gives them (ISO 8601, with or without zone). */
const stamp = nullable(str());

const limit = { name: 'limit', in: 'query' as const, schema: str({ pattern: '^[0-9]{1,4}$' }), description: 'page size, 1–200 (default 50)' };
const offset = { name: 'offset', in: 'query' as const, schema: str({ pattern: '^[0-9]{1,9}$' }), description: 'rows to skip (default 0)' };
const q = { name: 'q', in: 'query' as const, schema: str({ maxLength: 100 }), description: 'free-text search' };
const idParam = (name: string, what: string) => ({
  name,
  in: 'path' as const,
  required: true,
  schema: str({ pattern: '^[1-9][0-9]{0,9}$' }),
  description: `${what} id`,
});
const isoDate = (name: string, description: string) => ({ name, in: 'query' as const, schema: str({ format: 'date-time-or-date' }), description });

const patient = obj(
  { id: int(), odoo_id: int(), name: str(), email: nullable(str()), phone: nullable(str()), vat: nullable(str()), birthdate: stamp, last_sync: stamp },
  ['odoo_id', 'name'],
);
const appointment = obj(
  {
    id: int(),
    odoo_id: int(),
    name: nullable(str()),
    datetime: stamp,
    end_datetime: stamp,
    status: nullable(str()),
    doctor_name: nullable(str()),
    patient_odoo_id: nullable(int()),
    patient_name: nullable(str()),
  },
  ['odoo_id'],
);
const medication = obj(
  { id: int(), odoo_product_id: int(), name: str(), stock_quantity: nullable(num()), min_stock_level: nullable(num()), is_low: { type: ['boolean', 'null'] } },
  ['odoo_product_id', 'name'],
);
const stockAlert = obj({ odoo_product_id: int(), name: str(), stock_quantity: num(), min_stock_level: num(), shortage: num() }, ['odoo_product_id', 'name']);
const movement = obj(
  {
    external_ref: nullable(str()),
    odoo_product_id: int(),
    movement_type: str({ enum: ['in', 'out', 'adjustment'] }),
    quantity: num(),
    sync_status: nullable(str()),
  },
  ['odoo_product_id', 'movement_type', 'quantity'],
);
const movementBody = obj(
  {
    external_ref: str({ pattern: '^[A-Za-z0-9._/-]{1,100}$', description: "the pharmacy's own reference of this movement (idempotency key)" }),
    odoo_product_id: int({ minimum: 1 }),
    movement_type: str({ enum: ['in', 'out', 'adjustment'] }),
    quantity: num({ description: 'positive for in and out; signed for an adjustment' }),
    notes: nullable(str({ maxLength: 1000 })),
  },
  ['external_ref', 'odoo_product_id', 'movement_type', 'quantity'],
  { additionalProperties: false },
);
const documentItem = obj({ type: str(), name: str(), path: str(), size: nullable(num()), date: stamp, url: nullable(str()) }, ['type', 'name', 'path']);
const channelState = obj({ state: str(), attempts: int() }, []);
const alert = obj(
  {
    id: int(),
    odoo_product_id: int(),
    name: str(),
    crossing: int(),
    quantity: num(),
    minimum: num(),
    raised_at: stamp,
    rearmed_at: stamp,
    correlation_id: nullable(str()),
    published_at: stamp,
    open: { type: 'boolean' },
    channels: obj({ email: channelState, odoo: channelState, queue: channelState, webhook: obj({}) }),
  },
  ['id', 'odoo_product_id', 'name', 'open', 'channels'],
);
const subscriber = obj(
  {
    id: int(),
    url: str(),
    eventTypes: { type: 'array', items: str() },
    active: { type: 'boolean' },
    description: nullable(str()),
    createdBy: nullable(str()),
    createdAt: stamp,
  },
  ['id', 'url', 'eventTypes', 'active'],
);

/** A pharmacy movement (tab 04b), served under two names. */
function movementOperation(path: string, summary: string): Operation {
  return {
    method: 'post',
    path,
    summary,
    roles: ['farmacia', 'admin'],
    routeClass: 'write',
    body: movementBody,
    ok: { status: 201, raw: obj({}) },
    errors: [400, 401, 403, 409, 413, 429, 503],
  };
}

/** Every route of the shipped flows, in the order of the docs' table. */
export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/api/health',
    summary: 'Liveness: the process and its database answer (no other dependency)',
    routeClass: 'health',
    ok: { status: 200, raw: obj({ status: str() }, ['status']) },
    errors: [503],
  },
  {
    method: 'get',
    path: '/api/ready',
    summary: 'Readiness: every dependency and every sync, with state and latency; 503 naming what is not ready',
    routeClass: 'health',
    ok: {
      status: 200,
      raw: obj(
        {
          status: str(),
          dependencies: { type: 'array', items: obj({ name: str(), state: str(), latencyMs: nullable(num()) }, ['name', 'state']) },
          syncs: { type: 'array' },
        },
        ['status'],
      ),
    },
    errors: [503],
  },
  {
    method: 'get',
    path: '/api/patients',
    summary: 'Patients of the shared database, paged and searchable',
    roles: ['medico', 'enfermeria', 'recepcion', 'admin'],
    routeClass: 'read',
    audit: { fields: ['odoo_id'] },
    params: [q, limit, offset],
    ok: { status: 200, data: patient, list: true },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/api/patients/{odooId}',
    summary: 'One patient, with the count of upcoming appointments',
    roles: ['medico', 'enfermeria', 'recepcion', 'admin'],
    routeClass: 'read',
    audit: { param: 'odooId' },
    params: [idParam('odooId', "the patient's Odoo")],
    ok: { status: 200, data: patient },
    errors: [400, 401, 403, 404, 429],
  },
  {
    method: 'get',
    path: '/api/appointments',
    summary: 'Appointments in a window (default: today and the next 7 days)',
    roles: ['medico', 'enfermeria', 'recepcion', 'admin'],
    routeClass: 'read',
    audit: { fields: ['patient_odoo_id'] },
    params: [isoDate('from', 'window start (ISO 8601)'), isoDate('to', 'window end (ISO 8601)'), limit, offset],
    ok: { status: 200, data: appointment, list: true },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/api/medications',
    summary: 'Medications with stock, minimum and maximum',
    roles: ['farmacia', 'medico', 'enfermeria', 'admin'],
    routeClass: 'read',
    params: [q, limit, offset],
    ok: { status: 200, data: medication, list: true },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/api/stock-alerts',
    summary: 'Medications under their minimum now (the low_stock_alerts view)',
    roles: ['farmacia', 'medico', 'admin'],
    routeClass: 'read',
    params: [limit, offset],
    ok: { status: 200, data: stockAlert, list: true },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/api/stock-movements',
    summary: 'Stock movements, paged, by medication, date and type',
    roles: ['farmacia', 'admin'],
    routeClass: 'read',
    params: [
      { name: 'medication', in: 'query', schema: str({ pattern: '^[1-9][0-9]{0,9}$' }), description: 'Odoo product id' },
      isoDate('from', 'from this time (ISO 8601)'),
      isoDate('to', 'before this time (ISO 8601)'),
      { name: 'type', in: 'query', schema: str({ enum: ['in', 'out', 'adjustment'] }) },
      limit,
      offset,
    ],
    ok: { status: 200, data: movement, list: true },
    errors: [400, 401, 403, 429],
  },
  movementOperation(
    '/api/stock-movements',
    'A pharmacy movement applied in Odoo once (201; a repeat answers 200 replayed; another movement under the same reference 409)',
  ),
  movementOperation('/api/pharmacy/movements', 'The same as POST /api/stock-movements (its first name)'),
  {
    method: 'post',
    path: '/api/documents/store',
    summary: "An Odoo document's PDF stored in the patient's Nextcloud folder, linked on the record, noted once",
    roles: ['admin', 'medico', 'recepcion'],
    routeClass: 'write',
    audit: { fields: ['patient'] },
    body: obj({ model: str({ enum: ['account.move', 'x_medical_record', 'x_prescription'] }), id: int({ minimum: 1 }) }, ['model', 'id'], {
      additionalProperties: false,
    }),
    ok: { status: 200, data: obj({ model: str(), id: int(), path: str() }, ['model', 'id']) },
    errors: [400, 401, 403, 404, 413, 422, 429, 503],
  },
  {
    method: 'get',
    path: '/api/documents/{patientId}',
    summary: "The patient's documents in Nextcloud: type, name, date, size and link",
    roles: ['medico', 'admin'],
    routeClass: 'read',
    audit: { param: 'patientId' },
    params: [idParam('patientId', "the patient's Odoo")],
    ok: { status: 200, data: documentItem, list: true },
    errors: [400, 401, 403, 404, 429, 503],
  },
  {
    method: 'get',
    path: '/api/alerts',
    summary: 'Stock alerts with sent / failed / last attempt per channel',
    roles: ['farmacia', 'admin'],
    routeClass: 'read',
    params: [
      { name: 'open', in: 'query', schema: str({ enum: ['true', 'false'] }) },
      { name: 'medication', in: 'query', schema: str({ pattern: '^[1-9][0-9]{0,9}$' }) },
      limit,
      offset,
    ],
    ok: { status: 200, data: alert, list: true },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/api/alerts/{id}/deliveries',
    summary: 'One alert, its deliveries and every attempt',
    roles: ['farmacia', 'admin'],
    routeClass: 'read',
    params: [idParam('id', 'the alert')],
    ok: { status: 200, data: alert },
    errors: [400, 401, 403, 404, 429],
  },
  {
    method: 'post',
    path: '/api/alerts/{id}/replay',
    summary: 'Send a failed delivery again (202); a delivered one is refused (409)',
    roles: ['admin'],
    routeClass: 'admin',
    params: [idParam('id', 'the alert')],
    body: obj({ channel: str({ enum: ['email', 'odoo', 'webhook'] }), subscriberId: int({ minimum: 1 }) }, ['channel'], { additionalProperties: false }),
    ok: { status: 202, data: obj({ alertId: int(), channel: str(), state: str() }, ['alertId', 'channel', 'state']) },
    errors: [400, 401, 403, 404, 409, 413, 429],
  },
  {
    method: 'post',
    path: '/api/webhook-subscribers',
    summary: 'A webhook subscriber; its secret is made by the server and shown this once',
    roles: ['admin'],
    routeClass: 'admin',
    body: obj(
      {
        url: str({ format: 'uri', maxLength: 2000 }),
        eventTypes: { type: 'array', items: str({ enum: ['stock.low'] }), minItems: 1 },
        description: nullable(str({ maxLength: 255 })),
      },
      ['url'],
      { additionalProperties: false },
    ),
    ok: { status: 201, data: { ...subscriber, required: ['id', 'url', 'secret'], properties: { ...(subscriber.properties as Schema), secret: str() } } },
    errors: [400, 401, 403, 413, 429],
  },
  {
    method: 'get',
    path: '/api/webhook-subscribers',
    summary: 'The active webhook subscribers (never their secret)',
    roles: ['admin'],
    routeClass: 'admin',
    ok: { status: 200, data: subscriber, list: true },
    errors: [401, 403, 429],
  },
  {
    method: 'delete',
    path: '/api/webhook-subscribers/{id}',
    summary: 'Deactivate a subscriber (kept for the audit)',
    roles: ['admin'],
    routeClass: 'admin',
    params: [idParam('id', 'the subscriber')],
    ok: { status: 200, data: obj({ id: int(), deleted: { type: 'boolean' } }, ['id', 'deleted']) },
    errors: [400, 401, 403, 404, 429],
  },
];

const problem = obj(
  {
    type: str(),
    title: str(),
    status: int(),
    detail: str(),
    code: str(),
    correlationId: str(),
    problems: { type: 'array', items: str() },
  },
  ['type', 'title', 'status', 'code'],
);

const ERROR_TEXT: Record<number, string> = {
  400: 'The query or body is invalid (problems names each field)',
  401: 'No valid token',
  403: 'The token lacks the role',
  404: 'Not found',
  409: 'Conflicts with what exists',
  413: 'Body too large',
  422: 'Cannot be processed',
  429: 'Rate limit reached (Retry-After, RateLimit-* headers)',
  503: 'A backing system is unavailable (Retry-After)',
};

/** The OpenAPI 3.1 document (servers: where the caller reached it). */
export function openApiDocument(o: { serverUrl?: string; keycloakIssuer?: string; version?: string } = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const success: Schema =
      op.ok.raw ??
      (op.ok.list
        ? obj({ data: { type: 'array', items: op.ok.data }, page: obj({ limit: int(), offset: int(), count: int() }) }, ['data'])
        : obj({ data: op.ok.data as Schema }, ['data']));
    const responses: Record<string, unknown> = {
      [op.ok.status]: { description: op.ok.description ?? 'OK', content: { 'application/json': { schema: success } } },
    };
    if (op.ok.list) responses['304'] = { description: 'Not modified (If-None-Match matched the ETag)' };
    for (const status of op.errors) {
      responses[status] = {
        description: ERROR_TEXT[status] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[/-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
        summary: op.summary,
        ...(op.roles ? { security: [{ keycloak: [] }], 'x-clinica-roles': op.roles } : { security: [] }),
        'x-clinica-class': op.routeClass,
        ...(op.audit ? { 'x-clinica-audit': op.audit } : {}),
        parameters: [
          ...(op.params ?? []).map((p) => ({
            name: p.name,
            in: p.in,
            required: p.in === 'path' || !!p.required,
            schema: p.schema,
            description: p.description,
          })),
          { name: 'X-Correlation-Id', in: 'header', required: false, schema: str({ pattern: '^[A-Za-z0-9._-]{1,100}$' }) },
        ],
        ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
        responses,
      },
    };
  }
  const issuer = o.keycloakIssuer ?? 'https://keycloak.example/realms/clinica-realm';
  return {
    openapi: '3.1.0',
    info: {
      title: 'Clínica Universitaria · integration API',
      version: o.version ?? '0.1.0',
      description: 'Every route of the shipped flows behind Keycloak. Errors are RFC 9457 problem details with the correlation id.',
    },
    servers: [{ url: o.serverUrl ?? '/' }],
    paths,
    components: {
      schemas: { Problem: problem },
      securitySchemes: {
        keycloak: { type: 'openIdConnect', openIdConnectUrl: `${issuer}/.well-known/openid-configuration`, description: 'Keycloak bearer token (realm roles)' },
      },
    },
  };
}
