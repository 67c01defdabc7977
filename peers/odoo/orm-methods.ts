/**
 * The public ORM methods every model answers over RPC (search, search_read, read, create, write, unlink,
 * fields_get …), their Python signatures (so that wrong arguments fail as Python would), and the binding
 * of execute_kw's positional args / kwargs or JSON-2's named arguments onto them.
 */
import { AttributeErr, AccessError, PyException, TypeErr, ValueErr, missingRecord, pyRepr } from './python';
import type { Env, MethodDef, ModelDef, Registry } from './store';

const asDomain = (v: unknown) => (v === undefined ? [] : v);

export function ormMethods(version: number): Record<string, MethodDef> {
  return {
    search: {
      api: 'model',
      params: ['domain', 'offset', 'limit', 'order'],
      readOnly: true,
      fn: (env, _ids, p) => env.registry.search(env, env.model as string, asDomain(p.domain), p),
    },
    search_read: {
      api: 'model',
      params: ['domain', 'fields', 'offset', 'limit', 'order', 'load'],
      readOnly: true,
      fn: (env, _ids, p) => {
        const model = env.model as string;
        const ids = env.registry.search(env, model, asDomain(p.domain), p);
        return env.registry.read(env, model, ids, p.fields, p.load === undefined ? '_classic_read' : (p.load as string | null));
      },
    },
    search_count: {
      api: 'model',
      params: ['domain', 'limit'],
      readOnly: true,
      fn: (env, _ids, p) => env.registry.search(env, env.model as string, asDomain(p.domain), { limit: p.limit }).length,
    },
    read: {
      api: 'records',
      params: ['fields', 'load'],
      readOnly: true,
      fn: (env, ids, p) => env.registry.read(env, env.model as string, ids, p.fields, p.load === undefined ? '_classic_read' : (p.load as string | null)),
    },
    create: {
      api: 'model',
      params: ['vals_list'],
      fn: (env, _ids, p) => {
        const single = p.vals_list && typeof p.vals_list === 'object' && !Array.isArray(p.vals_list);
        if (p.vals_list === undefined) throw TypeErr("create() missing 1 required positional argument: 'vals_list'");
        const ids = env.registry.create(
          env,
          env.model as string,
          single ? [p.vals_list as Record<string, unknown>] : (p.vals_list as Array<Record<string, unknown>>),
        );
        // @api.model_create_multi: a dict in, one record out (an int over RPC); a list in, a list out.
        return single ? ids[0] : ids;
      },
    },
    write: {
      api: 'records',
      params: ['vals'],
      fn: (env, ids, p) => {
        if (p.vals === undefined) throw TypeErr("write() missing 1 required positional argument: 'vals'");
        return env.registry.write(env, env.model as string, ids, p.vals as Record<string, unknown>);
      },
    },
    unlink: { api: 'records', params: [], fn: (env, ids) => env.registry.unlink(env, env.model as string, ids) },
    // models.py toggle_active / action_archive / action_unarchive: they return None (no `result` over
    // JSON-RPC, the marshal fault over XML-RPC) and assert that the model has an active field.
    toggle_active: { api: 'records', params: [], fn: (env, ids) => setActive(env, ids, (was) => !was) },
    action_archive: { api: 'records', params: [], fn: (env, ids) => setActive(env, ids, (was) => (was ? false : undefined)) },
    action_unarchive: { api: 'records', params: [], fn: (env, ids) => setActive(env, ids, (was) => (was ? undefined : true)) },
    exists: {
      api: 'records',
      params: [],
      readOnly: true,
      fn: (env, ids) => ids.filter((id) => env.registry.get(env, env.model as string, id)),
    },
    fields_get: {
      api: 'model',
      params: ['allfields', 'attributes'],
      readOnly: true,
      fn: (env, _ids, p) =>
        fieldsGet(env.registry, env.registry.modelOrFail(env.model as string), p.allfields as string[] | undefined, p.attributes as string[] | undefined),
    },
    default_get: {
      api: 'model',
      params: ['fields_list'],
      readOnly: true,
      fn: (env, _ids, p) => {
        const def = env.registry.modelOrFail(env.model as string);
        const out: Record<string, unknown> = {};
        for (const name of (p.fields_list as string[]) ?? []) {
          const f = def.fields.get(name);
          if (f?.default !== undefined) out[name] = typeof f.default === 'function' ? (f.default as (e: Env) => unknown)(env) : f.default;
          const ctx = env.context[`default_${name}`];
          if (ctx !== undefined) out[name] = ctx;
        }
        return out;
      },
    },
    name_search: {
      api: 'model',
      params: ['name', version >= 18 ? 'domain' : 'args', 'operator', 'limit'],
      readOnly: true,
      fn: (env, _ids, p) => {
        const model = env.model as string;
        const def = env.registry.modelOrFail(model);
        const base = (p.domain ?? p.args ?? []) as unknown[];
        const name = (p.name as string | undefined) ?? '';
        const domain = name && def.recName ? [...base, [def.recName, (p.operator as string) ?? 'ilike', name]] : base;
        const ids = env.registry.search(env, model, domain, { limit: p.limit ?? 100 });
        return ids.map((id) => [id, env.registry.displayName(env, model, env.registry.get(env, model, id)!)]);
      },
    },
    name_create: {
      api: 'model',
      params: ['name'],
      fn: (env, _ids, p) => {
        const model = env.model as string;
        const def = env.registry.modelOrFail(model);
        if (!def.recName) throw new Error(`Cannot execute name_create, no _rec_name defined on ${model}`);
        const [id] = env.registry.create(env, model, [{ [def.recName]: p.name }]);
        return [id, env.registry.displayName(env, model, env.registry.get(env, model, id)!)];
      },
    },
    copy: {
      api: 'records',
      params: ['default'],
      fn: (env, ids, p) => {
        const model = env.model as string;
        const def = env.registry.modelOrFail(model);
        if (ids.length !== 1) throw ValueErr(`Expected singleton: ${model}(${ids.join(', ')})`);
        const [src] = env.registry.read(env, model, ids, undefined, null);
        const vals: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(src)) {
          const f = def.fields.get(k);
          if (!f || f.store === false || f.readonly || f.type === 'one2many' || k === 'id') continue;
          vals[k] = f.type === 'many2many' ? [[6, 0, v]] : v;
        }
        Object.assign(vals, (p.default as Record<string, unknown>) ?? {});
        return env.registry.create(env, model, [vals])[0];
      },
    },
    check_access_rights: {
      api: 'model',
      params: ['operation', 'raise_exception'],
      readOnly: true,
      fn: (env, _ids, p) => {
        try {
          env.registry.checkAccess(env, env.model as string, p.operation as 'read');
          return true;
        } catch (err) {
          if (p.raise_exception === false) return false;
          throw err;
        }
      },
    },
  };
}

/** Writes the active field of the records `to(current)` says (undefined: leave it), False first then True. */
function setActive(env: Env, ids: number[], to: (was: boolean) => boolean | undefined): undefined {
  const reg = env.registry;
  const model = env.model as string;
  const def = reg.modelOrFail(model);
  const name = def.fields.has('active') ? 'active' : def.fields.has('x_active') ? 'x_active' : undefined;
  if (!name) throw new PyException('builtins.AssertionError', `No 'active' field on model ${model}`, 'builtin');
  const missing = ids.find((id) => !reg.get(env, model, id));
  if (missing !== undefined) throw missingRecord(model, [missing], env.uid);
  const wanted = ids.map((id) => to(Boolean(reg.get(env, model, id)?.[name])));
  const off = ids.filter((_id, i) => wanted[i] === false);
  const on = ids.filter((_id, i) => wanted[i] === true);
  if (off.length) reg.write(env, model, off, { [name]: false });
  if (on.length) reg.write(env, model, on, { [name]: true });
  return undefined;
}

function fieldsGet(registry: Registry, def: ModelDef, allfields?: string[], attributes?: string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of registry.allFieldNames(def)) {
    if (allfields?.length && !allfields.includes(name)) continue;
    const f = registry.field(def, name)!;
    const full: Record<string, unknown> = {
      type: f.type,
      string: f.string,
      required: Boolean(f.required),
      readonly: Boolean(f.readonly),
      store: f.store !== false,
      searchable: true,
      sortable: f.store !== false,
      manual: Boolean(f.custom),
      ...(f.relation ? { relation: f.relation } : {}),
      ...(f.selection ? { selection: f.selection } : {}),
      ...(f.related ? { related: f.related.join('.') } : {}),
    };
    out[name] = attributes?.length ? Object.fromEntries(Object.entries(full).filter(([k]) => attributes.includes(k))) : full;
  }
  return out;
}

/**
 * Private methods that exist in Odoo 18 (on every model, or on one): calling one over RPC is an
 * AccessError; any other name starting with _ does not exist (AttributeError), like any unknown name.
 */
const PRIVATE_METHODS: Array<[string, string]> = [
  ...[
    '_search',
    '_read_group',
    '_create',
    '_write',
    '_compute_display_name',
    '_name_search',
    '_check_company',
    '_get_view',
    '_fetch_query',
    '_flush_search',
    '_where_calc',
    '_filtered_access',
    '_read_format',
    '_check_access',
    '_as_query',
  ].map((n): [string, string] => ['*', n]),
  ['res.partner', '_get_gravatar_image'],
  ['res.partner', '_compute_commercial_partner'],
  ['ir.actions.report', '_render_qweb_pdf'],
  ['ir.actions.report', '_render'],
  ['stock.quant', '_apply_inventory'],
  ['stock.quant', '_get_inventory_move_values'],
  ['stock.move', '_action_done'],
  ['stock.move', '_action_confirm'],
  ['account.move', '_post'],
];

/** The method as Python would find it on the model, or AttributeError / AccessError. */
export function lookupMethod(registry: Registry, def: ModelDef, name: string, generic: Record<string, MethodDef>): MethodDef {
  // odoo/service/model.py get_public_method (Odoo 18): unknown first, then private.
  const own = def.methods[name];
  const g = generic[name];
  const exists =
    (own && !(name === 'message_post' && !def.mailThread)) ||
    g ||
    (name.startsWith('_') && PRIVATE_METHODS.some(([m, n]) => n === name && (m === '*' || m === def.name)));
  if (!exists) throw AttributeErr(`The method '${def.name}.${name}' does not exist`);
  if (name.startsWith('_')) {
    if (registry.version >= 18) throw AccessError(`Private methods (such as '${def.name}.${name}') cannot be called remotely.`);
    throw AccessError(`Private methods (such as ${name}) cannot be called remotely.`);
  }
  return (own ?? g) as MethodDef;
}

/** Binds execute_kw's (args, kwargs) onto the method's parameters, raising what Python would raise. */
export function bindArgs(method: string, m: MethodDef, args: unknown[], kwargs: Record<string, unknown>): { ids: number[]; params: Record<string, unknown> } {
  let positional = args;
  let ids: number[] = [];
  if (m.api === 'records') {
    if (positional.length === 0) throw TypeErr(`${method}() missing 1 required positional argument: 'self'`);
    ids = normaliseIds(positional[0]);
    positional = positional.slice(1);
  }
  const params: Record<string, unknown> = {};
  if (positional.length > m.params.length) {
    throw TypeErr(`${method}() takes ${m.params.length + 1} positional argument${m.params.length ? 's' : ''} but ${positional.length + 1} were given`);
  }
  positional.forEach((v, i) => {
    params[m.params[i]] = v;
  });
  for (const [k, v] of Object.entries(kwargs)) {
    if (k === 'context') continue;
    if (!m.params.includes(k)) throw TypeErr(`${qualified(method)}() got an unexpected keyword argument '${k}'`);
    if (k in params) throw TypeErr(`${method}() got multiple values for argument '${k}'`);
    params[k] = v;
  }
  return { ids, params };
}

/** Python 3.11 names a function by its __qualname__: the ORM's own methods live on BaseModel. */
function qualified(method: string): string {
  return ['search', 'search_count', 'search_read', 'read', 'fields_get', 'exists', 'name_search', 'default_get'].includes(method)
    ? `BaseModel.${method}`
    : method;
}

export function normaliseIds(v: unknown): number[] {
  if (v === false || v === null || v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (!Number.isInteger(x)) throw ValueErr(`Invalid record id ${pyRepr(x)}: ids are integers`);
  }
  return list as number[];
}
