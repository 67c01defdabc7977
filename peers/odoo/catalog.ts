/**
 * What the peer's Odoo contains: the modules the clinic uses (base, mail, contacts, calendar, product,
 * stock, account, base_automation), their models and fields as Odoo 17/18/19 define them, the business
 * methods flows call (action_post, action_apply_inventory, the invoice send wizard, message_post,
 * button_immediate_install …) with Odoo's checks and messages, and the custom models / fields / access
 * rules that ir.model and ir.model.fields create at run time.
 */
import { randomUUID } from 'node:crypto';
import { makePdf } from './pdf';
import { defineActivities, seedActivities } from './activities';
import { defineTransfers, seedTransfers } from './transfers';
import { PyException, TypeErr, UserError, ValidationError, ValueErr, missingRecord, parsePyLiteral } from './python';
import { makeModel, odooNow, type AccessRule, type Env, type FieldDef, type FieldType, type ModelDef, type Rec, type Registry } from './store';

type F = Omit<FieldDef, 'string'> & { string?: string };
const f = (name: string, type: FieldType, extra: Partial<F> = {}): F => ({ name, type, ...extra });
const m2o = (name: string, relation: string, extra: Partial<F> = {}): F => ({ name, type: 'many2one', relation, ...extra });

export interface ModuleInfo {
  name: string;
  shortdesc: string;
  depends: string[];
}

export const MODULES: ModuleInfo[] = [
  { name: 'base', shortdesc: 'Base', depends: [] },
  { name: 'web', shortdesc: 'Web', depends: ['base'] },
  { name: 'mail', shortdesc: 'Discuss', depends: ['base', 'web'] },
  { name: 'contacts', shortdesc: 'Contacts', depends: ['mail'] },
  { name: 'calendar', shortdesc: 'Calendar', depends: ['mail'] },
  { name: 'product', shortdesc: 'Products & Pricelists', depends: ['mail'] },
  { name: 'stock', shortdesc: 'Inventory', depends: ['product'] },
  { name: 'account', shortdesc: 'Invoicing', depends: ['product'] },
  { name: 'base_automation', shortdesc: 'Automation Rules', depends: ['base', 'mail'] },
];

const today = (env: Env) => odooNow(env.registry.clock()).slice(0, 10);

/** Every model the peer knows, for Odoo `version` (17, 18 or 19). */
export function defineModels(reg: Registry): void {
  const v = reg.version;
  const mail = (r: Registry) => r.installed.has('mail');
  const define = (d: ModelDef) => {
    reg.define(d);
    return d;
  };

  // ------------------------------------------------------------------------------------------ base
  define(makeModel('res.country', 'Country', 'base', [f('name', 'char', { required: true }), f('code', 'char')], { order: 'name' }));
  define(makeModel(
    'res.partner.category',
    'Partner Tags',
    'base',
    [
      f('name', 'char', { required: true, string: 'Tag Name' }),
      f('color', 'integer'),
      m2o('parent_id', 'res.partner.category'),
      f('active', 'boolean', { default: true }),
    ],
    { order: 'name' },
  ));
  const partner = define(
    makeModel(
      'res.partner',
      'Contact',
      'base',
      [
        f('name', 'char'),
        f('email', 'char'),
        f('phone', 'char'),
        f('mobile', 'char'),
        f('street', 'char'),
        f('street2', 'char'),
        f('city', 'char'),
        f('zip', 'char'),
        m2o('country_id', 'res.country'),
        f('vat', 'char', { string: 'Tax ID' }),
        f('ref', 'char'),
        f('comment', 'html', { string: 'Notes' }),
        f('is_company', 'boolean'),
        f('active', 'boolean', { default: true }),
        f('category_id', 'many2many', { relation: 'res.partner.category', string: 'Tags' }),
        m2o('parent_id', 'res.partner', { string: 'Related Company' }),
        f('child_ids', 'one2many', { relation: 'res.partner', inverse: 'parent_id' }),
        f('type', 'selection', {
          selection: [
            ['contact', 'Contact'],
            ['invoice', 'Invoice Address'],
            ['delivery', 'Delivery Address'],
            ['other', 'Other Address'],
          ],
          default: 'contact',
        }),
        f('function', 'char', { string: 'Job Position' }),
        f('website', 'char'),
        f('lang', 'char', { default: 'en_US' }),
        f('tz', 'char'),
        f('customer_rank', 'integer'),
        f('supplier_rank', 'integer'),
        f('image_1920', 'binary', { string: 'Image' }),
        // account: the partner's preferred invoice sending (the send wizard sets it the first time).
        f('partner_latitude', 'float', { string: 'Geo Latitude' }),
        f('partner_longitude', 'float', { string: 'Geo Longitude' }),
        f('invoice_sending_method', 'selection', {
          selection: [
            ['manual', 'Download'],
            ['email', 'by Email'],
            ['snailmail', 'by Post'],
          ],
        }),
      ],
      { order: 'name, id' },
    ),
  );
  partner.hooks.check = (env, ids) => {
    for (const id of ids) {
      const r = env.registry.get(env, 'res.partner', id);
      if (r && (r.type ?? 'contact') === 'contact' && !r.name) throw ValidationError('The operation cannot be completed: Contacts require a name');
    }
  };
  Object.defineProperty(partner, 'mailThread', { get: () => mail(reg) });

  define(makeModel('res.groups', 'Access Groups', 'base', [f('name', 'char', { required: true }), f('full_name', 'char')]));
  define(makeModel('res.company', 'Companies', 'base', [f('name', 'char', { required: true }), m2o('partner_id', 'res.partner')]));
  const users = define(
    makeModel(
      'res.users',
      'User',
      'base',
      [
        f('login', 'char', { required: true }),
        f('name', 'char'),
        m2o('partner_id', 'res.partner'),
        f('active', 'boolean', { default: true }),
        f('groups_id', 'many2many', { relation: 'res.groups' }),
        m2o('company_id', 'res.company', { default: 1 }),
      ],
      { order: 'name, login' },
    ),
  );
  users.methods.context_get = {
    api: 'model',
    params: [],
    readOnly: true,
    fn: (env) => ({ lang: 'en_US', tz: 'Europe/Madrid', uid: env.uid }),
  };

  define(makeModel(
    'ir.model.data',
    'Model Data',
    'base',
    [
      f('module', 'char', { required: true }),
      f('name', 'char', { required: true }),
      f('model', 'char', { required: true }),
      f('res_id', 'integer'),
      f('complete_name', 'char', { store: false, compute: (_e, r) => `${r.module}.${r.name}` }),
    ],
    { order: 'module, model, name' },
  ));

  const modules = define(
    makeModel(
      'ir.module.module',
      'Module',
      'base',
      [
        f('name', 'char', { required: true }),
        f('shortdesc', 'char'),
        f('state', 'selection', {
          selection: [
            ['uninstallable', 'Uninstallable'],
            ['uninstalled', 'Not Installed'],
            ['installed', 'Installed'],
            ['to upgrade', 'To be upgraded'],
            ['to remove', 'To be removed'],
            ['to install', 'To be installed'],
          ],
          default: 'uninstalled',
          readonly: true,
        }),
        f('application', 'boolean'),
      ],
      { order: 'name' },
    ),
  );
  const installAction = (env: Env, ids: number[]) => {
    const names = ids.map((id) => env.registry.get(env, 'ir.module.module', id)?.name as string);
    installModules(env.registry, names, env);
    return { type: 'ir.actions.client', tag: 'reload', params: { menu_id: 1 } };
  };
  modules.methods.button_immediate_install = { api: 'records', params: [], fn: installAction };
  modules.methods.button_install = { api: 'records', params: [], fn: installAction };
  modules.methods.update_list = { api: 'model', params: [], fn: () => [0, 0] };

  const attachment = define(
    makeModel(
      'ir.attachment',
      'Attachment',
      'base',
      [
        f('name', 'char', { required: true }),
        f('datas', 'binary', { string: 'File Content (base64)' }),
        f('mimetype', 'char'),
        f('res_model', 'char'),
        f('res_id', 'integer'),
        f('res_field', 'char'),
        f('description', 'text'),
        f('public', 'boolean'),
        f('type', 'selection', {
          selection: [
            ['url', 'URL'],
            ['binary', 'File'],
          ],
          default: 'binary',
        }),
        f('url', 'char'),
        f('file_size', 'integer', { store: false, compute: (_e, r) => (typeof r.datas === 'string' ? Buffer.from(r.datas, 'base64').length : 0) }),
        f('checksum', 'char'),
      ],
      { order: 'id desc' },
    ),
  );
  attachment.hooks.beforeCreate = (_env, vals) => {
    if (!vals.mimetype && typeof vals.datas === 'string') {
      const head = Buffer.from(vals.datas.slice(0, 16), 'base64').subarray(0, 5).toString('latin1');
      vals.mimetype = head === '%PDF-' ? 'application/pdf' : 'application/octet-stream';
    }
  };

  define(makeModel('ir.actions.report', 'Report Action', 'base', [
    f('name', 'char', { required: true }),
    f('report_name', 'char', { required: true }),
    f('model', 'char', { required: true }),
    f('report_type', 'selection', {
      selection: [
        ['qweb-html', 'HTML'],
        ['qweb-pdf', 'PDF'],
        ['qweb-text', 'Text'],
      ],
      default: 'qweb-pdf',
    }),
  ]));

  // ir.model, ir.model.fields, ir.model.access: the data model as data; creating them changes the registry.
  const irModel = define(
    makeModel(
      'ir.model',
      'Models',
      'base',
      [
        f('name', 'char', { required: true, string: 'Model Description' }),
        f('model', 'char', { required: true }),
        f('state', 'selection', {
          selection: [
            ['manual', 'Custom Object'],
            ['base', 'Base Object'],
          ],
          default: 'manual',
          readonly: true,
        }),
        f('field_id', 'one2many', { relation: 'ir.model.fields', inverse: 'model_id', string: 'Fields' }),
        f('access_ids', 'one2many', { relation: 'ir.model.access', inverse: 'model_id', string: 'Access' }),
        f('is_mail_thread', 'boolean', { string: 'Has Mail Thread' }),
        f('is_mail_activity', 'boolean'),
        f('transient', 'boolean'),
        f('modules', 'char', { string: 'In Apps' }),
        f('order', 'char', { default: 'id' }),
      ],
      { order: 'model' },
    ),
  );
  irModel.hooks.beforeCreate = (env, vals) => {
    const name = String(vals.model ?? '');
    if (!name.startsWith('x_')) throw ValidationError("The model name must start with 'x_'.");
    if (env.registry.models.has(name)) throw ValidationError(`The operation cannot be completed: Each model must have a unique name.`);
    vals.state = 'manual';
    const custom = makeModel(name, String(vals.name ?? name), 'base', [], { custom: true, order: typeof vals.order === 'string' ? vals.order : 'id' });
    custom.mailThread = Boolean(vals.is_mail_thread);
    addMessagePost(custom);
    env.registry.define(custom);
  };
  irModel.hooks.afterCreate = (env, rec) => {
    // Odoo gives every manual model its magic fields (id, create_date, write_date …) as ir.model.fields rows.
    const def = env.registry.models.get(rec.model as string);
    const magic = { ...env, uid: 1, context: { ...env.context, __magic: true } };
    for (const name of ['id', 'display_name', 'create_date', 'create_uid', 'write_date', 'write_uid']) {
      const fd = def?.fields.get(name);
      if (fd)
        env.registry.create(magic, 'ir.model.fields', [
          { name, field_description: fd.string, model_id: rec.id, ttype: fd.type, relation: fd.relation ?? false, readonly: true },
        ]);
    }
    refreshAccess(env.registry, rec.model as string, env);
  };
  irModel.hooks.beforeUnlink = (env, ids) => {
    for (const id of ids) {
      const r = env.registry.get(env, 'ir.model', id);
      if (r?.state !== 'manual') throw UserError('Model records cannot be deleted for base objects; uninstall the module instead.');
      env.registry.models.delete(r.model as string);
    }
  };

  const irFields = define(
    makeModel(
      'ir.model.fields',
      'Fields',
      'base',
      [
        f('name', 'char', { required: true, string: 'Field Name' }),
        f('field_description', 'char', { required: true, string: 'Field Label' }),
        m2o('model_id', 'ir.model', { required: true, string: 'Model' }),
        f('model', 'char', { string: 'Model Name' }),
        f('ttype', 'selection', {
          required: true,
          string: 'Field Type',
          selection: (
            [
              'char',
              'text',
              'html',
              'integer',
              'float',
              'monetary',
              'boolean',
              'date',
              'datetime',
              'selection',
              'many2one',
              'one2many',
              'many2many',
              'binary',
              'json',
            ] as const
          ).map((t) => [t, t]),
        }),
        f('relation', 'char', { string: 'Related Model' }),
        f('relation_field', 'char'),
        f('required', 'boolean'),
        f('readonly', 'boolean'),
        f('store', 'boolean', { default: true }),
        f('index', 'boolean'),
        f('copied', 'boolean'),
        f('tracking', 'integer'),
        f('selection_ids', 'json'),
        f('help', 'text'),
        f('state', 'selection', {
          selection: [
            ['manual', 'Custom Field'],
            ['base', 'Base Field'],
          ],
          default: 'manual',
          readonly: true,
        }),
      ],
      { order: 'name' },
    ),
  );
  irFields.hooks.beforeCreate = (env, vals) => {
    const modelRec = env.registry.get(env, 'ir.model', Number(vals.model_id));
    if (!modelRec) throw missingRecord('ir.model', [Number(vals.model_id)], env.uid);
    const name = String(vals.name ?? '');
    vals.model = modelRec.model;
    if (env.context.__magic) {
      vals.state = 'base';
      return;
    }
    if (!name.startsWith('x_')) throw ValidationError("Custom fields must have a name that starts with 'x_'!");
    const def = env.registry.models.get(modelRec.model as string);
    if (def && env.registry.field(def, name)) throw ValidationError('The operation cannot be completed: Field names must be unique per model.');
    const type = vals.ttype as FieldType;
    if ((type === 'many2one' || type === 'many2many' || type === 'one2many') && !(vals.relation && env.registry.model(String(vals.relation)))) {
      throw ValidationError(`Unknown model name '${String(vals.relation ?? '')}' in Related Model`);
    }
    vals.model = modelRec.model;
    vals.state = 'manual';
  };
  irFields.hooks.afterCreate = (env, rec) => {
    const def = env.registry.models.get(rec.model as string);
    if (!def || env.context.__magic) return;
    def.fields.set(rec.name as string, {
      name: rec.name as string,
      type: rec.ttype as FieldType,
      string: String(rec.field_description ?? rec.name),
      relation: (rec.relation as string) || undefined,
      inverse: (rec.relation_field as string) || undefined,
      required: Boolean(rec.required),
      readonly: Boolean(rec.readonly),
      custom: true,
      selection: Array.isArray(rec.selection_ids) ? (rec.selection_ids as Array<[string, string]>) : undefined,
    });
    if (rec.name === 'x_name' && !def.recName) def.recName = 'x_name';
    env.registry.bump(def.name);
  };

  const access = define(
    makeModel(
      'ir.model.access',
      'Model Access',
      'base',
      [
        f('name', 'char', { required: true }),
        m2o('model_id', 'ir.model', { required: true }),
        m2o('group_id', 'res.groups'),
        f('perm_read', 'boolean'),
        f('perm_write', 'boolean'),
        f('perm_create', 'boolean'),
        f('perm_unlink', 'boolean'),
        f('active', 'boolean', { default: true }),
      ],
      { order: 'model_id, group_id, name' },
    ),
  );
  // Measured on Odoo 18: a rule created on its own is not seen by the following calls (a stale access
  // cache), while rules given inside the ir.model create work at once. The peer mimics that.
  access.hooks.afterCreate = (env, rec) => {
    if (!env.registry.staleAccessCache) {
      const model = env.registry.get(env, 'ir.model', rec.model_id as number)?.model as string | undefined;
      if (model) refreshAccess(env.registry, model, env);
    }
  };

  const actionsServer = define(
    makeModel(
      'ir.actions.server',
      'Server Action',
      'base',
      [
        f('name', 'char', { required: true }),
        m2o('model_id', 'ir.model', { required: true }),
        f('model_name', 'char', { store: false, related: ['model_id', 'model'] }),
        f('state', 'selection', {
          selection: [
            ['code', 'Execute Code'],
            ['object_create', 'Create Record'],
            ['object_write', 'Update Record'],
            ['multi', 'Execute Existing Actions'],
            ['mail_post', 'Send email'],
            ['followers', 'Add Followers'],
            ['next_activity', 'Create Activity'],
            ['webhook', 'Send Webhook Notification'],
          ],
          default: 'object_write',
          required: true,
        }),
        f('webhook_url', 'char'),
        f('webhook_field_ids', 'many2many', { relation: 'ir.model.fields' }),
        m2o('base_automation_id', 'base.automation'),
        f('usage', 'selection', {
          selection: [
            ['ir_actions_server', 'Server Action'],
            ['ir_cron', 'Scheduled Action'],
            ['base_automation', 'Automation Rule'],
          ],
          default: 'ir_actions_server',
        }),
        f('code', 'text'),
      ],
      { order: 'name' },
    ),
  );
  actionsServer.hooks.beforeCreate = (env, vals) => {
    if (vals.base_automation_id && !vals.model_id) {
      vals.model_id = env.registry.get(env, 'base.automation', vals.base_automation_id as number)?.model_id;
    }
    // base_automation's _compute_name: an action of an automation rule is named after what it does.
    if (vals.base_automation_id && env.registry.version >= 17) vals.name = automatedActionName(vals.state);
  };
  actionsServer.hooks.beforeWrite = (env, ids, vals) => {
    if (env.registry.version < 17 || !['state', 'webhook_url'].some((k) => k in vals)) return;
    const rec = env.registry.get(env, 'ir.actions.server', ids[0]);
    if (vals.base_automation_id ?? rec?.base_automation_id) vals.name = automatedActionName(vals.state ?? rec?.state);
  };

  // -------------------------------------------------------------------------------------- mail
  define(makeModel('mail.message.subtype', 'Message subtypes', 'mail', [f('name', 'char', { required: true }), f('internal', 'boolean')]));
  define(makeModel(
    'mail.message',
    'Message',
    'mail',
    [
      f('model', 'char'),
      f('res_id', 'integer'),
      f('body', 'html'),
      f('subject', 'char'),
      f('record_name', 'char'),
      f('message_type', 'selection', {
        selection: [
          ['email', 'Incoming Email'],
          ['comment', 'Comment'],
          ['email_outgoing', 'Outgoing Email'],
          ['notification', 'System notification'],
          ['auto_comment', 'Automated Targeted Notification'],
          ['user_notification', 'User Specific Notification'],
        ],
        default: 'notification',
      }),
      m2o('subtype_id', 'mail.message.subtype'),
      m2o('author_id', 'res.partner'),
      f('date', 'datetime'),
      f('partner_ids', 'many2many', { relation: 'res.partner' }),
      f('attachment_ids', 'many2many', { relation: 'ir.attachment' }),
      m2o('mail_activity_type_id', 'mail.activity.type', { string: 'Mail Activity Type' }),
    ],
    { order: 'id desc' },
  ));
  defineActivities(reg, define, postMessage);

  // Outgoing e-mails: the send wizard queues one per invoice sent by e-mail (the peer sends none).
  define(makeModel(
    'mail.mail',
    'Outgoing Mails',
    'mail',
    [
      f('subject', 'char'),
      f('model', 'char'),
      f('res_id', 'integer'),
      m2o('mail_message_id', 'mail.message'),
      f('state', 'selection', {
        selection: [
          ['outgoing', 'Outgoing'],
          ['sent', 'Sent'],
          ['received', 'Received'],
          ['exception', 'Delivery Failed'],
          ['cancel', 'Cancelled'],
        ],
        default: 'outgoing',
      }),
      f('recipient_ids', 'many2many', { relation: 'res.partner' }),
      f('attachment_ids', 'many2many', { relation: 'ir.attachment' }),
      f('email_to', 'text'),
    ],
    { order: 'id desc' },
  ));

  // ---------------------------------------------------------------------------------- calendar
  const event = define(
    makeModel(
      'calendar.event',
      'Calendar Event',
      'calendar',
      [
        f('name', 'char', { required: true, string: 'Meeting Subject' }),
        f('start', 'datetime', { required: true }),
        f('stop', 'datetime', { required: true }),
        f('allday', 'boolean'),
        f('duration', 'float', { default: 1 }),
        f('description', 'html'),
        f('location', 'char'),
        f('partner_ids', 'many2many', { relation: 'res.partner', string: 'Attendees' }),
        m2o('user_id', 'res.users', { default: (env: Env) => env.uid }),
        f('active', 'boolean', { default: true }),
        f('privacy', 'selection', {
          selection: [
            ['public', 'Public'],
            ['private', 'Private'],
            ['confidential', 'Only internal users'],
          ],
        }),
        f('show_as', 'selection', {
          selection: [
            ['free', 'Available'],
            ['busy', 'Busy'],
          ],
          default: 'busy',
        }),
      ],
      { order: 'start desc', mailThread: true },
    ),
  );
  event.hooks.beforeCreate = (_env, vals) => {
    if (vals.start && !vals.stop) {
      const start = Date.parse(String(vals.start).replace(' ', 'T') + 'Z');
      if (!Number.isNaN(start)) vals.stop = odooNow(new Date(start + Number(vals.duration ?? 1) * 3600000));
    }
  };
  event.hooks.check = (env, ids) => {
    for (const id of ids) {
      const r = env.registry.get(env, 'calendar.event', id);
      if (r && r.start && r.stop && String(r.stop) < String(r.start)) {
        throw ValidationError(
          `The ending date and time cannot be earlier than the starting date and time.\nMeeting “${String(r.name)}” starts at ${String(r.start)} and ends at ${String(r.stop)}`,
        );
      }
    }
  };

  // ------------------------------------------------------------------------------------ product
  define(makeModel(
    'product.category',
    'Product Category',
    'product',
    [
      f('name', 'char', { required: true }),
      m2o('parent_id', 'product.category'),
      f('complete_name', 'char', { store: false, compute: (env, r) => categoryPath(env, r) }),
    ],
    { order: 'complete_name', displayName: (env, r) => categoryPath(env, r) },
  ));
  const typeSelection: Array<[string, string]> =
    v >= 18
      ? [
          ['consu', 'Goods'],
          ['service', 'Service'],
          ['combo', 'Combo'],
        ]
      : [
          ['consu', 'Consumable'],
          ['service', 'Service'],
          ['product', 'Storable Product'],
        ];
  const template = define(
    makeModel(
      'product.template',
      'Product',
      'product',
      [
        f('name', 'char', { required: true }),
        f('default_code', 'char', { string: 'Internal Reference' }),
        f('description', 'html'),
        f('list_price', 'float', { default: 1, string: 'Sales Price' }),
        f('standard_price', 'float', { string: 'Cost' }),
        f('type', 'selection', { selection: typeSelection, default: 'consu', required: true }),
        ...(v >= 18 ? [f('is_storable', 'boolean', { string: 'Track Inventory' })] : []),
        m2o('categ_id', 'product.category', { default: 1, required: true }),
        f('active', 'boolean', { default: true }),
        f('sale_ok', 'boolean', { default: true }),
        f('purchase_ok', 'boolean', { default: true }),
        f('barcode', 'char'),
        f('product_variant_ids', 'one2many', { relation: 'product.product', inverse: 'product_tmpl_id' }),
        f('qty_available', 'float', { store: false, volatile: true, compute: (env, r) => templateQty(env, r) }),
      ],
      { order: 'name, id', mailThread: true },
    ),
  );
  template.hooks.afterCreate = (env, rec) => {
    if (env.context.create_product_product === false) return;
    env.registry.create({ ...env, context: { ...env.context } }, 'product.product', [{ product_tmpl_id: rec.id }]);
  };
  define(makeModel(
    'product.product',
    'Product Variant',
    'product',
    [
      m2o('product_tmpl_id', 'product.template', { required: true, string: 'Product Template' }),
      f('default_code', 'char', { string: 'Internal Reference' }),
      f('barcode', 'char'),
      f('active', 'boolean', { default: true }),
      f('lst_price', 'float', { store: false, compute: (env, r) => env.registry.raw(env, env.registry.models.get('product.product')!, r, 'list_price') }),
      f('qty_available', 'float', { store: false, volatile: true, compute: (env, r) => productQty(env, r.id) }),
      f('virtual_available', 'float', { store: false, volatile: true, compute: (env, r) => productQty(env, r.id) }),
    ],
    {
      order: 'default_code, name, id',
      mailThread: true,
      inherits: { model: 'product.template', field: 'product_tmpl_id' },
      displayName: (env, r) => {
        const def = env.registry.models.get('product.product')!;
        const name = String(env.registry.raw(env, def, r, 'name') || '');
        const code = r.default_code || env.registry.raw(env, def, r, 'default_code');
        return code ? `[${String(code)}] ${name}` : name;
      },
    },
  ));

  // -------------------------------------------------------------------------------------- stock
  define(makeModel(
    'stock.location',
    'Inventory Locations',
    'stock',
    [
      f('name', 'char', { required: true }),
      f('complete_name', 'char'),
      f('usage', 'selection', {
        selection: [
          ['supplier', 'Vendor'],
          ['view', 'View'],
          ['internal', 'Internal'],
          ['customer', 'Customer'],
          ['inventory', 'Inventory Loss'],
          ['production', 'Production'],
          ['transit', 'Transit'],
        ],
        default: 'internal',
      }),
      f('active', 'boolean', { default: true }),
    ],
    { order: 'complete_name, id', displayName: (_e, r) => String(r.complete_name || r.name) },
  ));
  define(makeModel('stock.warehouse', 'Warehouse', 'stock', [
    f('name', 'char', { required: true }),
    f('code', 'char'),
    m2o('lot_stock_id', 'stock.location'),
    f('active', 'boolean', { default: true }),
  ]));
  const stockMove = define(
    makeModel(
      'stock.move',
      'Stock Move',
      'stock',
      [
        f('name', 'char', { required: true, string: 'Description' }),
        m2o('product_id', 'product.product', { required: true }),
        f('product_uom_qty', 'float', { string: 'Demand' }),
        f('quantity', 'float'),
        m2o('location_id', 'stock.location', { required: true }),
        m2o('location_dest_id', 'stock.location', { required: true }),
        f('state', 'selection', {
          selection: [
            ['draft', 'New'],
            ['waiting', 'Waiting Another Move'],
            ['confirmed', 'Waiting Availability'],
            ['partially_available', 'Partially Available'],
            ['assigned', 'Available'],
            ['done', 'Done'],
            ['cancel', 'Cancelled'],
          ],
          default: 'draft',
        }),
        // reference: the picking's name, else the move's name (a computed, stored field); origin is free text.
        f('reference', 'char', { readonly: true }),
        f('origin', 'char', { string: 'Source Document' }),
        f('date', 'datetime'),
        f('is_inventory', 'boolean'),
        f('picked', 'boolean'),
        m2o('company_id', 'res.company', { default: 1 }),
        f('move_line_ids', 'one2many', { relation: 'stock.move.line', inverse: 'move_id', string: 'Operations' }),
      ],
      {
        order: 'id',
        displayName: (env, r) => {
          const reg = env.registry;
          const code = reg.get(env, 'product.product', r.product_id as number)?.default_code;
          const loc = (id: unknown) => String(reg.get(env, 'stock.location', id as number)?.name ?? '');
          return `${code ? `${String(code)}: ` : ''}${loc(r.location_id)}>${loc(r.location_dest_id)}`;
        },
      },
    ),
  );
  stockMove.hooks.beforeCreate = (_env, vals) => {
    vals.reference = vals.name;
  };
  define(makeModel(
    'stock.move.line',
    'Product Moves (Stock Move Line)',
    'stock',
    [
      m2o('move_id', 'stock.move'),
      m2o('product_id', 'product.product', { required: true }),
      f('quantity', 'float'),
      m2o('location_id', 'stock.location', { required: true }),
      m2o('location_dest_id', 'stock.location', { required: true }),
      f('state', 'selection', {
        selection: [
          ['draft', 'New'],
          ['assigned', 'Available'],
          ['done', 'Done'],
          ['cancel', 'Cancelled'],
        ],
        store: false,
        related: ['move_id', 'state'],
      }),
      f('reference', 'char', { store: false, related: ['move_id', 'reference'] }),
      f('origin', 'char', { store: false, related: ['move_id', 'origin'] }),
      f('is_inventory', 'boolean', { store: false, related: ['move_id', 'is_inventory'] }),
      f('date', 'datetime'),
      f('picked', 'boolean'),
    ],
    {
      displayName: (env, r) => env.registry.displayName(env, 'product.product', env.registry.get(env, 'product.product', r.product_id as number) ?? { id: 0 }),
    },
  ));
  const quant = define(
    makeModel('stock.quant', 'Quants', 'stock', [
      m2o('product_id', 'product.product', { required: true }),
      m2o('location_id', 'stock.location', { required: true }),
      f('quantity', 'float', { readonly: true }),
      f('reserved_quantity', 'float'),
      f('inventory_quantity', 'float', { string: 'Counted Quantity' }),
      // Stored when inventory_quantity is set (its only dependency), so a move in between makes the count outdated.
      f('inventory_diff_quantity', 'float', { string: 'Difference', readonly: true }),
      f('inventory_quantity_set', 'boolean'),
      f('inventory_date', 'date', { string: 'Scheduled Date' }),
      m2o('user_id', 'res.users', { string: 'Assigned To' }),
      f('is_outdated', 'boolean', {
        store: false,
        volatile: true,
        compute: (_e, r) =>
          Boolean(r.inventory_quantity_set) && Number(r.inventory_quantity ?? 0) - Number(r.inventory_diff_quantity ?? 0) !== Number(r.quantity ?? 0),
      }),
    ]),
  );
  const INVENTORY_CREATE_FIELDS = [
    'product_id',
    'owner_id',
    'inventory_quantity',
    'inventory_quantity_auto_apply',
    'inventory_diff_quantity',
    'inventory_date',
    'user_id',
    'inventory_quantity_set',
    'is_outdated',
    'lot_id',
    'location_id',
    'package_id',
  ];
  quant.methods.create = {
    api: 'model',
    params: ['vals_list'],
    fn: (env, _ids, p) => {
      const single = p.vals_list && !Array.isArray(p.vals_list);
      const list = (single ? [p.vals_list] : p.vals_list) as Array<Record<string, unknown>>;
      if (!Array.isArray(list)) throw TypeErr(`create() takes a dict or a list of dicts, got ${typeof p.vals_list}`);
      const ids: number[] = [];
      for (const vals of list) {
        // stock.quant.create: in inventory mode, a count (inventory_quantity) on the quant of that product and
        // location, created empty when missing, assigned to the user and dated today.
        if (!env.context.inventory_mode || !('inventory_quantity' in vals)) throw UserError("Quant's creation is restricted, you can't do this operation.");
        if (Object.keys(vals).some((k) => !INVENTORY_CREATE_FIELDS.includes(k)))
          throw UserError("Quant's creation is restricted, you can't do this operation.");
        const productId = Number(vals.product_id);
        const productRec = env.registry.get(env, 'product.product', productId);
        if (!productRec) throw missingRecord('product.product', [productId], env.uid);
        if (!isStorable(env, productRec)) throw ValidationError('Quants cannot be created for consumables or services.');
        const locationId = Number(vals.location_id ?? 8);
        let id = env.registry.search(
          env,
          'stock.quant',
          [
            ['product_id', '=', productId],
            ['location_id', '=', locationId],
          ],
          { limit: 1 },
        )[0];
        if (id === undefined) [id] = env.registry.create(env, 'stock.quant', [{ product_id: productId, location_id: locationId, quantity: 0 }]);
        env.registry.write(env, 'stock.quant', [id], { inventory_quantity: vals.inventory_quantity || 0 });
        env.registry.write(env, 'stock.quant', [id], { user_id: vals.user_id ?? env.uid });
        env.registry.write(env, 'stock.quant', [id], { inventory_date: today(env) });
        ids.push(id);
      }
      return single ? ids[0] : ids;
    },
  };
  quant.hooks.beforeWrite = (env, ids, vals) => {
    if ('inventory_quantity' in vals) {
      if (!('inventory_quantity_set' in vals)) vals.inventory_quantity_set = true;
      // _compute_inventory_diff_quantity, stored: one record at a time when they differ.
      if (!('inventory_diff_quantity' in vals) && ids.length === 1) {
        vals.inventory_diff_quantity = Number(vals.inventory_quantity || 0) - Number(env.registry.get(env, 'stock.quant', ids[0])?.quantity ?? 0);
      }
    }
  };
  // action_apply_inventory returns None (no result over JSON-RPC, the marshal fault over XML-RPC, both
  // after the commit), or the conflict wizard when a count is outdated.
  quant.methods.action_apply_inventory = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      const reg = env.registry;
      const missing = ids.find((id) => !reg.get(env, 'stock.quant', id));
      if (missing !== undefined) throw missingRecord('stock.quant', [missing], env.uid);
      const quants = ids.map((id) => reg.get(env, 'stock.quant', id) as Rec);
      const qdef = reg.modelOrFail('stock.quant');
      const outdated = quants.filter((q) => reg.raw(env, qdef, q, 'is_outdated'));
      if (outdated.length && !env.context.set_inventory_quantity_auto_apply) {
        return {
          name: 'Conflict in Inventory Adjustment',
          type: 'ir.actions.act_window',
          view_mode: 'form',
          views: [[false, 'form']],
          res_model: 'stock.inventory.conflict',
          target: 'new',
          context: { ...env.context, default_quant_ids: ids, default_quant_to_fix_ids: outdated.map((q) => q.id) },
        };
      }
      for (const q of quants) {
        // The peer's quants exist only once counted; an uncounted one is left alone.
        if (!q.inventory_quantity_set) continue;
        applyInventory(env, q);
      }
      for (const id of ids) reg.write(env, 'stock.quant', [id], { inventory_quantity_set: false });
      return undefined;
    },
  };
  defineTransfers(reg, define);
  const orderpoint = define(
    makeModel('stock.warehouse.orderpoint', 'Minimum Inventory Rule', 'stock', [
      f('name', 'char', {
        required: true,
        default: (env: Env) => `OP/${String(env.registry.tables.get('stock.warehouse.orderpoint')!.size + 1).padStart(5, '0')}`,
      }),
      m2o('product_id', 'product.product', { required: true }),
      m2o('location_id', 'stock.location', { default: 8, required: true }),
      m2o('warehouse_id', 'stock.warehouse', { default: 1, required: true }),
      f('product_min_qty', 'float', { string: 'Min Quantity' }),
      f('product_max_qty', 'float', { string: 'Max Quantity' }),
      f('trigger', 'selection', {
        selection: [
          ['auto', 'Auto'],
          ['manual', 'Manual'],
        ],
        default: 'auto',
      }),
      f('active', 'boolean', { default: true }),
      m2o('company_id', 'res.company', { default: 1 }),
      f('qty_on_hand', 'float', { store: false, volatile: true, compute: (env, r) => productQty(env, r.product_id as number) }),
    ]),
  );
  orderpoint.hooks.check = (env, ids) => {
    for (const id of ids) {
      const r = env.registry.get(env, 'stock.warehouse.orderpoint', id)!;
      if (Number(r.product_min_qty ?? 0) > Number(r.product_max_qty ?? 0))
        throw ValidationError('The minimum quantity must be less than or equal to the maximum quantity.');
      const dupes = env.registry.search(env, 'stock.warehouse.orderpoint', [
        ['product_id', '=', r.product_id],
        ['location_id', '=', r.location_id],
        ['id', '!=', id],
      ]);
      if (dupes.length) throw ValidationError('The operation cannot be completed: A replenishment rule already exists for this product on this location.');
    }
  };

  // ------------------------------------------------------------------------------------ account
  const move = define(
    makeModel(
      'account.move',
      'Journal Entry',
      'account',
      [
        f('name', 'char', { default: '/', string: 'Number' }),
        f('move_type', 'selection', {
          selection: [
            ['entry', 'Journal Entry'],
            ['out_invoice', 'Customer Invoice'],
            ['out_refund', 'Customer Credit Note'],
            ['in_invoice', 'Vendor Bill'],
            ['in_refund', 'Vendor Credit Note'],
            ['out_receipt', 'Sales Receipt'],
            ['in_receipt', 'Purchase Receipt'],
          ],
          default: 'entry',
          required: true,
          string: 'Type',
        }),
        m2o('partner_id', 'res.partner', { string: 'Partner' }),
        f('invoice_date', 'date', { string: 'Invoice/Bill Date' }),
        f('invoice_date_due', 'date'),
        f('date', 'date', { default: (env: Env) => today(env) }),
        f('ref', 'char'),
        f('invoice_origin', 'char'),
        f('narration', 'html'),
        f('state', 'selection', {
          selection: [
            ['draft', 'Draft'],
            ['posted', 'Posted'],
            ['cancel', 'Cancelled'],
          ],
          default: 'draft',
          readonly: true,
          string: 'Status',
        }),
        f('payment_state', 'selection', {
          selection: [
            ['not_paid', 'Not Paid'],
            ['in_payment', 'In Payment'],
            ['paid', 'Paid'],
            ['partial', 'Partially Paid'],
            ['reversed', 'Reversed'],
          ],
          default: 'not_paid',
        }),
        f('invoice_line_ids', 'one2many', { relation: 'account.move.line', inverse: 'move_id', string: 'Invoice lines' }),
        f('amount_untaxed', 'monetary', { store: false, volatile: true, compute: (env, r) => moveTotal(env, r.id) }),
        f('amount_tax', 'monetary', { store: false, compute: () => 0 }),
        f('amount_total', 'monetary', { store: false, volatile: true, compute: (env, r) => moveTotal(env, r.id) }),
        f('amount_residual', 'monetary', { store: false, volatile: true, compute: (env, r) => (r.payment_state === 'paid' ? 0 : moveTotal(env, r.id)) }),
        m2o('invoice_pdf_report_id', 'ir.attachment', { string: 'PDF Attachment', readonly: true }),
        f('is_move_sent', 'boolean', { readonly: true }),
        m2o('message_main_attachment_id', 'ir.attachment', { string: 'Main Attachment' }),
        f('access_token', 'char', { string: 'Security Token' }),
        f('sending_data', 'json'),
      ],
      {
        order: 'date desc, name desc, id desc',
        mailThread: true,
        displayName: (_e, r) => (r.name && r.name !== '/' ? String(r.name) : `Draft Invoice (* ${r.id})`),
      },
    ),
  );
  move.methods.action_post = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      for (const id of ids) {
        const r = env.registry.get(env, 'account.move', id);
        if (!r) throw missingRecord('account.move', [id], env.uid);
        if (r.state === 'posted') throw UserError('The entry ' + String(r.name) + ' (id ' + id + ') is already posted.');
        const isInvoice = String(r.move_type).startsWith('out_') || String(r.move_type).startsWith('in_');
        if (isInvoice && !r.partner_id) throw UserError(`The field 'Customer' is required, please complete it to validate the Customer Invoice.`);
        const lines = env.registry.search(env, 'account.move.line', [['move_id', '=', id]]);
        if (!lines.length) throw UserError('You need to add a line before posting.');
        const year = String(r.invoice_date || today(env)).slice(0, 4);
        const prefix = r.move_type === 'out_invoice' ? 'INV' : r.move_type === 'out_refund' ? 'RINV' : r.move_type === 'in_invoice' ? 'BILL' : 'MISC';
        const seq =
          env.registry.search(env, 'account.move', [
            ['state', '=', 'posted'],
            ['move_type', '=', r.move_type],
          ]).length + 1;
        const name = `${prefix}/${year}/${String(seq).padStart(5, '0')}`;
        env.registry.write({ ...env, context: { ...env.context, __posting: true } }, 'account.move', [id], {
          name,
          invoice_date: r.invoice_date || today(env),
          state: 'posted',
        });
      }
      return false;
    },
  };
  // button_draft and button_cancel return None (action_post returns False).
  move.methods.button_draft = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      env.registry.write({ ...env, context: { ...env.context, __posting: true } }, 'account.move', ids, { state: 'draft' });
      return undefined;
    },
  };
  move.methods.button_cancel = {
    api: 'records',
    params: [],
    fn: (env, ids) => {
      for (const id of ids) if (env.registry.get(env, 'account.move', id)?.state !== 'draft') throw UserError('Only draft journal entries can be cancelled.');
      env.registry.write({ ...env, context: { ...env.context, __posting: true } }, 'account.move', ids, { state: 'cancel' });
      return undefined;
    },
  };
  move.hooks.beforeWrite = (env, ids, vals) => {
    if (env.context.__posting) return;
    if ('state' in vals) throw UserError('The state of an entry changes through its buttons (action_post, button_draft), not by writing it.');
    for (const id of ids) {
      const r = env.registry.get(env, 'account.move', id);
      if (r?.state === 'posted' && Object.keys(vals).some((k) => ['invoice_line_ids', 'partner_id', 'move_type', 'invoice_date', 'name'].includes(k))) {
        throw UserError(`You cannot modify a posted entry of this journal.\nEntry: ${String(r.name)}`);
      }
    }
  };
  move.hooks.beforeUnlink = (env, ids) => {
    for (const id of ids)
      if (env.registry.get(env, 'account.move', id)?.state === 'posted') throw UserError('You cannot delete an entry which has been posted once.');
  };
  define(makeModel('account.move.line', 'Journal Item', 'account', [
    m2o('move_id', 'account.move', { required: true }),
    f('name', 'char', { string: 'Label' }),
    m2o('product_id', 'product.product'),
    f('quantity', 'float', { default: 1 }),
    f('price_unit', 'float'),
    f('price_subtotal', 'monetary', { store: false, compute: (_e, r) => Number(r.quantity ?? 0) * Number(r.price_unit ?? 0) }),
  ]));

  // The send wizard: Odoo 18+ account.move.send.wizard (one move), Odoo 17 account.move.send.
  const wizardName = v >= 18 ? 'account.move.send.wizard' : 'account.move.send';
  const wizard = define(
    makeModel(
      wizardName,
      v >= 18 ? 'Account Move Send Wizard' : 'Account Move Send',
      'account',
      v >= 18
        ? [m2o('move_id', 'account.move', { required: true }), f('sending_methods', 'json'), f('mail_partner_ids', 'many2many', { relation: 'res.partner' })]
        : [
            f('move_ids', 'many2many', { relation: 'account.move' }),
            f('checkbox_send_mail', 'boolean', { default: true }),
            f('checkbox_download', 'boolean', { default: true }),
          ],
      { transient: true },
    ),
  );
  wizard.hooks.beforeCreate = (env, vals) => {
    const active = (env.context.active_ids as number[] | undefined) ?? (v < 18 && env.context.active_id ? [env.context.active_id as number] : []);
    if (v >= 18) {
      // default_get: move_id = context['active_ids'][0]
      if (vals.move_id === undefined) {
        if (!active.length) throw new PyException('builtins.IndexError', 'list index out of range', 'builtin');
        vals.move_id = active[0];
      }
    } else if (env.context.active_model !== 'account.move' || !active.length) {
      throw UserError('You can only send invoices from a list or form of invoices (the context needs active_model and active_ids).');
    }
    const moveIds = v >= 18 ? [Number(vals.move_id)] : active;
    for (const id of moveIds) {
      const m = env.registry.get(env, 'account.move', id);
      if (!m) throw missingRecord('account.move', [id], env.uid);
      // account.move.send._check_move_constrains
      if (m.state !== 'posted') throw UserError("You can't generate invoices that are not posted.");
      if (!['out_invoice', 'out_refund', 'out_receipt'].includes(String(m.move_type))) throw UserError('You can only generate sales documents.');
    }
    if (v >= 18) {
      const partnerId = env.registry.get(env, 'account.move', moveIds[0])?.partner_id as number | false;
      const preferred = partnerId ? env.registry.get(env, 'res.partner', partnerId)?.invoice_sending_method : false;
      // The partner's preferred method, else e-mail (whether or not the partner has an address).
      if (vals.sending_methods === undefined) vals.sending_methods = [preferred || 'email'];
      if (vals.mail_partner_ids === undefined && partnerId) vals.mail_partner_ids = [[6, 0, [partnerId]]];
    } else {
      vals.move_ids = active;
    }
  };
  wizard.methods.action_send_and_print = {
    api: 'records',
    params: ['allow_fallback_pdf'],
    fn: (env, ids) => {
      const reg = env.registry;
      if (v >= 18 && ids.length !== 1) throw ValueErr(`Expected singleton: ${wizardName}(${ids.join(', ')}${ids.length === 1 ? ',' : ''})`);
      let result: Record<string, unknown> = { type: 'ir.actions.act_window_close' };
      for (const id of ids) {
        const w = reg.get(env, wizardName, id);
        if (!w) throw missingRecord(wizardName, [id], env.uid);
        const moveIds = v >= 18 ? [w.move_id as number] : ((w.move_ids as number[]) ?? []);
        const methods = v >= 18 ? (Array.isArray(w.sending_methods) ? (w.sending_methods as string[]) : []) : w.checkbox_send_mail ? ['email'] : [];
        const attachments: number[] = [];
        for (const moveId of moveIds) {
          const move = reg.get(env, 'account.move', moveId) as Rec;
          const partnerId = move.partner_id as number | false;
          const sys = { ...env, uid: 1 };
          // _update_preferred_settings: one method chosen and none preferred yet → it becomes the partner's.
          if (v >= 18 && methods.length === 1 && partnerId && !reg.get(env, 'res.partner', partnerId)?.invoice_sending_method) {
            reg.write(sys, 'res.partner', [partnerId], { invoice_sending_method: methods[0] });
          }
          const wasSent = Boolean(move.is_move_sent);
          const attachmentId = generateInvoicePdf(env, moveId, false);
          attachments.push(attachmentId);
          if (methods.includes('email') && partnerId) {
            const att = reg.get(sys, 'ir.attachment', attachmentId) as Rec;
            const [copy] = reg.create(sys, 'ir.attachment', [
              { name: att.name, datas: att.datas, mimetype: 'application/pdf', res_model: 'mail.compose.message', res_id: 0 },
            ]);
            reg.sentMail.push({ model: 'account.move', resId: moveId, partnerId, attachmentId: copy });
            const messageId = postMessage(env, 'account.move', moveId, {
              body: 'Invoice sent by e-mail',
              message_type: 'comment',
              subtype_xmlid: 'mail.mt_comment',
              attachment_ids: [copy],
              partner_ids: [partnerId],
            });
            // account.move.send._send_mail: the message's copy of the PDF is not left attached to the invoice.
            reg.write(sys, 'ir.attachment', [copy], { res_id: false });
            reg.create(sys, 'mail.mail', [
              {
                subject: `Invoice (Ref ${String(move.name)})`,
                model: 'account.move',
                res_id: moveId,
                mail_message_id: messageId,
                recipient_ids: [[6, 0, [partnerId]]],
                attachment_ids: [[6, 0, [copy]]],
              },
            ]);
          }
          // sending_data is written in any case: the invoice's write_date moves even when nothing else does.
          reg.write({ ...sys, context: { ...env.context, __posting: true } }, 'account.move', [moveId], { sending_data: false });
          // The tracking note of is_move_sent comes last, when the transaction flushes its tracking.
          if (!wasSent && reg.installed.has('mail'))
            postMessage(env, 'account.move', moveId, { body: '', message_type: 'notification', subtype_xmlid: 'mail.mt_note' });
        }
        if (v >= 18 && methods.includes('manual'))
          result = { type: 'ir.actions.act_url', url: `/account/download_invoice_attachments/${attachments.join(',')}`, close: true };
        if (v < 18 && w.checkbox_download)
          result = { type: 'ir.actions.act_url', url: `/account/download_invoice_documents/${moveIds.join(',')}/pdf`, close: true };
      }
      return result;
    },
  };
  // portal.mixin: the customer link, with an access token created (and written) the first time.
  move.methods.get_portal_url = {
    api: 'records',
    params: ['suffix', 'report_type', 'download', 'query_string', 'anchor'],
    fn: (env, ids, p) => {
      if (ids.length !== 1) throw ValueErr(`Expected singleton: account.move(${ids.join(', ')}${ids.length === 1 ? ',' : ''})`);
      const reg = env.registry;
      const m = reg.get(env, 'account.move', ids[0]);
      if (!m) throw missingRecord('account.move', ids, env.uid);
      let token = m.access_token as string | false;
      if (!token) {
        token = randomUUID();
        reg.write({ ...env, uid: 1, context: { ...env.context, __posting: true } }, 'account.move', ids, { access_token: token });
      }
      const query = [
        `access_token=${token}`,
        p.report_type ? `report_type=${String(p.report_type)}` : '',
        p.download ? 'download=true' : '',
        String(p.query_string ?? '').replace(/^&/, ''),
      ]
        .filter(Boolean)
        .join('&');
      return `/my/invoices/${ids[0]}${String(p.suffix ?? '')}?${query}${String(p.anchor ?? '')}`;
    },
  };

  // ------------------------------------------------------------------------------ base_automation
  const automation = define(
    makeModel('base.automation', 'Automation Rule', 'base_automation', [
      f('name', 'char', { required: true, string: 'Automation Rule Name' }),
      m2o('model_id', 'ir.model', { required: true }),
      f('model_name', 'char', { store: false, related: ['model_id', 'model'] }),
      f('trigger', 'selection', {
        required: true,
        selection: [
          ['on_stage_set', 'Stage is set to'],
          ['on_user_set', 'User is set'],
          ['on_tag_set', 'Tag is added'],
          ['on_state_set', 'State is set to'],
          ['on_priority_set', 'Priority is set to'],
          ['on_archive', 'On archived'],
          ['on_unarchive', 'On unarchived'],
          ['on_create_or_write', 'On save'],
          ['on_create', 'On creation'],
          ['on_write', 'On update'],
          ['on_unlink', 'On deletion'],
          ['on_change', 'On UI change'],
          ['on_time', 'Based on date field'],
          ['on_time_created', 'After creation'],
          ['on_time_updated', 'After last update'],
          ['on_message_received', 'On incoming message'],
          ['on_message_sent', 'On outgoing message'],
          ['on_webhook', 'On webhook'],
        ],
      }),
      f('trigger_field_ids', 'many2many', { relation: 'ir.model.fields', string: 'Trigger Fields' }),
      f('filter_domain', 'char', { string: 'Apply on' }),
      f('filter_pre_domain', 'char', { string: 'Before Update Domain' }),
      f('action_server_ids', 'one2many', {
        relation: 'ir.actions.server',
        inverse: 'base_automation_id',
        string: 'Actions',
        context: { default_usage: 'base_automation' },
      }),
      f('active', 'boolean', { default: true }),
      f('description', 'html'),
    ]),
  );
  // Odoo 18's computed (stored, editable) filter_domain and trigger_field_ids: an archive rule filters on
  // active; "On save" watches the fields its domain names (added to those it has); the other triggers
  // watch their own field (none for on_create / on_write: every field). Values given explicitly win.
  automation.hooks.beforeCreate = (env, vals) => {
    const trigger = String(vals.trigger ?? '');
    if (vals.filter_domain === undefined && (trigger === 'on_archive' || trigger === 'on_unarchive'))
      vals.filter_domain = `[('active', '=', ${trigger === 'on_archive' ? 'False' : 'True'})]`;
    if (vals.trigger_field_ids === undefined)
      vals.trigger_field_ids = [[6, 0, automationTriggerFields(env, Number(vals.model_id), trigger, vals.filter_domain, [])]];
  };
  automation.hooks.beforeWrite = (env, ids, vals) => {
    if ('trigger_field_ids' in vals || !['trigger', 'filter_domain', 'model_id'].some((k) => k in vals)) return;
    const rec = env.registry.get(env, 'base.automation', ids[0]);
    if (!rec) return;
    const current = (rec.trigger_field_ids as number[] | undefined) ?? [];
    vals.trigger_field_ids = [
      [
        6,
        0,
        automationTriggerFields(
          env,
          Number(vals.model_id ?? rec.model_id),
          String(vals.trigger ?? rec.trigger),
          'filter_domain' in vals ? vals.filter_domain : rec.filter_domain,
          current,
        ),
      ],
    ];
  };

  // mail.thread's message_post on every model that has a chatter.
  for (const def of reg.models.values()) addMessagePost(def);
}

/** The name base_automation gives the actions of a rule (ir_actions_server.py _compute_name). */
function automatedActionName(state: unknown): string {
  switch (state) {
    case 'webhook':
      return 'Send Webhook Notification';
    case 'code':
      return 'Execute Code';
    case 'multi':
      return 'Execute Existing Actions';
    default:
      return String(state ?? '');
  }
}

/** base_automation.py DOMAIN_FIELDS_RE: the fields a domain text names (without evaluating it). */
const DOMAIN_FIELDS_RE = /[([]\s*(['"])([a-z]\w*)(?:\.[.\w]*)?\1(?:[^,]*?,){2}[^,]*?[()[\]]/g;

function automationTriggerFields(env: Env, modelId: number, trigger: string, filterDomain: unknown, current: number[]): number[] {
  const reg = env.registry;
  const model = reg.get(env, 'ir.model', modelId)?.model;
  const fieldId = (name: string) =>
    reg.search(
      { ...env, uid: 1 },
      'ir.model.fields',
      [
        ['model', '=', model],
        ['name', '=', name],
      ],
      { limit: 1 },
    )[0];
  if (trigger === 'on_create_or_write') {
    const out = [...current];
    for (const m of String(filterDomain || '').matchAll(DOMAIN_FIELDS_RE)) {
      const id = fieldId(m[2]);
      if (id !== undefined && !out.includes(id)) out.push(id);
    }
    return out;
  }
  if (trigger === 'on_archive' || trigger === 'on_unarchive') {
    const id = fieldId('active') ?? fieldId('x_active');
    return id === undefined ? [] : [id];
  }
  const specific: Record<string, string[]> = {
    on_stage_set: ['stage_id', 'x_studio_stage_id'],
    on_tag_set: ['tag_ids', 'x_studio_tag_ids'],
    on_priority_set: ['priority', 'x_studio_priority'],
    on_state_set: ['state', 'x_studio_state'],
    on_user_set: ['user_id', 'user_ids', 'x_studio_user_id', 'x_studio_user_ids'],
  };
  for (const name of specific[trigger] ?? []) {
    const id = fieldId(name);
    if (id !== undefined) return [id];
  }
  return [];
}

function addMessagePost(def: ModelDef): void {
  def.methods.message_post = {
    api: 'records',
    params: [
      'body',
      'subject',
      'message_type',
      'subtype_xmlid',
      'subtype_id',
      'partner_ids',
      'attachment_ids',
      'author_id',
      'email_from',
      'body_is_html',
      'parent_id',
      'attachments',
    ],
    fn: (env, ids, p) => {
      if (ids.length !== 1) throw ValueErr(`Expected singleton: ${def.name}(${ids.join(', ')}${ids.length === 1 ? ',' : ''})`);
      if (!env.registry.get(env, def.name, ids[0])) throw missingRecord(def.name, ids, env.uid);
      env.registry.checkAccess(env, def.name, 'read');
      return postMessage(env, def.name, ids[0], p);
    },
  };
}

function postMessage(env: Env, model: string, resId: number, p: Record<string, unknown>): number {
  const reg = env.registry;
  let subtypeId = p.subtype_id as number | undefined;
  if (p.subtype_xmlid) {
    const [module, name] = String(p.subtype_xmlid).split('.');
    const data = reg.search(
      { ...env, uid: 1 },
      'ir.model.data',
      [
        ['module', '=', module],
        ['name', '=', name],
      ],
      { limit: 1 },
    )[0];
    if (!data) throw ValueErr(`External ID not found in the system: ${String(p.subtype_xmlid)}`);
    subtypeId = reg.get(env, 'ir.model.data', data)?.res_id as number;
  }
  const messageType = (p.message_type as string | undefined) ?? 'notification';
  if (messageType === 'user_notification') throw ValueErr('Use message_notify to send a notification to an user.');
  const user = reg.users.get(env.uid);
  const sys = { ...env, uid: 1 };
  const [id] = reg.create(sys, 'mail.message', [
    {
      model,
      res_id: resId,
      body: p.body ?? '',
      subject: p.subject ?? false,
      message_type: messageType,
      subtype_id: subtypeId ?? false,
      author_id: (p.author_id as number | undefined) ?? user?.partnerId ?? false,
      date: env.txn.now.slice(0, 19),
      partner_ids: (p.partner_ids as number[] | undefined) ?? [],
      attachment_ids: (p.attachment_ids as number[] | undefined) ?? [],
      record_name: reg.displayName(env, model, reg.get(env, model, resId)!),
    },
  ]);
  for (const att of (p.attachment_ids as number[] | undefined) ?? []) reg.write(sys, 'ir.attachment', [att], { res_model: model, res_id: resId });
  return id;
}

/**
 * account.move.send._link_invoice_documents: renders the invoice PDF once, stores it as the attachment of
 * the binary field invoice_pdf_report_file (res_field set, so plain ir.attachment searches do not list
 * it), makes it the main attachment and sets is_move_sent (a tracked field: a note in the chatter).
 */
function generateInvoicePdf(env: Env, moveId: number, track = true): number {
  const reg = env.registry;
  const m = reg.get(env, 'account.move', moveId);
  if (!m) throw missingRecord('account.move', [moveId], env.uid);
  if (m.invoice_pdf_report_id) return m.invoice_pdf_report_id as number;
  const pdf = renderInvoicePdf(env, moveId);
  const sys = { ...env, uid: 1, context: { ...env.context, __posting: true } };
  const [attId] = reg.create(sys, 'ir.attachment', [
    {
      name: `${String(m.name).replace(/\//g, '_')}.pdf`,
      datas: pdf.toString('base64'),
      mimetype: 'application/pdf',
      res_model: 'account.move',
      res_id: moveId,
      res_field: 'invoice_pdf_report_file',
    },
  ]);
  const wasSent = Boolean(m.is_move_sent);
  reg.write(sys, 'account.move', [moveId], { invoice_pdf_report_id: attId, message_main_attachment_id: attId, is_move_sent: true });
  if (track && !wasSent && reg.installed.has('mail'))
    postMessage(env, 'account.move', moveId, { body: '', message_type: 'notification', subtype_xmlid: 'mail.mt_note' });
  return attId;
}

/** The invoice report, stamped with the time of the rendering to the second (a real Odoo 18's wkhtmltopdf does). */
export function renderInvoicePdf(env: Env, moveId: number): Buffer {
  const reg = env.registry;
  const m = reg.get(env, 'account.move', moveId)!;
  const partner = m.partner_id ? reg.get(env, 'res.partner', m.partner_id as number) : undefined;
  const lines = reg.search(env, 'account.move.line', [['move_id', '=', moveId]]).map((id) => reg.get(env, 'account.move.line', id)!);
  return makePdf(
    `Invoice ${String(m.name)}`,
    [
      `Customer: ${String(partner?.name ?? '')}`,
      `Date: ${String(m.invoice_date || '')}`,
      ...lines.map((l) => `${String(l.name ?? '')}  ${Number(l.quantity ?? 0)} x ${Number(l.price_unit ?? 0).toFixed(2)}`),
      `Total: ${moveTotal(env, moveId).toFixed(2)}`,
    ],
    { creationDate: new Date() },
  );
}

function moveTotal(env: Env, moveId: number): number {
  const reg = env.registry;
  let total = 0;
  for (const id of reg.ids(env, 'account.move.line')) {
    const l = reg.get(env, 'account.move.line', id);
    if (l && l.move_id === moveId) total += Number(l.quantity ?? 0) * Number(l.price_unit ?? 0);
  }
  return Math.round(total * 100) / 100;
}

function categoryPath(env: Env, r: Rec): string {
  const parts = [String(r.name)];
  let parent = r.parent_id as number | false;
  for (let i = 0; parent && i < 10; i++) {
    const p = env.registry.get(env, 'product.category', parent);
    if (!p) break;
    parts.unshift(String(p.name));
    parent = p.parent_id as number | false;
  }
  return parts.join(' / ');
}

/**
 * stock.quant._apply_inventory for one quant: a done move (with its move line) from Inventory adjustment
 * into the quant's location for a positive difference, the other way otherwise. Its name is
 * context.inventory_name, else "Product Quantity Updated" ("… Confirmed" for no difference), followed by
 * " (<user>)" while the quant is assigned to a user (_get_inventory_move_values); its reference is the
 * same text (no picking). Other context defaults apply (default_origin sets the move's origin). Then the
 * quant's next inventory date (the company's annual day, 31 December) and a cleared count.
 */
function applyInventory(env: Env, q: Rec): void {
  const reg = env.registry;
  const diff = Number(q.inventory_diff_quantity ?? 0);
  let name =
    typeof env.context.inventory_name === 'string' && env.context.inventory_name
      ? env.context.inventory_name
      : diff === 0
        ? 'Product Quantity Confirmed'
        : 'Product Quantity Updated';
  const user = q.user_id ? reg.get(env, 'res.users', q.user_id as number) : undefined;
  if (user && user.id !== 1) name += ` (${String(user.name)})`;
  const loss = 14;
  const [from, to] = diff > 0 ? [loss, q.location_id] : [q.location_id, loss];
  const qty = Math.abs(diff);
  reg.create({ ...env, context: { ...env.context, inventory_mode: false } }, 'stock.move', [
    {
      name,
      product_id: q.product_id,
      product_uom_qty: qty,
      quantity: qty,
      location_id: from,
      location_dest_id: to,
      state: 'done',
      picked: true,
      date: env.txn.now.slice(0, 19),
      is_inventory: true,
      company_id: 1,
      move_line_ids: [
        [0, 0, { product_id: q.product_id, quantity: qty, location_id: from, location_dest_id: to, date: env.txn.now.slice(0, 19), picked: true }],
      ],
    },
  ]);
  reg.write(env, 'stock.quant', [q.id], { quantity: Number(q.quantity ?? 0) + diff });
  const year = Number(today(env).slice(0, 4));
  reg.write(env, 'stock.quant', [q.id], { inventory_date: today(env) >= `${year}-12-31` ? `${year + 1}-12-31` : `${year}-12-31` });
  reg.write(env, 'stock.quant', [q.id], { inventory_quantity: 0, inventory_diff_quantity: 0, inventory_quantity_set: false, user_id: false });
}

function isStorable(env: Env, productRec: Rec): boolean {
  const def = env.registry.models.get('product.product')!;
  return env.registry.version >= 18
    ? Boolean(env.registry.raw(env, def, productRec, 'is_storable'))
    : env.registry.raw(env, def, productRec, 'type') === 'product';
}

function productQty(env: Env, productId: number): number {
  const reg = env.registry;
  if (!reg.model('stock.quant')) return 0;
  let qty = 0;
  for (const id of reg.ids(env, 'stock.quant')) {
    const q = reg.get(env, 'stock.quant', id);
    if (!q || q.product_id !== productId) continue;
    const loc = reg.get(env, 'stock.location', q.location_id as number);
    if (loc?.usage === 'internal') qty += Number(q.quantity ?? 0);
  }
  return qty;
}

function templateQty(env: Env, tmpl: Rec): number {
  let qty = 0;
  for (const id of env.registry.ids(env, 'product.product')) {
    const p = env.registry.get(env, 'product.product', id);
    if (p && p.product_tmpl_id === tmpl.id) qty += productQty(env, id);
  }
  return qty;
}

/** Reloads the access rules of one model from ir.model.access (Odoo's cache refresh). */
function refreshAccess(reg: Registry, model: string, env?: Env): void {
  const rules: AccessRule[] = [];
  const irModelId = [...reg.ids(env, 'ir.model')].find((id) => reg.get(env, 'ir.model', id)?.model === model);
  if (irModelId === undefined) return;
  for (const id of reg.ids(env, 'ir.model.access')) {
    const a = reg.get(env, 'ir.model.access', id);
    if (!a || a.model_id !== irModelId || a.active === false) continue;
    rules.push({
      groupId: (a.group_id as number) || false,
      read: Boolean(a.perm_read),
      write: Boolean(a.perm_write),
      create: Boolean(a.perm_create),
      unlink: Boolean(a.perm_unlink),
    });
  }
  reg.accessCache.set(model, rules);
}

export function refreshAllAccess(reg: Registry): void {
  for (const def of reg.models.values()) if (def.custom) refreshAccess(reg, def.name);
}

// ------------------------------------------------------------------------------------ installing

function xmlid(reg: Registry, module: string, name: string, model: string, resId: number): void {
  reg.insertRaw('ir.model.data', { module, name, model, res_id: resId });
}

/** Marks modules (and what they depend on) installed, with their data and their ir.model rows. */
export function installModules(reg: Registry, names: string[], env?: Env): void {
  const order: string[] = [];
  const visit = (name: string) => {
    const info = MODULES.find((m) => m.name === name);
    if (!info) throw UserError(`Module ${name} not found`);
    for (const d of info.depends) visit(d);
    if (!reg.installed.has(name) && !order.includes(name)) order.push(name);
  };
  for (const n of names) visit(n);
  for (const name of order) {
    reg.installed.add(name);
    installData(reg, name);
    for (const def of reg.models.values()) if (def.module === name && !def.custom && !def.transient) syncIrModel(reg, def);
    const modRow = [...reg.ids(undefined, 'ir.module.module')].find((id) => reg.get(undefined, 'ir.module.module', id)?.name === name);
    if (modRow !== undefined) {
      const row = reg.tables.get('ir.module.module')!.get(modRow)!;
      row.state = 'installed';
      row.write_date = odooNow(reg.clock());
      reg.bump('ir.module.module');
    }
  }
  // A module install reloads the registry: every cache is fresh afterwards.
  refreshAllAccess(reg);
  void env;
}

function syncIrModel(reg: Registry, def: ModelDef): void {
  const modelId = reg.insertRaw('ir.model', {
    name: def.description,
    model: def.name,
    state: 'base',
    is_mail_thread: Boolean(def.mailThread),
    transient: false,
    modules: def.module,
    order: def.order,
  });
  for (const fname of reg.allFieldNames(def)) {
    const fd = reg.field(def, fname)!;
    reg.insertRaw('ir.model.fields', {
      name: fname,
      field_description: fd.string,
      model_id: modelId,
      model: def.name,
      ttype: fd.type,
      relation: fd.relation ?? false,
      required: Boolean(fd.required),
      readonly: Boolean(fd.readonly),
      store: fd.store !== false,
      state: 'base',
    });
  }
}

function installData(reg: Registry, module: string): void {
  const now = odooNow(reg.clock());
  switch (module) {
    case 'base': {
      for (const m of MODULES)
        reg.insertRaw('ir.module.module', {
          name: m.name,
          shortdesc: m.shortdesc,
          state: 'uninstalled',
          application: ['contacts', 'calendar', 'stock', 'account'].includes(m.name),
        });
      reg.insertRaw('res.groups', { id: 1, name: 'Internal User', full_name: 'Role / User' });
      reg.insertRaw('res.groups', { id: 2, name: 'Settings', full_name: 'Administration / Settings' });
      xmlid(reg, 'base', 'group_user', 'res.groups', 1);
      xmlid(reg, 'base', 'group_system', 'res.groups', 2);
      const countries: Array<[number, string, string]> = [
        [68, 'Spain', 'ES'],
        [75, 'France', 'FR'],
        [183, 'Portugal', 'PT'],
        [233, 'United States', 'US'],
        [156, 'Mexico', 'MX'],
        [46, 'Colombia', 'CO'],
        [10, 'Argentina', 'AR'],
      ];
      for (const [id, name, code] of countries) {
        reg.insertRaw('res.country', { id, name, code });
        xmlid(reg, 'base', code.toLowerCase(), 'res.country', id);
      }
      reg.insertRaw('res.partner', { id: 1, name: 'YourCompany', is_company: true, active: true, type: 'contact', country_id: 68 });
      reg.insertRaw('res.partner', { id: 2, name: 'OdooBot', active: false, type: 'contact', email: 'odoobot@example.com' });
      reg.insertRaw('res.partner', { id: 3, name: 'Mitchell Admin', active: true, type: 'contact', email: 'admin@yourcompany.example.com', parent_id: 1 });
      reg.insertRaw('res.company', { id: 1, name: 'YourCompany', partner_id: 1 });
      xmlid(reg, 'base', 'main_company', 'res.company', 1);
      xmlid(reg, 'base', 'main_partner', 'res.partner', 1);
      for (const u of reg.users.values()) {
        reg.insertRaw('res.users', {
          id: u.id,
          login: u.login,
          name: u.name,
          partner_id: u.partnerId,
          active: u.id !== 1,
          groups_id: u.admin ? [1, 2] : [1],
          company_id: 1,
        });
      }
      xmlid(reg, 'base', 'user_admin', 'res.users', 2);
      break;
    }
    case 'mail':
      reg.insertRaw('mail.message.subtype', { id: 1, name: 'Discussions', internal: false });
      reg.insertRaw('mail.message.subtype', { id: 2, name: 'Note', internal: true });
      xmlid(reg, 'mail', 'mt_comment', 'mail.message.subtype', 1);
      xmlid(reg, 'mail', 'mt_note', 'mail.message.subtype', 2);
      reg.insertRaw('mail.message.subtype', { id: 3, name: 'Activities', internal: true });
      xmlid(reg, 'mail', 'mt_activities', 'mail.message.subtype', 3);
      seedActivities(reg, (module, name, model, resId) => xmlid(reg, module, name, model, resId));
      // Models defined before mail (res.partner …) become mail threads now.
      for (const row of reg.tables.get('ir.model')?.values() ?? []) row.is_mail_thread = Boolean(reg.models.get(row.model as string)?.mailThread);
      break;
    case 'product':
      reg.insertRaw('product.category', { id: 1, name: 'All' });
      xmlid(reg, 'product', 'product_category_all', 'product.category', 1);
      break;
    case 'stock':
      seedTransfers(reg); // partner locations first: ids 4 and 5 come before 7, 8 and 14
      // Odoo's stock data is active (insertRaw applies no defaults).
      reg.insertRaw('stock.location', { id: 7, name: 'WH', complete_name: 'WH', usage: 'view', active: true });
      reg.insertRaw('stock.location', { id: 8, name: 'Stock', complete_name: 'WH/Stock', usage: 'internal', active: true });
      reg.insertRaw('stock.location', {
        id: 14,
        name: 'Inventory adjustment',
        complete_name: 'Virtual Locations/Inventory adjustment',
        usage: 'inventory',
        active: true,
      });
      reg.insertRaw('stock.warehouse', { id: 1, name: 'YourCompany', code: 'WH', lot_stock_id: 8, active: true });
      xmlid(reg, 'stock', 'stock_location_stock', 'stock.location', 8);
      xmlid(reg, 'stock', 'warehouse0', 'stock.warehouse', 1);
      break;
    case 'account':
      reg.insertRaw('ir.actions.report', { name: 'Invoices', report_name: 'account.report_invoice', model: 'account.move', report_type: 'qweb-pdf' });
      reg.insertRaw('ir.actions.report', {
        name: 'Invoices with Payments',
        report_name: 'account.report_invoice_with_payments',
        model: 'account.move',
        report_type: 'qweb-pdf',
      });
      break;
    default:
      break;
  }
  void now;
}

/** Parses an automation rule's filter_domain ("[('x', '=', 1)]"). */
export function parseDomainText(text: unknown): unknown[] {
  if (!text || typeof text !== 'string' || !text.trim()) return [];
  const v = parsePyLiteral(text);
  if (!Array.isArray(v)) throw ValueErr(`Invalid domain ${text}`);
  return v;
}
