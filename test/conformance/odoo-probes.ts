/**
 * The Odoo 18 conformance probes: the same calls against the real Odoo and against the peer, each
 * observation reduced to what the pack depends on. Every probe creates its own records, named with the
 * run's tag, so it can run on a shared Odoo; automation rules it creates are deleted at its end.
 *
 * Topics: timestamps (microseconds stored, seconds over RPC, domains and order), methods returning
 * None, missing records, inventory adjustments (move names, the key that can be read back), the invoice
 * send wizard and the side-effect-free ways to an invoice PDF, archived records, error classes and
 * texts, and automation-rule webhooks.
 */
import { scheduleActivityOnce } from '../../nodes/clients/odoo/activity';
import { OdooClient } from '../../nodes/clients/odoo/client';
import type { KnownDifference, Probe, ProbeContext } from './runner';
import { tracebackTail } from './runner';
import {
  call,
  jsonrpc,
  kw,
  request,
  startHookReceiver,
  webSession,
  xkw,
  xmlrpc,
  type HookCall,
  type HookReceiver,
  type OdooTarget,
  type XmlOutcome,
} from './odoo-wire';

type Row = Record<string, unknown> & { id: number };
const NO_ACTIVE_TEST = { context: { active_test: false } };

// ------------------------------------------------------------------------------------------ helpers

const pad6 = (n: number) => String(n).padStart(6, '0');

/**
 * The value a datetime column holds, to the microsecond, recovered through domains alone (RPC gives the
 * second): a binary search on `field >= 'second.uuuuuu'`.
 */
async function storedDatetime(t: OdooTarget, model: string, id: number, field = 'write_date'): Promise<string> {
  const [row] = await kw<Row[]>(t, model, 'read', [[id], [field]]);
  const second = String(row[field]);
  let lo = 0;
  let hi = 999999;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const found = await kw<number[]>(
      t,
      model,
      'search',
      [
        [
          ['id', '=', id],
          [field, '>=', `${second}.${pad6(mid)}`],
        ],
      ],
      NO_ACTIVE_TEST,
    );
    if (found.length) lo = mid;
    else hi = mid - 1;
  }
  return `${second}.${pad6(lo)}`;
}

async function count(t: OdooTarget, model: string, domain: unknown[], context: Record<string, unknown> = { active_test: false }): Promise<number> {
  return kw<number>(t, model, 'search_count', [domain], { context });
}

/** A call's outcome in a comparable form: the value, or the error's class and message (first line for SQL errors). */
async function outcome(t: OdooTarget, model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> {
  const out = await call(t, model, method, args, kwargs);
  if (out.ok) return out.hasResult ? { result: out.value } : { noResult: true };
  return { error: out.failure.name, message: firstLineIfSql(out.failure) };
}

function firstLineIfSql(f: { name: string; message: string }): string {
  // psycopg2 adds the SQL around the error ("LINE 1: …"); that part is the database's, not Odoo's.
  return f.name.startsWith('psycopg2') ? f.message.split('\n')[0] : f.message;
}

function xmlOutcome(o: XmlOutcome): unknown {
  if (o.ok) return { result: o.value };
  return { faultCode: o.faultCode, fault: o.faultCode === 1 ? tracebackTail(o.faultString) : o.faultString };
}

async function adminName(t: OdooTarget, ctx: ProbeContext): Promise<string> {
  const [u] = await kw<Row[]>(t, 'res.users', 'read', [[t.uid], ['name']]);
  ctx.alias(String(u.name), '<user>');
  return String(u.name);
}

async function xmlid(t: OdooTarget, module: string, name: string): Promise<number> {
  const [row] = await kw<Row[]>(
    t,
    'ir.model.data',
    'search_read',
    [
      [
        ['module', '=', module],
        ['name', '=', name],
      ],
    ],
    { fields: ['res_id'], limit: 1 },
  );
  return row.res_id as number;
}

async function storableProduct(t: OdooTarget, name: string): Promise<number> {
  const version = await serverMajor(t);
  return kw<number>(t, 'product.product', 'create', [
    { name, default_code: name, ...(version >= 18 ? { type: 'consu', is_storable: true } : { type: 'product' }) },
  ]);
}

async function serverMajor(t: OdooTarget): Promise<number> {
  const { envelope } = await jsonrpc(t, 'common', 'version', []);
  return Number((envelope.result as { server_version_info: number[] }).server_version_info[0]);
}

async function postedInvoice(t: OdooTarget, name: string, email: string | false): Promise<{ move: number; partner: number }> {
  const partner = await kw<number>(t, 'res.partner', 'create', [{ name, email }]);
  const move = await kw<number>(t, 'account.move', 'create', [
    {
      move_type: 'out_invoice',
      partner_id: partner,
      invoice_date: '2025-06-30',
      invoice_line_ids: [[0, 0, { name: 'Consulta', quantity: 1, price_unit: 60 }]],
    },
  ]);
  await kw(t, 'account.move', 'action_post', [[move]]);
  return { move, partner };
}

async function invoiceState(t: OdooTarget, move: number, storedBefore?: string): Promise<Record<string, unknown>> {
  const [m] = await kw<Row[]>(t, 'account.move', 'read', [[move], ['is_move_sent', 'invoice_pdf_report_id', 'message_main_attachment_id']]);
  return {
    is_move_sent: m.is_move_sent,
    has_pdf_attachment: Boolean(m.invoice_pdf_report_id),
    main_attachment_is_the_pdf: Boolean(m.invoice_pdf_report_id) && JSON.stringify(m.message_main_attachment_id) === JSON.stringify(m.invoice_pdf_report_id),
    attachments_found_by_record: await count(
      t,
      'ir.attachment',
      [
        ['res_model', '=', 'account.move'],
        ['res_id', '=', move],
      ],
      {},
    ),
    field_attachments_found_with_res_field: await count(
      t,
      'ir.attachment',
      [
        ['res_model', '=', 'account.move'],
        ['res_id', '=', move],
        ['res_field', '!=', false],
      ],
      {},
    ),
    ...(storedBefore
      ? {
          write_date_unchanged:
            (await count(t, 'account.move', [
              ['id', '=', move],
              ['write_date', '=', storedBefore],
            ])) === 1,
        }
      : {}),
  };
}

async function messagesOf(t: OdooTarget, model: string, id: number, afterId = 0): Promise<unknown[]> {
  const rows = await kw<Row[]>(
    t,
    'mail.message',
    'search_read',
    [
      [
        ['model', '=', model],
        ['res_id', '=', id],
        ['id', '>', afterId],
      ],
    ],
    { fields: ['message_type', 'subtype_id', 'attachment_ids', 'partner_ids'], order: 'id' },
  );
  return rows.map((r) => ({
    message_type: r.message_type,
    subtype: Array.isArray(r.subtype_id) ? r.subtype_id[1] : false,
    attachments: (r.attachment_ids as number[]).length,
    recipients: (r.partner_ids as number[]).length,
  }));
}

async function lastMessageId(t: OdooTarget, model: string, id: number): Promise<number> {
  const ids = await kw<number[]>(
    t,
    'mail.message',
    'search',
    [
      [
        ['model', '=', model],
        ['res_id', '=', id],
      ],
    ],
    { order: 'id desc', limit: 1 },
  );
  return ids[0] ?? 0;
}

/** Writes the same JSON body with its record ids replaced by names (ids differ between systems). */
function bodyWithIds(body: string, names: Record<number, string>): string {
  return body
    .replace(/("(?:_id|id|country_id)": )(\d+)/g, (m, key: string, n: string) => (names[Number(n)] ? `${key}"${names[Number(n)]}"` : m))
    .replace(/\(#\d+\)"/g, '(#<action id>)"');
}

async function withRule<R>(t: OdooTarget, rules: Array<Record<string, unknown>>, body: (ruleIds: number[]) => Promise<R>): Promise<R> {
  const ids: number[] = [];
  try {
    for (const r of rules) ids.push(await kw<number>(t, 'base.automation', 'create', [r]));
    return await body(ids);
  } finally {
    if (ids.length) await call(t, 'base.automation', 'unlink', [ids]);
  }
}

/**
 * A res.partner automation rule with one webhook action posting to a receiver of this run (its path is
 * /<letter>, its fields `send`), for the time of `body`; the rule is deleted afterwards.
 */
async function withWebhookRule<R>(
  t: OdooTarget,
  ctx: ProbeContext,
  letter: string,
  rule: Record<string, unknown>,
  send: string[],
  body: (h: {
    rule: number;
    hooks: HookReceiver;
    step: (label: string, fn: () => Promise<unknown>) => Promise<void>;
    steps: Record<string, number>;
  }) => Promise<R>,
  delays: Record<string, number> = {},
): Promise<R> {
  const hooks = await startHookReceiver(t.hookHost);
  try {
    for (const [path, ms] of Object.entries(delays)) hooks.delays.set(path, ms);
    const model = await modelId(t, 'res.partner');
    const fields = send.length ? await fieldIds(t, 'res.partner', send) : [];
    return await withRule(
      t,
      [
        {
          name: `${ctx.tag} rule ${letter}`,
          model_id: model,
          ...rule,
          action_server_ids: [
            [
              0,
              0,
              {
                name: `${ctx.tag} action ${letter}`,
                model_id: model,
                state: 'webhook',
                webhook_url: hooks.url(`/${letter}`),
                ...(fields.length ? { webhook_field_ids: [[6, 0, fields]] } : {}),
              },
            ],
          ],
        },
      ],
      async ([id]) => {
        const steps: Record<string, number> = {};
        // How many webhooks each step caused.
        const step = async (label: string, fn: () => Promise<unknown>) => {
          const before = hooks.calls.length;
          await fn();
          steps[label] = hooks.calls.length - before;
        };
        return body({ rule: id, hooks, step, steps });
      },
    );
  } finally {
    await hooks.stop();
  }
}

async function fieldIds(t: OdooTarget, model: string, names: string[]): Promise<number[]> {
  const rows = await kw<Row[]>(
    t,
    'ir.model.fields',
    'search_read',
    [
      [
        ['model', '=', model],
        ['name', 'in', names],
      ],
    ],
    { fields: ['name'] },
  );
  return names.map((n) => (rows.find((r) => r.name === n) as Row).id);
}

async function modelId(t: OdooTarget, model: string): Promise<number> {
  return (await kw<number[]>(t, 'ir.model', 'search', [[['model', '=', model]]]))[0];
}

const HEADERS_SENT = ['user-agent', 'content-type', 'accept', 'accept-encoding', 'connection'];

function hookView(c: HookCall, ids: Record<number, string>): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const h of HEADERS_SENT) headers[h] = h === 'user-agent' ? String(c.headers[h] ?? '').replace(/\/[\d.]+$/, '/<version>') : c.headers[h];
  return { body: bodyWithIds(c.body, ids), headers, during: c.during };
}

function elapsedBucket(ms: number): string {
  return ms < 900 ? 'under 0.9 s' : ms < 2500 ? '0.9 to 2.5 s' : 'over 2.5 s';
}

// -------------------------------------------------------------------------------------------- probes

export const ODOO_PROBES: Array<Probe<OdooTarget>> = [
  // ----------------------------------------------------------------------------------- timestamps
  {
    name: 'timestamps.rpc-second',
    about: 'create_date / write_date over JSON-RPC read, XML-RPC read and search_read: to the second',
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} ts` }]);
      const [j] = await kw<Row[]>(t, 'res.partner', 'read', [[id], ['create_date', 'write_date']]);
      const x = await xkw(t, 'res.partner', 'read', [[id], ['create_date', 'write_date']]);
      const [sr] = await kw<Row[]>(t, 'res.partner', 'search_read', [[['id', '=', id]]], { fields: ['write_date'] });
      const xr = x.ok ? (x.value as Row[])[0] : undefined;
      return {
        jsonrpc: [j.create_date, j.write_date],
        xmlrpc: [xr?.create_date, xr?.write_date],
        search_read: sr.write_date,
        create_equals_write: j.create_date === j.write_date,
      };
    },
  },
  {
    name: 'timestamps.stored-microseconds',
    about: 'the stored write_date has microseconds: domains on the RPC second match with > and >=, never with =',
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} us` }]);
      const [r] = await kw<Row[]>(t, 'res.partner', 'read', [[id], ['write_date']]);
      const second = String(r.write_date);
      const n = async (op: string, value: unknown) =>
        count(t, 'res.partner', [
          ['id', '=', id],
          ['write_date', op, value],
        ]);
      const stored = await storedDatetime(t, 'res.partner', id);
      return {
        'write_date = second': await n('=', second),
        'write_date > second': await n('>', second),
        'write_date >= second': await n('>=', second),
        'write_date < second': await n('<', second),
        'write_date <= second': await n('<=', second),
        'stored value': stored,
        'stored value has non-zero microseconds': !stored.endsWith('.000000'),
        'write_date = stored': await n('=', stored),
        'write_date > stored': await n('>', stored),
        'write_date in [second]': await n('in', [second]),
        'write_date in [stored]': await n('in', [stored]),
        'create_date = stored': await count(t, 'res.partner', [
          ['id', '=', id],
          ['create_date', '=', stored],
        ]),
      };
    },
  },
  {
    name: 'timestamps.one-per-transaction',
    about: 'every record written by one call gets the same write_date (the transaction start); the next call a later one',
    run: async (t, ctx) => {
      const ids = await kw<number[]>(t, 'res.partner', 'create', [[{ name: `${ctx.tag} tx1` }, { name: `${ctx.tag} tx2` }]]);
      const a = await storedDatetime(t, 'res.partner', ids[0]);
      const b = await storedDatetime(t, 'res.partner', ids[1]);
      await kw(t, 'res.partner', 'write', [[ids[1]], { phone: '1' }]);
      const c = await storedDatetime(t, 'res.partner', ids[1]);
      await kw(t, 'res.partner', 'write', [ids, { phone: '2' }]);
      const d0 = await storedDatetime(t, 'res.partner', ids[0]);
      const d1 = await storedDatetime(t, 'res.partner', ids[1]);
      return { 'created together, same value': a === b, 'a later call, a later value': c > b, 'written together, same value': d0 === d1 && d0 > c };
    },
  },
  {
    name: 'timestamps.domain-date-only',
    about: "a date-only value on a datetime: 'YYYY-MM-DD' becomes 23:59:59 for > and <=, 00:00:00 otherwise",
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} day` }]);
      const [r] = await kw<Row[]>(t, 'res.partner', 'read', [[id], ['write_date']]);
      const day = String(r.write_date).slice(0, 10);
      const out: Record<string, number> = {};
      for (const op of ['=', '!=', '>', '>=', '<', '<='])
        out[`write_date ${op} day`] = await count(t, 'res.partner', [
          ['id', '=', id],
          ['write_date', op, day],
        ]);
      return out;
    },
  },
  {
    name: 'timestamps.domain-formats',
    about: "domain values PostgreSQL accepts ('T', time zones, minutes) or refuses (class and first line of the error)",
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} fmt` }]);
      const stored = await storedDatetime(t, 'res.partner', id);
      const second = stored.slice(0, 19);
      const probe = async (op: string, value: unknown) => {
        const out = await call(t, 'res.partner', 'search_count', [
          [
            ['id', '=', id],
            ['write_date', op, value],
          ],
        ]);
        return out.ok ? out.value : `${out.failure.name}: ${firstLineIfSql(out.failure)}`;
      };
      return {
        "T separator, '>='": await probe('>=', second.replace(' ', 'T')),
        "T separator, '='": await probe('=', stored.replace(' ', 'T')),
        "'+02:00' suffix, '>'": await probe('>', `${second}+02:00`),
        "'Z' suffix, '>'": await probe('>', `${second}Z`),
        "minutes only, '>'": await probe('>', second.slice(0, 16)),
        "3 fraction digits, '>'": await probe('>', `${second}.000`),
        "'garbage'": await probe('>', 'garbage'),
        'empty string': await probe('>', ''),
        'month 13': await probe('>', '2025-13-01 00:00:00'),
        'a number': await probe('>', 12345),
        "False with '>'": await probe('>', false),
        "False with '='": await probe('=', false),
        "False with '!='": await probe('!=', false),
      };
    },
  },
  {
    name: 'timestamps.order',
    about: "order 'write_date asc, id asc' uses the microseconds: a record written later in the same second sorts last",
    run: async (t, ctx) => {
      for (let attempt = 0; attempt < 8; attempt++) {
        const a = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} ord A${attempt}` }]);
        const b = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} ord B${attempt}` }]);
        await kw(t, 'res.partner', 'write', [[a], { phone: 'later' }]);
        const rows = await kw<Row[]>(t, 'res.partner', 'read', [[a, b], ['write_date']]);
        if (rows[0].write_date !== rows[1].write_date) continue; // the second turned between the calls: again
        const names = async (order: string) =>
          (await kw<Row[]>(t, 'res.partner', 'search_read', [[['id', 'in', [a, b]]]], { fields: ['name'], order })).map((r) => String(r.name).slice(-2, -1));
        return {
          'same RPC second': true,
          'write_date asc, id asc': await names('write_date asc, id asc'),
          'write_date desc, id desc': await names('write_date desc, id desc'),
        };
      }
      throw new Error('could not write three times within one second');
    },
  },
  {
    name: 'timestamps.datetime-field-write',
    about: "writing a datetime field: fields.Datetime.to_datetime's formats and strptime's errors",
    run: async (t, ctx) => {
      const ev = await kw<number>(t, 'calendar.event', 'create', [{ name: `${ctx.tag} ev`, start: '2025-06-01 08:00:00', stop: '2025-06-01 18:00:00' }]);
      const out: Record<string, unknown> = {};
      for (const v of [
        '2025-06-01 10:00:00',
        '2025-06-01 10:00',
        '2025-06-01 10',
        '2025-06-01',
        '2025-06-01 10:00:00.5',
        '2025-06-01T10:00:00',
        '2025-06-01 10:00:00+02:00',
      ]) {
        const res = await call(t, 'calendar.event', 'write', [[ev], { start: v }]);
        out[v] = res.ok ? (await kw<Row[]>(t, 'calendar.event', 'read', [[ev], ['start']]))[0].start : `${res.failure.name}: ${res.failure.message}`;
      }
      return out;
    },
  },

  // ------------------------------------------------------------------------------ methods returning None
  {
    name: 'void.jsonrpc',
    about: 'action_archive / action_unarchive over JSON-RPC: an envelope without result, the change committed',
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} void` }]);
      const archive = await jsonrpc(t, 'object', 'execute_kw', [t.db, t.uid, t.password, 'res.partner', 'action_archive', [[id]]]);
      const afterArchive = (await kw<Row[]>(t, 'res.partner', 'read', [[id], ['active']]))[0].active;
      const stored = await storedDatetime(t, 'res.partner', id);
      const again = await jsonrpc(t, 'object', 'execute_kw', [t.db, t.uid, t.password, 'res.partner', 'action_archive', [[id]]]);
      const unchanged =
        (await count(t, 'res.partner', [
          ['id', '=', id],
          ['write_date', '=', stored],
        ])) === 1;
      const unarchive = await jsonrpc(t, 'object', 'execute_kw', [t.db, t.uid, t.password, 'res.partner', 'action_unarchive', [[id]]]);
      const afterUnarchive = (await kw<Row[]>(t, 'res.partner', 'read', [[id], ['active']]))[0].active;
      return {
        'archive: envelope keys': Object.keys(archive.envelope).sort(),
        'archive: HTTP status': archive.status,
        'active after archive': afterArchive,
        'archive again: envelope keys': Object.keys(again.envelope).sort(),
        'archive again leaves write_date': unchanged,
        'unarchive: envelope keys': Object.keys(unarchive.envelope).sort(),
        'active after unarchive': afterUnarchive,
      };
    },
  },
  {
    name: 'void.xmlrpc',
    about: 'the same over XML-RPC: fault 1 "cannot marshal None", after the change was committed',
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} voidx` }]);
      const archive = xmlOutcome(await xkw(t, 'res.partner', 'action_archive', [[id]]));
      const active = (await kw<Row[]>(t, 'res.partner', 'read', [[id], ['active']]))[0].active;
      const v1 = await xmlrpc(t, 'object', 'execute_kw', [t.db, t.uid, t.password, 'res.partner', 'action_unarchive', [[id]]], true);
      return {
        archive,
        'active after archive': active,
        'unarchive over /xmlrpc (v1): fault code is the exception text': v1.ok ? 'no fault' : String(v1.faultCode).split('\n').pop(),
        'active after unarchive': (await kw<Row[]>(t, 'res.partner', 'read', [[id], ['active']]))[0].active,
      };
    },
  },
  {
    name: 'void.no-active-field',
    about: 'action_archive on a model without active: AssertionError',
    run: async (t) => outcome(t, 'account.move.line', 'action_archive', [[]]),
  },
  {
    name: 'returns.values',
    about: 'what create (dict / list), write, message_post, action_post, button_draft / button_cancel, toggle_active, unlink and search_count return',
    run: async (t, ctx) => {
      const one = await call(t, 'res.partner', 'create', [{ name: `${ctx.tag} r1` }]);
      const list = await call(t, 'res.partner', 'create', [[{ name: `${ctx.tag} r2` }]]);
      const id = one.ok ? (one.value as number) : 0;
      const write = await call(t, 'res.partner', 'write', [[id], { phone: '1' }]);
      const post = await call(t, 'res.partner', 'message_post', [[id]], { body: 'hola' });
      const xpost = await xkw(t, 'res.partner', 'message_post', [[id]], { body: 'hola' });
      const partner = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} r3` }]);
      const move = await kw<number>(t, 'account.move', 'create', [
        { move_type: 'out_invoice', partner_id: partner, invoice_line_ids: [[0, 0, { name: 'x', quantity: 1, price_unit: 1 }]] },
      ]);
      const actionPost = await call(t, 'account.move', 'action_post', [[move]]);
      const buttonDraft = await call(t, 'account.move', 'button_draft', [[move]]);
      const buttonCancel = await call(t, 'account.move', 'button_cancel', [[move]]);
      const toggle = await call(t, 'res.partner', 'toggle_active', [[id]]);
      const unlink = await call(t, 'res.partner', 'unlink', [list.ok ? (list.value as number[]) : []]);
      const typeOf = (o: { ok: boolean; value?: unknown; hasResult?: boolean }) =>
        !o.ok
          ? 'error'
          : o.hasResult === false
            ? 'no result (None)'
            : Array.isArray(o.value)
              ? `list of ${(o.value as unknown[]).length} ${typeof (o.value as unknown[])[0]}`
              : typeof o.value === 'number'
                ? 'integer'
                : JSON.stringify(o.value);
      return {
        'create(dict)': typeOf(one),
        'create([dict])': typeOf(list),
        write: typeOf(write),
        'message_post (JSON-RPC)': typeOf(post),
        'message_post (XML-RPC)': xpost.ok ? typeof xpost.value : 'fault',
        action_post: typeOf(actionPost),
        button_draft: typeOf(buttonDraft),
        button_cancel: typeOf(buttonCancel),
        toggle_active: typeOf(toggle),
        unlink: typeOf(unlink),
        search_count: typeOf(await call(t, 'res.partner', 'search_count', [[['id', '=', id]]])),
      };
    },
  },

  // ------------------------------------------------------------------------------------ missing records
  {
    name: 'missing.read',
    about: 'read of a missing id: left out of the answer, no error; duplicates kept',
    run: async (t, ctx) => {
      const id = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} m` }]);
      const names = async (ids: number[]) => (await kw<Row[]>(t, 'res.partner', 'read', [ids, ['name']])).map((r) => r.name);
      const x = await xkw(t, 'res.partner', 'read', [[999999999], ['name']]);
      return {
        'read [missing] (JSON-RPC)': await names([999999999]),
        'read [missing] (XML-RPC)': x.ok ? x.value : 'fault',
        'read [id, missing, id]': await names([id, 999999999, id]),
      };
    },
  },
  {
    name: 'missing.write-unlink',
    about: 'write / unlink of missing ids: MissingError naming the first one (JSON-RPC class, XML-RPC fault 2)',
    run: async (t, ctx) => {
      ctx.alias(`User: ${t.uid})`, 'User: <uid>)');
      return {
        write: await outcome(t, 'res.partner', 'write', [[999999990, 999999991], { name: 'x' }]),
        unlink: await outcome(t, 'res.partner', 'unlink', [[999999992, 999999993]]),
        'write (XML-RPC)': xmlOutcome(await xkw(t, 'res.partner', 'write', [[999999990], { name: 'x' }])),
        'exists()': await kw(t, 'res.partner', 'exists', [[999999990]]),
      };
    },
  },

  // ---------------------------------------------------------------------------------------- inventory
  {
    name: 'inventory.adjustment-moves',
    about:
      'quant counts applied: the move name (inventory_name, user suffix, Updated/Confirmed), reference, origin from default_origin, move lines, the quant afterwards',
    run: async (t, ctx) => {
      const user = await adminName(t, ctx);
      const stock = await xmlid(t, 'stock', 'stock_location_stock');
      const product = await storableProduct(t, `${ctx.tag}-MED`);
      const moves = async () => {
        const rows = await kw<Row[]>(t, 'stock.move', 'search_read', [[['product_id', '=', product]]], {
          fields: [
            'name',
            'reference',
            'origin',
            'state',
            'is_inventory',
            'picked',
            'product_uom_qty',
            'quantity',
            'location_id',
            'location_dest_id',
            'move_line_ids',
          ],
          order: 'id',
        });
        const out = [];
        for (const r of rows) {
          const usage = async (loc: unknown) => (await kw<Row[]>(t, 'stock.location', 'read', [[(loc as [number, string])[0]], ['usage']]))[0].usage;
          const lines = await kw<Row[]>(t, 'stock.move.line', 'read', [r.move_line_ids, ['reference', 'origin', 'quantity', 'state']]);
          out.push({
            name: r.name,
            reference: r.reference,
            origin: r.origin,
            state: r.state,
            is_inventory: r.is_inventory,
            picked: r.picked,
            product_uom_qty: r.product_uom_qty,
            quantity: r.quantity,
            from: await usage(r.location_id),
            to: await usage(r.location_dest_id),
            lines: lines.map((l) => ({ reference: l.reference, origin: l.origin, quantity: l.quantity, state: l.state })),
          });
        }
        return out;
      };
      const quant = async (id: number) => {
        const [q] = await kw<Row[]>(t, 'stock.quant', 'read', [
          [id],
          ['quantity', 'inventory_quantity', 'inventory_quantity_set', 'inventory_diff_quantity', 'user_id', 'inventory_date'],
        ]);
        return {
          ...q,
          id: undefined,
          user_id: Array.isArray(q.user_id) ? q.user_id[1] : q.user_id,
          inventory_date: typeof q.inventory_date === 'string' ? `${q.inventory_date.endsWith('-12-31') ? '31 December' : 'another day'}` : q.inventory_date,
        };
      };
      const inv = { inventory_mode: true };
      // 1. A count through create (inventory mode): the quant is assigned to the user.
      const q = await kw<number>(t, 'stock.quant', 'create', [{ product_id: product, location_id: stock, inventory_quantity: 10 }], { context: inv });
      const counted = await quant(q);
      const apply1 = await jsonrpc(t, 'object', 'execute_kw', [
        t.db,
        t.uid,
        t.password,
        'stock.quant',
        'action_apply_inventory',
        [[q]],
        { context: { ...inv, inventory_name: `${ctx.tag}-1`, default_origin: `${ctx.tag}-key-1` } },
      ]);
      const applied = await quant(q);
      // 2. A count through write (no user on the quant any more), applied over XML-RPC.
      await kw(t, 'stock.quant', 'write', [[q], { inventory_quantity: 7 }], { context: inv });
      const written = await quant(q);
      const apply2 = xmlOutcome(
        await xkw(t, 'stock.quant', 'action_apply_inventory', [[q]], {
          context: { ...inv, inventory_name: `${ctx.tag}-2`, default_origin: `${ctx.tag}-key-2` },
        }),
      );
      // 3. The same quantity again, no name: "Confirmed", nothing moved.
      await kw(t, 'stock.quant', 'write', [[q], { inventory_quantity: 7 }], { context: inv });
      await call(t, 'stock.quant', 'action_apply_inventory', [[q]], { context: inv });
      // 4. A count through create again, no name: "Updated (<user>)".
      await kw(t, 'stock.quant', 'create', [{ product_id: product, location_id: stock, inventory_quantity: 9 }], { context: inv });
      await call(t, 'stock.quant', 'action_apply_inventory', [[q]], { context: inv });
      const [p] = await kw<Row[]>(t, 'product.product', 'read', [[product], ['qty_available']]);
      void user;
      return {
        'after a count by create': counted,
        'apply (JSON-RPC): envelope keys': Object.keys(apply1.envelope).sort(),
        'after apply': applied,
        'after a count by write': written,
        'apply (XML-RPC)': apply2,
        moves: await moves(),
        qty_available: p.qty_available,
        'moves found by origin = key': await count(t, 'stock.move', [['origin', '=', `${ctx.tag}-key-1`]]),
        'moves found by reference = inventory_name': await count(t, 'stock.move', [['reference', '=', `${ctx.tag}-1`]]),
        'moves found by name = inventory_name': await count(t, 'stock.move', [['name', '=', `${ctx.tag}-1`]]),
      };
    },
  },

  // -------------------------------------------------------------------------------------- invoice PDF
  {
    name: 'invoice.send-wizard-no-method',
    about: 'account.move.send.wizard with sending_methods [] (what the PDF node does): what changes on the invoice',
    run: async (t, ctx) => {
      const { move, partner } = await postedInvoice(t, `${ctx.tag} inv1`, `${ctx.tag.toLowerCase()}@example.com`);
      const [m] = await kw<Row[]>(t, 'account.move', 'read', [[move], ['name']]);
      ctx.alias(String(m.name).replace(/\//g, '_'), '<INV_name>');
      const stored = await storedDatetime(t, 'account.move', move);
      const before = await invoiceState(t, move, stored);
      const lastMsg = await lastMessageId(t, 'account.move', move);
      const context = { active_model: 'account.move', active_ids: [move] };
      const wizard = await kw<number>(t, 'account.move.send.wizard', 'create', [{ sending_methods: [] }], { context });
      const result = await kw(t, 'account.move.send.wizard', 'action_send_and_print', [[wizard]], { context });
      const after = await invoiceState(t, move, stored);
      const [moved] = await kw<Row[]>(t, 'account.move', 'read', [[move], ['invoice_pdf_report_id']]);
      const pdfId = (moved.invoice_pdf_report_id as [number, string])[0];
      const [att] = await kw<Row[]>(t, 'ir.attachment', 'read', [[pdfId], ['name', 'res_model', 'res_field', 'mimetype']]);
      const [pp] = await kw<Row[]>(t, 'res.partner', 'read', [[partner], ['invoice_sending_method']]);
      return {
        before,
        result,
        after,
        attachment: { ...att, id: undefined },
        'new chatter messages': await messagesOf(t, 'account.move', move, lastMsg),
        'mails queued': await count(
          t,
          'mail.mail',
          [
            ['model', '=', 'account.move'],
            ['res_id', '=', move],
          ],
          {},
        ),
        'partner invoice_sending_method': pp.invoice_sending_method,
      };
    },
  },
  {
    name: 'invoice.send-wizard-email',
    about: "the wizard's defaults (e-mail, even without an address) and sending by e-mail: message, queued mail, partner preference",
    run: async (t, ctx) => {
      const noMail = await postedInvoice(t, `${ctx.tag} inv2a`, false);
      const w0 = await kw<number>(t, 'account.move.send.wizard', 'create', [{}], { context: { active_model: 'account.move', active_ids: [noMail.move] } });
      const [defaults] = await kw<Row[]>(t, 'account.move.send.wizard', 'read', [[w0], ['sending_methods']]);
      const { move, partner } = await postedInvoice(t, `${ctx.tag} inv2`, `${ctx.tag.toLowerCase()}.2@example.com`);
      const lastMsg = await lastMessageId(t, 'account.move', move);
      const context = { active_model: 'account.move', active_ids: [move] };
      const wizard = await kw<number>(t, 'account.move.send.wizard', 'create', [{}], { context });
      const result = await kw(t, 'account.move.send.wizard', 'action_send_and_print', [[wizard]], { context });
      const [pp] = await kw<Row[]>(t, 'res.partner', 'read', [[partner], ['invoice_sending_method']]);
      const mails = await kw<Row[]>(
        t,
        'mail.mail',
        'search_read',
        [
          [
            ['model', '=', 'account.move'],
            ['res_id', '=', move],
          ],
        ],
        { fields: ['recipient_ids', 'attachment_ids'] },
      );
      // Sending again with "download" only: the stored PDF is offered, the invoice is written again.
      const stored = await storedDatetime(t, 'account.move', move);
      const w2 = await kw<number>(t, 'account.move.send.wizard', 'create', [{ sending_methods: ['manual'] }], { context });
      const again = await kw<Record<string, unknown>>(t, 'account.move.send.wizard', 'action_send_and_print', [[w2]], { context });
      return {
        'default sending_methods (partner without e-mail)': defaults.sending_methods,
        result,
        after: await invoiceState(t, move),
        'new chatter messages': await messagesOf(t, 'account.move', move, lastMsg),
        'mails queued': mails.map((x) => ({ recipients: (x.recipient_ids as number[]).length, attachments: (x.attachment_ids as number[]).length })),
        'partner invoice_sending_method': pp.invoice_sending_method,
        'download again: result': { ...again, url: String(again.url).replace(/\d+/g, '<id>') },
        'download again: write_date unchanged':
          (await count(t, 'account.move', [
            ['id', '=', move],
            ['write_date', '=', stored],
          ])) === 1,
      };
    },
  },
  {
    name: 'invoice.send-wizard-refusals',
    about: 'the wizard refuses a draft invoice and needs active_ids in the context',
    run: async (t, ctx) => {
      const partner = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} inv3` }]);
      const draft = await kw<number>(t, 'account.move', 'create', [
        { move_type: 'out_invoice', partner_id: partner, invoice_line_ids: [[0, 0, { name: 'x', quantity: 1, price_unit: 1 }]] },
      ]);
      return {
        draft: await outcome(t, 'account.move.send.wizard', 'create', [{}], { context: { active_model: 'account.move', active_ids: [draft] } }),
        'no context': await outcome(t, 'account.move.send.wizard', 'create', [{}]),
      };
    },
  },
  {
    name: 'invoice.pdf-without-side-effects',
    about: 'the invoice PDF through /report/pdf and /account/download_invoice_documents (web session): nothing changes',
    run: async (t, ctx) => {
      const { move } = await postedInvoice(t, `${ctx.tag} inv4`, false);
      const [m] = await kw<Row[]>(t, 'account.move', 'read', [[move], ['name']]);
      ctx.alias(String(m.name).replace(/\//g, '_'), '<INV_name>');
      ctx.alias(String(move), '<move id>');
      const stored = await storedDatetime(t, 'account.move', move);
      const anonymous = await request(`${t.url}/report/pdf/account.report_invoice/${move}`, 'GET');
      const login = await webSession(t);
      const cookie = { Cookie: `session_id=${login.session ?? ''}` };
      const view = (r: { status: number; headers: Record<string, unknown>; body: Buffer }) => ({
        status: r.status,
        'content-type': r.headers['content-type'],
        'content-disposition': r.headers['content-disposition'],
        pdf: r.body.subarray(0, 5).toString('latin1') === '%PDF-',
      });
      const report = await request(`${t.url}/report/pdf/account.report_invoice/${move}`, 'GET', undefined, cookie);
      const download = await request(`${t.url}/account/download_invoice_documents/${move}/pdf`, 'GET', undefined, cookie);
      return {
        'without a session': { status: anonymous.status, location: anonymous.headers.location },
        'web login with the password': login.ok,
        '/report/pdf/account.report_invoice/<id>': view(report),
        '/account/download_invoice_documents/<id>/pdf': view(download),
        after: await invoiceState(t, move, stored),
      };
    },
  },
  {
    name: 'invoice.portal-pdf',
    about: 'get_portal_url (RPC, API key enough) writes an access token once; the portal serves the PDF without a session',
    run: async (t, ctx) => {
      const { move } = await postedInvoice(t, `${ctx.tag} inv5`, false);
      ctx.alias(String(move), '<move id>');
      const stored = await storedDatetime(t, 'account.move', move);
      const url = await kw<string>(t, 'account.move', 'get_portal_url', [[move]]);
      const changed =
        (await count(t, 'account.move', [
          ['id', '=', move],
          ['write_date', '=', stored],
        ])) === 0;
      const stored2 = await storedDatetime(t, 'account.move', move);
      const url2 = await kw<string>(t, 'account.move', 'get_portal_url', [[move]]);
      const pdf = await request(`${t.url}${url}&report_type=pdf`, 'GET');
      return {
        url: url.replace(/access_token=[0-9a-f-]{36}/, 'access_token=<uuid>'),
        'first call writes the invoice': changed,
        'second call, same url': url2 === url,
        'second call writes':
          (await count(t, 'account.move', [
            ['id', '=', move],
            ['write_date', '=', stored2],
          ])) === 0,
        'portal PDF': { status: pdf.status, 'content-type': pdf.headers['content-type'], pdf: pdf.body.subarray(0, 5).toString('latin1') === '%PDF-' },
        after: await invoiceState(t, move),
        'private renderer over RPC': await outcome(t, 'ir.actions.report', '_render_qweb_pdf', ['account.report_invoice', [move]]),
      };
    },
  },

  // ----------------------------------------------------------------------------------------- archived
  {
    name: 'active.hidden',
    about: 'archived records: hidden from search unless active_test is off or the domain names active; read and filters',
    run: async (t, ctx) => {
      const name = `${ctx.tag} archived`;
      const id = await kw<number>(t, 'res.partner', 'create', [{ name }]);
      await kw(t, 'res.partner', 'write', [[id], { active: false }]);
      const n = async (domain: unknown[], context: Record<string, unknown> = {}) => kw<number>(t, 'res.partner', 'search_count', [domain], { context });
      const byName = ['name', '=', name];
      return {
        'search by name': await n([byName]),
        'active_test False': await n([byName], { active_test: false }),
        "['active', '=', False]": await n([byName, ['active', '=', false]]),
        "['active', 'in', [True, False]]": await n([byName, ['active', 'in', [true, false]]]),
        "'|' with an active leaf": await n(['|', ['active', '=', false], ['id', '=', 0], byName]),
        "active nested in '!'": await n([byName, '!', ['active', '=', true]]),
        'read by id': (await kw<Row[]>(t, 'res.partner', 'read', [[id], ['active']])).map((r) => r.active),
        name_search: (await kw<unknown[]>(t, 'res.partner', 'name_search', [name])).length,
        'search_read, limit 1': (await kw<Row[]>(t, 'res.partner', 'search_read', [[byName]], { fields: ['name'], limit: 1 })).length,
      };
    },
  },

  // ------------------------------------------------------------------------------------------- errors
  {
    name: 'errors.constraints',
    about: '@api.constrains and required-field violations over JSON-RPC (class) and XML-RPC (fault code, text)',
    run: async (t, ctx) => {
      const badEvent = [{ name: `${ctx.tag} bad`, start: '2025-06-02 10:00:00', stop: '2025-06-01 10:00:00' }];
      return {
        'calendar stop before start (JSON-RPC)': await outcome(t, 'calendar.event', 'create', badEvent),
        'calendar stop before start (XML-RPC)': xmlOutcome(await xkw(t, 'calendar.event', 'create', badEvent)),
        'contact without name (JSON-RPC)': await outcome(t, 'res.partner', 'create', [{ email: 'x@example.com' }]),
        'contact without name (XML-RPC)': xmlOutcome(await xkw(t, 'res.partner', 'create', [{ email: 'x@example.com' }])),
      };
    },
  },
  {
    name: 'errors.login',
    about: 'wrong database and wrong password, on object and common services, both protocols',
    run: async (t) => {
      const server = (s: string) => s.replace(/connection to server (at "[^"]*", port \d+|on socket "[^"]*") failed/, 'connection to server <where> failed');
      const db = `${t.db}_nope`;
      const wrongDbJson = await jsonrpc(t, 'object', 'execute_kw', [db, t.uid, t.password, 'res.partner', 'search', [[]]]);
      const err = wrongDbJson.envelope.error as { data: { name: string; message: string } };
      const wrongDbXml = await xmlrpc(t, 'object', 'execute_kw', [db, t.uid, t.password, 'res.partner', 'search', [[]]]);
      const wrongDbAuth = await xmlrpc(t, 'common', 'authenticate', [db, t.login, t.password, {}]);
      const badPass = await jsonrpc(t, 'object', 'execute_kw', [t.db, t.uid, 'not-the-password', 'res.partner', 'search', [[]]]);
      const badErr = badPass.envelope.error as { data: { name: string; message: string } };
      return {
        'wrong database (JSON-RPC)': { name: err.data.name, message: server(err.data.message) },
        'wrong database (XML-RPC)': wrongDbXml.ok ? 'no fault' : { faultCode: wrongDbXml.faultCode, fault: server(tracebackTail(wrongDbXml.faultString)) },
        'wrong database (common.authenticate)': wrongDbAuth.ok
          ? wrongDbAuth.value
          : { faultCode: wrongDbAuth.faultCode, fault: server(tracebackTail(wrongDbAuth.faultString)) },
        'wrong password (JSON-RPC)': { name: badErr.data.name, message: badErr.data.message },
        'wrong password (XML-RPC)': xmlOutcome(await xmlrpc(t, 'object', 'execute_kw', [t.db, t.uid, 'not-the-password', 'res.partner', 'search', [[]]])),
        'wrong password (common.authenticate)': xmlOutcome(await xmlrpc(t, 'common', 'authenticate', [t.db, t.login, 'not-the-password', {}])),
      };
    },
  },
  {
    name: 'errors.calls',
    about: 'unknown model, method, field (domain, read, write, order), private method, unknown keyword',
    run: async (t) => {
      const both = async (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) => ({
        jsonrpc: await outcome(t, model, method, args, kwargs),
        xmlrpc: xmlOutcome(await xkw(t, model, method, args, kwargs)),
      });
      return {
        'unknown model': await both('x_no.such.model', 'search', [[]]),
        'unknown method': await both('res.partner', 'no_such_method', [[1]]),
        'private method': await both('res.partner', '_get_gravatar_image', [[1], 'x@example.com']),
        'private name that does not exist': await both('res.partner', '_no_such_method', [[1]]),
        'unknown field in a domain': await outcome(t, 'res.partner', 'search', [[['no_field', '=', 1]]]),
        'unknown field in read': await outcome(t, 'res.partner', 'read', [[1], ['no_field']]),
        'unknown field in write': await outcome(t, 'res.partner', 'write', [[1], { no_field: 1 }]),
        'unknown field in order': await outcome(t, 'res.partner', 'search', [[]], { order: 'no_field' }),
        'unknown keyword': await outcome(t, 'res.partner', 'search', [[]], { bogus: 1 }),
        'bad operator': await outcome(t, 'res.partner', 'search', [[['name', 'like like', 'x']]]),
      };
    },
  },
  {
    name: 'errors.http',
    about: 'JSON-2 on Odoo 18 (a redirect to the login), /web/version, a /jsonrpc body that is not JSON',
    run: async (t) => {
      const j2 = await request(`${t.url}/json/2/res.partner/search`, 'POST', '{"domain": []}', {
        'Content-Type': 'application/json',
        Authorization: 'bearer not-a-key',
      });
      const version = await request(`${t.url}/web/version`, 'GET');
      const notJson = await request(`${t.url}/jsonrpc`, 'POST', 'not json', { 'Content-Type': 'application/json' });
      return {
        'POST /json/2/res.partner/search': { status: j2.status, location: j2.headers.location, 'content-type': j2.headers['content-type'] },
        'GET /web/version': version.status,
        'POST /jsonrpc with a non-JSON body': notJson.status,
      };
    },
  },

  // ----------------------------------------------------------------------------------------- webhooks
  {
    name: 'webhooks.create-and-write',
    about: 'a rule on save with a trigger field and a filter: when it fires, the exact body, headers, what others see meanwhile',
    run: async (t, ctx) => {
      const [nameField] = await fieldIds(t, 'res.partner', ['name']);
      const country = await xmlid(t, 'base', 'es');
      const send = ['name', 'phone', 'write_date', 'create_date', 'active', 'country_id', 'partner_latitude', 'is_company', 'category_id', 'comment'];
      const rule = { trigger: 'on_create_or_write', trigger_field_ids: [[6, 0, [nameField]]], filter_domain: `[('ref', '=like', '${ctx.tag}-hook-%')]` };
      return withWebhookRule(t, ctx, 'a', rule, send, async ({ hooks, step, steps }) => {
        hooks.onCall = async (p) =>
          (await kw<Row[]>(t, String(p._model), 'read', [[Number(p._id)], ['name', 'phone']])).map((r) => ({ name: r.name, phone: r.phone }));
        let id = 0;
        await step('create (matching)', async () => {
          id = await kw<number>(t, 'res.partner', 'create', [
            { name: 'Ñandú ü "x"', ref: `${ctx.tag}-hook-1`, country_id: country, comment: '<p>hi</p>', partner_latitude: 0.0 },
          ]);
        });
        const createCall = hooks.calls[hooks.calls.length - 1];
        const stored = await storedDatetime(t, 'res.partner', id);
        await step('write the same name', () => kw(t, 'res.partner', 'write', [[id], { name: 'Ñandú ü "x"' }]));
        await step('write a field that is not a trigger', () => kw(t, 'res.partner', 'write', [[id], { phone: '123' }]));
        await step('write name and phone', () => kw(t, 'res.partner', 'write', [[id], { name: 'Ñandú 2', phone: '456' }]));
        const writeCall = hooks.calls[hooks.calls.length - 1];
        await step('archive (active is not a trigger)', () => kw(t, 'res.partner', 'write', [[id], { active: false }]));
        await step('leave the filter, then rename', async () => {
          await kw(t, 'res.partner', 'write', [[id], { ref: 'elsewhere', active: true }]);
          await kw(t, 'res.partner', 'write', [[id], { name: 'Fuera' }]);
        });
        await step('create (not matching)', () => kw(t, 'res.partner', 'create', [{ name: 'Otro', ref: 'elsewhere' }]));
        const ids: Record<number, string> = { [id]: '<partner>', [country]: '<Spain>' };
        const created = JSON.parse(createCall.body) as Record<string, unknown>;
        return {
          steps,
          'on create': hookView(createCall, ids),
          'on write': hookView(writeCall, ids),
          'write_date in the body is the stored value': String(created.write_date) === stored,
          'rule action name': String(created._action).replace(/\(#\d+\)$/, '(#<id>)'),
        };
      });
    },
  },
  {
    name: 'webhooks.computed-trigger-fields',
    about: 'a rule on save given no trigger fields watches the fields its filter names; a webhook with no fields sends _action, _id, _model',
    run: async (t, ctx) => {
      const rule = { trigger: 'on_create_or_write', filter_domain: `[('ref', '=like', '${ctx.tag}-hookC-%'), ('phone', '!=', False)]` };
      return withWebhookRule(t, ctx, 'c', rule, [], async ({ rule: ruleId, hooks, step, steps }) => {
        const [r] = await kw<Row[]>(t, 'base.automation', 'read', [[ruleId], ['trigger_field_ids']]);
        const names = (await kw<Row[]>(t, 'ir.model.fields', 'read', [r.trigger_field_ids, ['name']])).map((f) => f.name).sort();
        let id = 0;
        await step('create without phone (filtered out)', async () => {
          id = await kw<number>(t, 'res.partner', 'create', [{ name: 'c1', ref: `${ctx.tag}-hookC-1` }]);
        });
        await step('write name (not watched)', () => kw(t, 'res.partner', 'write', [[id], { name: 'c2' }]));
        await step('write phone', () => kw(t, 'res.partner', 'write', [[id], { phone: '1' }]));
        await step('write ref', () => kw(t, 'res.partner', 'write', [[id], { ref: `${ctx.tag}-hookC-2` }]));
        const last = hooks.calls[hooks.calls.length - 1];
        return { 'trigger fields': names, steps, body: last ? bodyWithIds(last.body, { [id]: '<partner>' }) : 'none' };
      });
    },
  },
  {
    name: 'webhooks.pre-domain-and-batches',
    about: 'on_write with a pre-domain: not on create; a write of two records fires once per record passing both domains',
    run: async (t, ctx) => {
      const [nameField] = await fieldIds(t, 'res.partner', ['name']);
      const rule = {
        trigger: 'on_write',
        trigger_field_ids: [[6, 0, [nameField]]],
        filter_pre_domain: "[('phone', '!=', 'pre-block')]",
        filter_domain: `[('ref', '=like', '${ctx.tag}-hookB-%')]`,
      };
      return withWebhookRule(t, ctx, 'b', rule, ['phone'], async ({ hooks, step, steps }) => {
        let ids: number[] = [];
        await step('create', async () => {
          ids = await kw<number[]>(t, 'res.partner', 'create', [
            [
              { name: 'b1', ref: `${ctx.tag}-hookB-1` },
              { name: 'b2', ref: `${ctx.tag}-hookB-2`, phone: 'pre-block' },
              { name: 'b3', ref: `${ctx.tag}-hookB-3` },
            ],
          ]);
        });
        await step('write the three', () => kw(t, 'res.partner', 'write', [ids, { name: 'bb' }]));
        const names: Record<number, string> = { [ids[0]]: '<b1>', [ids[1]]: '<b2>', [ids[2]]: '<b3>' };
        return { steps, bodies: hooks.calls.map((c) => bodyWithIds(c.body, names)) };
      });
    },
  },
  {
    name: 'webhooks.no-trigger-fields',
    about: 'on_write with no trigger field: any write fires it',
    run: async (t, ctx) =>
      withWebhookRule(t, ctx, 'd', { trigger: 'on_write', filter_domain: `[('ref', '=like', '${ctx.tag}-hookD-%')]` }, [], async ({ rule, hooks, step }) => {
        const [r] = await kw<Row[]>(t, 'base.automation', 'read', [[rule], ['trigger_field_ids']]);
        const id = await kw<number>(t, 'res.partner', 'create', [{ name: 'd1', ref: `${ctx.tag}-hookD-1` }]);
        const before = hooks.calls.length;
        await step('write phone', () => kw(t, 'res.partner', 'write', [[id], { phone: '1' }]));
        const afterWrite = hooks.calls.length - before;
        return { 'trigger fields': (r.trigger_field_ids as number[]).length, 'fires on a write': afterWrite > 0, 'calls on the write': afterWrite };
      }),
  },
  {
    name: 'webhooks.slow-receiver',
    about: 'a receiver slower than 1 s: Odoo gives up after 1 s, once, and the write commits',
    run: async (t, ctx) =>
      withWebhookRule(
        t,
        ctx,
        's',
        { trigger: 'on_create', filter_domain: `[('ref', '=', '${ctx.tag}-slow')]` },
        [],
        async ({ hooks }) => {
          const started = Date.now();
          const id = await kw<number>(t, 'res.partner', 'create', [{ name: 'slow', ref: `${ctx.tag}-slow` }]);
          const elapsed = Date.now() - started;
          await ctx.sleep(2500);
          return {
            'create answered after': elapsedBucket(elapsed),
            'record committed': (await kw<Row[]>(t, 'res.partner', 'read', [[id], ['name']])).length,
            'calls received': hooks.calls.length,
          };
        },
        { '/s': 3000 },
      ),
  },
  {
    name: 'webhooks.action-names',
    about: "the names Odoo 18 gives a rule's webhook actions (given in the rule, or created apart), and their usage",
    run: async (t, ctx) => {
      const model = await modelId(t, 'res.partner');
      return withRule(
        t,
        [
          {
            name: `${ctx.tag} rule N`,
            model_id: model,
            trigger: 'on_create',
            filter_domain: "[('id', '=', 0)]",
            action_server_ids: [[0, 0, { name: `${ctx.tag} my name`, model_id: model, state: 'webhook', webhook_url: 'http://127.0.0.1:9/a' }]],
          },
        ],
        async ([rule]) => {
          const apart = await kw<number>(t, 'ir.actions.server', 'create', [
            { name: `${ctx.tag} my other name`, model_id: model, base_automation_id: rule, state: 'webhook', webhook_url: 'http://127.0.0.1:9/b' },
          ]);
          const [r] = await kw<Row[]>(t, 'base.automation', 'read', [[rule], ['action_server_ids']]);
          const read = async (ids: number[]) =>
            (await kw<Row[]>(t, 'ir.actions.server', 'read', [ids, ['name', 'usage']])).map((a) => ({ name: a.name, usage: a.usage }));
          const given = (r.action_server_ids as number[]).filter((id) => id !== apart);
          await kw(t, 'ir.actions.server', 'write', [[apart], { name: `${ctx.tag} renamed` }]);
          const renamed = await read([apart]);
          await kw(t, 'ir.actions.server', 'write', [[apart], { webhook_url: 'http://127.0.0.1:9/c' }]);
          return { 'given in the rule': await read(given), 'created apart': renamed, 'after a new URL': await read([apart]) };
        },
      );
    },
  },
  // ---------------------------------------------------------------------------------------- activities
  {
    name: 'activity.create-and-read',
    about:
      'mail.activity: res_model_id and a non-zero res_id required, res_model stored from res_model_id, defaults (user, To-Do type, today), exact summary search, is_mail_thread',
    run: async (t, ctx) => {
      const partner = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} act` }]);
      const model = await modelId(t, 'res.partner');
      const todo = await xmlid(t, 'mail', 'mail_activity_data_todo');
      const summary = `${ctx.tag} Llamar [K-1]`;
      const id = await kw<number>(t, 'mail.activity', 'create', [{ res_model_id: model, res_id: partner, summary }]);
      const [a] = await kw<Row[]>(t, 'mail.activity', 'read', [
        [id],
        ['res_model', 'res_id', 'summary', 'user_id', 'activity_type_id', 'date_deadline', 'active', 'state', 'res_name', 'date_done'],
      ]);
      const found = async (domain: unknown[]) => (await kw<number[]>(t, 'mail.activity', 'search', [domain], NO_ACTIVE_TEST)).map((x) => x === id);
      const threads = await kw<Row[]>(t, 'ir.model', 'search_read', [[['model', 'in', ['res.partner', 'res.country', 'mail.activity']]]], {
        fields: ['model', 'is_mail_thread'],
        order: 'model',
      });
      return {
        read: {
          res_model: a.res_model,
          res_id_is_partner: a.res_id === partner,
          summary: a.summary,
          user_is_caller: Array.isArray(a.user_id) && a.user_id[0] === t.uid,
          activity_type: Array.isArray(a.activity_type_id) ? [a.activity_type_id[0] === todo, a.activity_type_id[1]] : a.activity_type_id,
          date_deadline: a.date_deadline,
          active: a.active,
          state: a.state,
          res_name: a.res_name,
          date_done: a.date_done,
        },
        'search summary = exact': await found([
          ['res_model', '=', 'res.partner'],
          ['res_id', '=', partner],
          ['summary', '=', summary],
        ]),
        'search summary = other case': await found([['summary', '=', summary.toUpperCase()]]),
        is_mail_thread: threads.map((r) => [r.model, r.is_mail_thread]),
        'create without res_model_id': await outcome(t, 'mail.activity', 'create', [{ res_id: partner, summary: 'x' }]),
        'create with res_id 0': await outcome(t, 'mail.activity', 'create', [{ res_model_id: model, res_id: 0, summary: 'x' }]),
      };
    },
  },
  {
    name: 'activity.done',
    about:
      'action_feedback / action_done: the "<type> done: <summary>" chatter message (mail_activity_type_id, mt_activities), then deleted, or archived when the type keeps done ones',
    run: async (t, ctx) => {
      const partner = await kw<number>(t, 'res.partner', 'create', [{ name: `${ctx.tag} done` }]);
      const model = await modelId(t, 'res.partner');
      const summary = `${ctx.tag} Revisar <receta> & "x" [K-2]`;
      const id = await kw<number>(t, 'mail.activity', 'create', [{ res_model_id: model, res_id: partner, summary }]);
      const messageId = await kw<number>(t, 'mail.activity', 'action_feedback', [[id]], { feedback: 'hecho' });
      const [m] = await kw<Row[]>(t, 'mail.message', 'read', [[messageId], ['body', 'mail_activity_type_id', 'subtype_id', 'message_type', 'model', 'res_id']]);
      const left = await count(t, 'mail.activity', [['id', '=', id]]);
      const typed = await kw<number>(t, 'mail.activity', 'create', [
        { res_model_id: model, res_id: partner, summary: `${ctx.tag} Llamar [K-4]`, activity_type_id: await xmlid(t, 'mail', 'mail_activity_data_todo') },
      ]);
      const typedMessage = await kw<number>(t, 'mail.activity', 'action_feedback', [[typed]]);
      const [tm] = await kw<Row[]>(t, 'mail.message', 'read', [[typedMessage], ['body', 'mail_activity_type_id']]);
      // A type that keeps done activities archives them.
      const kept = await kw<number>(t, 'mail.activity.type', 'create', [{ name: `${ctx.tag} kept`, keep_done: true }]);
      const summary2 = `${ctx.tag} Control [K-3]`;
      const id2 = await kw<number>(t, 'mail.activity', 'create', [{ res_model_id: model, res_id: partner, summary: summary2, activity_type_id: kept }]);
      const done = await call(t, 'mail.activity', 'action_done', [[id2]]);
      const [archived] = await kw<Row[]>(t, 'mail.activity', 'read', [[id2], ['active', 'state', 'date_done', 'date_deadline']]);
      const again = await call(t, 'mail.activity', 'action_done', [[id2]]);
      const visible = await kw<number[]>(t, 'mail.activity', 'search', [[['id', '=', id2]]]);
      const all = await kw<number[]>(t, 'mail.activity', 'search', [[['summary', '=', summary2]]], NO_ACTIVE_TEST);
      await kw(t, 'mail.activity', 'unlink', [[id2]]);
      await kw(t, 'mail.activity.type', 'unlink', [[kept]]);
      return {
        'action_feedback returns the message id': typeof messageId === 'number' && messageId > 0,
        message: {
          body: m.body,
          mail_activity_type: Array.isArray(m.mail_activity_type_id) ? m.mail_activity_type_id[1] : m.mail_activity_type_id,
          subtype: Array.isArray(m.subtype_id) ? m.subtype_id[1] : m.subtype_id,
          message_type: m.message_type,
          on_the_record: m.model === 'res.partner' && m.res_id === partner,
        },
        'activities left (no type)': left,
        'message of a To-Do': { body: tm.body, mail_activity_type: Array.isArray(tm.mail_activity_type_id) ? tm.mail_activity_type_id[1] : false },
        'action_done (keep_done)': done.ok ? { result: typeof done.value } : { error: done.failure.name },
        archived: { active: archived.active, state: archived.state, date_done_is_deadline: archived.date_done === archived.date_deadline },
        'action_done again': again.ok ? { result: again.value } : { error: again.failure.name },
        'found without active_test': visible.length,
        'found with active_test false': all.length,
      };
    },
  },
  {
    name: 'activity.schedule-once',
    about: "the pack's scheduleActivityOnce: created once, found again, not again after done, a new key a new one, unknown login and record typed",
    run: async (t, ctx) => {
      const client = new OdooClient({ url: t.url, db: t.db, username: t.login, password: t.password, protocol: 'jsonrpc', retries: 0 });
      try {
        const partner = await client.create('res.partner', { name: `${ctx.tag} once` });
        const req = { model: 'res.partner', resId: partner, key: `${ctx.tag}-1`, summary: 'Llamar' };
        const first = await scheduleActivityOnce(client, req);
        const second = await scheduleActivityOnce(client, req);
        await client.call('mail.activity', 'action_feedback', [[first.id]]);
        const afterDone = await scheduleActivityOnce(client, req);
        const other = await scheduleActivityOnce(client, { ...req, key: `${ctx.tag}-2` });
        const failure = async (r: Partial<typeof req> & { user?: string }) =>
          scheduleActivityOnce(client, { ...req, key: `${ctx.tag}-3`, ...r }).then(
            () => 'no error',
            (e: { code?: string }) => e.code,
          );
        return {
          first: { created: first.created, user_is_caller: first.userId === t.uid, done: first.done },
          second: { created: second.created, same_id: second.id === first.id },
          'after done': { created: afterDone.created, id: afterDone.id, done: afterDone.done },
          'other key': { created: other.created, new_id: other.id !== first.id },
          'unknown login': await failure({ user: `${ctx.tag}-nobody` }),
          'unknown record': await failure({ resId: 999999991 }),
          'model without chatter': await failure({ model: 'res.country', resId: 1 }),
        };
      } finally {
        client.close();
      }
    },
  },
];

/**
 * Where the peer answers differently from the real Odoo 18 on purpose, and why that does not matter to
 * the pack. Each is checked: an exception that no longer matches a difference fails the battery.
 */
export const ODOO_KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    probe: 'webhooks.no-trigger-fields',
    path: 'calls on the write',
    reason:
      'Odoo runs an on_write rule without trigger fields again for every stored computed field the write recomputes ' +
      '(_compute_field_value; for res.partner.phone, phone_sanitized of phone_validation), so the count depends on the installed ' +
      'modules; the peer runs it once per write. The pack always sets trigger fields (seed), which ends the repeats on both.',
  },
];
