/**
 * Seeds an Odoo (17, 18 or 19) with the clinic's modules and test data, through the pack's own client.
 * Idempotent: every record has a stable key (a reference, a code, a name), what exists is compared and
 * only what is missing or different is written, so a second run changes nothing.
 *
 *   npm run build && ODOO_URL=… ODOO_DB=… ODOO_USERNAME=… ODOO_API_KEY=… NODE_RED_URL=http://node-red:1880 \
 *     node dist/seeds/odoo/seed.js
 *
 * It installs contacts, calendar, stock, account and base_automation when missing (ir.module.module
 * button_immediate_install); creates doctors and ~200 patients (res.partner, tag "Paciente" and the
 * custom boolean x_is_patient), appointments (calendar.event), ~100 storable medications in the category
 * "Medicamentos" with reorder rules (min/max) and initial stock, a few posted invoices, the custom models
 * x_medical_record and x_prescription (ir.model with their fields, chatter and access rules given in the
 * same create: a separate ir.model.access is not seen by the following calls on Odoo 18), the fields
 * x_nextcloud_path / x_nextcloud_url on invoices, records and prescriptions, and the automation rules that
 * send webhooks to Node-RED (each with its trigger fields set explicitly, on fields stored on the model).
 */
import { OdooClient } from '../../nodes/clients/odoo/client';
import type { OdooRecord } from '../../nodes/clients/odoo/client';
import * as data from './data';
import { makePdf } from '../lib/pdf';

export const CLINIC_MODULES = ['contacts', 'calendar', 'stock', 'account', 'base_automation'];

/** The Node-RED endpoints the automation rules call (documented in docs/odoo.md). */
export const WEBHOOK_PATHS = {
  patient: '/odoo/webhook/patient',
  appointment: '/odoo/webhook/appointment',
  invoice: '/odoo/webhook/invoice',
  medicalRecord: '/odoo/webhook/medical-record',
  prescription: '/odoo/webhook/prescription',
  stock: '/odoo/webhook/stock',
  medication: '/odoo/webhook/medication',
};

export interface SeedOptions {
  client: OdooClient;
  /** Where Odoo reaches Node-RED (default NODE_RED_URL or http://localhost:1880). */
  nodeRedUrl?: string;
  /** The shared secret the rules' URLs carry as ?token= (default ODOO_WEBHOOK_SECRET; none when empty). */
  webhookSecret?: string;
  patients?: number;
  doctors?: number;
  medications?: number;
  appointments?: number;
  invoices?: number;
  log?: (line: string) => void;
}

export interface SeedReport {
  odooVersion: number;
  installed: string[];
  created: Record<string, number>;
  updated: Record<string, number>;
}

type Vals = Record<string, unknown>;
const ACTIVE_TOO = { active_test: false };

class Seeder {
  readonly report: SeedReport = { odooVersion: 0, installed: [], created: {}, updated: {} };
  private readonly c: OdooClient;
  private readonly log: (line: string) => void;
  private modelIds = new Map<string, number>();

  constructor(private readonly o: SeedOptions) {
    this.c = o.client;
    this.log = o.log ?? (() => undefined);
  }

  private count(kind: 'created' | 'updated', model: string, n: number): void {
    if (n) this.report[kind][model] = (this.report[kind][model] ?? 0) + n;
  }

  // ------------------------------------------------------------------------------------- modules

  async installModules(): Promise<void> {
    const mods = await this.c.searchRead('ir.module.module', { domain: [['name', 'in', CLINIC_MODULES]], fields: ['name', 'state'] });
    const missing = mods.filter((m) => m.state !== 'installed');
    const unknown = CLINIC_MODULES.filter((n) => !mods.some((m) => m.name === n));
    if (unknown.length) throw new Error(`Odoo does not know the modules ${unknown.join(', ')}; update the apps list in Odoo`);
    if (!missing.length) return;
    this.log(`installing ${missing.map((m) => m.name).join(', ')}`);
    await this.c.call('ir.module.module', 'button_immediate_install', [missing.map((m) => m.id)]);
    this.report.installed = missing.map((m) => String(m.name));
  }

  // -------------------------------------------------------------------------------------- helpers

  async modelId(model: string): Promise<number> {
    const known = this.modelIds.get(model);
    if (known) return known;
    const [row] = await this.c.searchRead('ir.model', { domain: [['model', '=', model]], fields: ['id'], limit: 1 });
    if (!row) throw new Error(`model ${model} does not exist in this Odoo`);
    this.modelIds.set(model, row.id);
    return row.id;
  }

  async fieldIds(model: string, names: string[]): Promise<number[]> {
    const rows = await this.c.searchRead('ir.model.fields', {
      domain: [
        ['model', '=', model],
        ['name', 'in', names],
      ],
      fields: ['name'],
    });
    const missing = names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length) throw new Error(`fields ${missing.join(', ')} do not exist on ${model}`);
    return names.map((n) => (rows.find((r) => r.name === n) as OdooRecord).id);
  }

  async xmlid(module: string, name: string): Promise<number> {
    const [row] = await this.c.searchRead('ir.model.data', {
      domain: [
        ['module', '=', module],
        ['name', '=', name],
      ],
      fields: ['res_id'],
      limit: 1,
    });
    if (!row) throw new Error(`External ID ${module}.${name} not found`);
    return row.res_id as number;
  }

  /** A record found by `domain`, created with `vals` when missing; returns its id. */
  async ensureOne(model: string, domain: unknown[], vals: Vals, context?: Vals): Promise<number> {
    const [row] = await this.c.searchRead(model, { domain, fields: ['id'], limit: 1, context: { ...ACTIVE_TOO, ...context } });
    if (row) return row.id;
    const id = await this.c.create(model, vals, context);
    this.count('created', model, 1);
    return id;
  }

  /**
   * Records keyed by `key`: missing ones are created in one call, existing ones get only the values that
   * differ. `createOnly` values (html text, which Odoo rewrites) are set at creation and never compared.
   */
  async ensureRecords(model: string, key: string, desired: Array<{ vals: Vals; createOnly?: Vals }>, context?: Vals): Promise<Map<unknown, number>> {
    const keys = desired.map((d) => d.vals[key]);
    const fields = [...new Set(desired.flatMap((d) => Object.keys(d.vals)))];
    const existing = await this.c.searchReadAll(model, { domain: [[key, 'in', keys]], fields, context: { ...ACTIVE_TOO, ...context }, pageSize: 1000 });
    const byKey = new Map<unknown, OdooRecord>();
    for (const r of existing) byKey.set(keyValue(r[key]), r);
    const toCreate = desired.filter((d) => !byKey.has(keyValue(d.vals[key])));
    const ids = new Map<unknown, number>();
    if (toCreate.length) {
      const created = await this.c.create(
        model,
        toCreate.map((d) => ({ ...d.createOnly, ...d.vals })),
        context,
      );
      toCreate.forEach((d, i) => ids.set(keyValue(d.vals[key]), created[i]));
      this.count('created', model, created.length);
    }
    for (const d of desired) {
      const row = byKey.get(keyValue(d.vals[key]));
      if (!row) continue;
      ids.set(keyValue(d.vals[key]), row.id);
      const changes: Vals = {};
      for (const [f, v] of Object.entries(d.vals)) if (!sameValue(v, row[f])) changes[f] = v;
      if (Object.keys(changes).length) {
        await this.c.write(model, row.id, changes, context);
        this.count('updated', model, 1);
      }
    }
    return ids;
  }

  /** One sample PDF attached to each record that has none yet. */
  async ensureSampleDocuments(model: string, docs: Array<{ id: number | undefined; title: string; lines: string[] }>): Promise<void> {
    const ids = docs.map((d) => d.id).filter((id): id is number => typeof id === 'number');
    const existing = await this.c.searchRead('ir.attachment', {
      domain: [
        ['res_model', '=', model],
        ['res_id', 'in', ids],
        ['mimetype', '=', 'application/pdf'],
      ],
      fields: ['res_id'],
    });
    const attached = new Set(existing.map((a) => a.res_id));
    const missing = docs.filter((d) => typeof d.id === 'number' && !attached.has(d.id));
    if (!missing.length) return;
    await this.c.create(
      'ir.attachment',
      missing.map((d) => ({
        name: `${d.title}.pdf`,
        type: 'binary',
        mimetype: 'application/pdf',
        res_model: model,
        res_id: d.id,
        datas: makePdf(d.title, ['Clínica Universitaria', ...d.lines]).toString('base64'),
      })),
    );
    this.count('created', 'ir.attachment', missing.length);
  }

  /** Fields created through ir.model.fields on any model (custom fields start with x_). */
  async ensureFields(model: string, fields: Array<Vals & { name: string }>): Promise<void> {
    const modelId = await this.modelId(model);
    const existing = await this.c.searchRead('ir.model.fields', {
      domain: [
        ['model', '=', model],
        ['name', 'in', fields.map((f) => f.name)],
      ],
      fields: ['name'],
    });
    for (const f of fields.filter((x) => !existing.some((e) => e.name === x.name))) {
      await this.c.create('ir.model.fields', { ...f, model_id: modelId });
      this.count('created', 'ir.model.fields', 1);
    }
  }

  /** A custom model with its fields, chatter and access rules, all in the ir.model create. */
  async ensureCustomModel(model: string, description: string, fields: Array<Vals & { name: string }>): Promise<void> {
    const [row] = await this.c.searchRead('ir.model', { domain: [['model', '=', model]], fields: ['id'], limit: 1 });
    if (row) {
      this.modelIds.set(model, row.id);
      await this.ensureFields(model, fields);
      return;
    }
    const groupUser = await this.xmlid('base', 'group_user');
    const id = await this.c.create('ir.model', {
      name: description,
      model,
      is_mail_thread: true,
      field_id: fields.map((f) => [0, 0, f]),
      // Given here, the rules work at once; created separately, Odoo 18 does not see them until its caches clear.
      access_ids: [[0, 0, { name: `${model} user`, group_id: groupUser, perm_read: true, perm_write: true, perm_create: true, perm_unlink: true }]],
    });
    this.modelIds.set(model, id);
    this.count('created', 'ir.model', 1);
    this.count('created', 'ir.model.fields', fields.length);
  }

  /** An automation rule that posts a webhook to Node-RED; its trigger fields are set explicitly. */
  async ensureWebhookRule(rule: {
    name: string;
    model: string;
    trigger: 'on_create' | 'on_create_or_write';
    triggerFields: string[];
    filter?: string;
    path: string;
    send: string[];
  }): Promise<void> {
    const secret = (this.o.webhookSecret ?? process.env.ODOO_WEBHOOK_SECRET ?? '').trim();
    const url = `${(this.o.nodeRedUrl ?? process.env.NODE_RED_URL ?? 'http://localhost:1880').replace(/\/+$/, '')}${rule.path}${secret ? `?token=${encodeURIComponent(secret)}` : ''}`;
    const modelId = await this.modelId(rule.model);
    const triggerIds = await this.fieldIds(rule.model, rule.triggerFields);
    const sendIds = await this.fieldIds(rule.model, rule.send);
    const actionName = `Webhook a Node-RED: ${rule.name}`;
    const wanted = {
      name: rule.name,
      model_id: modelId,
      trigger: rule.trigger,
      trigger_field_ids: [[6, 0, triggerIds]],
      filter_domain: rule.filter ?? false,
      active: true,
    };
    const [existing] = await this.c.searchRead('base.automation', {
      domain: [['name', '=', rule.name]],
      fields: ['name', 'model_id', 'trigger', 'trigger_field_ids', 'filter_domain', 'active', 'action_server_ids'],
      limit: 1,
      context: ACTIVE_TOO,
    });
    if (!existing) {
      await this.c.create('base.automation', {
        ...wanted,
        action_server_ids: [[0, 0, { name: actionName, model_id: modelId, state: 'webhook', webhook_url: url, webhook_field_ids: [[6, 0, sendIds]] }]],
      });
      this.count('created', 'base.automation', 1);
      return;
    }
    const changes: Vals = {};
    for (const [k, v] of Object.entries(wanted)) if (!sameValue(v, existing[k])) changes[k] = v;
    if (Object.keys(changes).length) {
      await this.c.write('base.automation', existing.id, changes);
      this.count('updated', 'base.automation', 1);
    }
    const actions = await this.c.read('ir.actions.server', existing.action_server_ids as number[], ['name', 'state', 'webhook_url', 'webhook_field_ids']);
    const action = actions.find((a) => a.state === 'webhook');
    if (!action) {
      await this.c.create('ir.actions.server', {
        name: actionName,
        model_id: modelId,
        base_automation_id: existing.id,
        state: 'webhook',
        webhook_url: url,
        webhook_field_ids: [[6, 0, sendIds]],
      });
      this.count('created', 'ir.actions.server', 1);
    } else if (action.webhook_url !== url || !sameValue([[6, 0, sendIds]], action.webhook_field_ids)) {
      await this.c.write('ir.actions.server', action.id, { webhook_url: url, webhook_field_ids: [[6, 0, sendIds]] });
      this.count('updated', 'ir.actions.server', 1);
    }
  }

  // ----------------------------------------------------------------------------------------- run

  async run(): Promise<SeedReport> {
    this.report.odooVersion = await this.c.majorVersion();
    await this.installModules();
    const v = this.report.odooVersion;

    // Custom fields and models first: the data below uses them.
    const nextcloudFields = [
      { name: 'x_nextcloud_path', field_description: 'Ruta en Nextcloud', ttype: 'char' },
      { name: 'x_nextcloud_url', field_description: 'Enlace de Nextcloud', ttype: 'char' },
    ];
    await this.ensureFields('res.partner', [{ name: 'x_is_patient', field_description: 'Es paciente', ttype: 'boolean' }]);
    await this.ensureFields('account.move', nextcloudFields);
    const recordFields = [
      { name: 'x_name', field_description: 'Referencia', ttype: 'char', required: true },
      { name: 'x_patient_id', field_description: 'Paciente', ttype: 'many2one', relation: 'res.partner' },
      { name: 'x_doctor_id', field_description: 'Médico', ttype: 'many2one', relation: 'res.partner' },
    ];
    await this.ensureCustomModel('x_medical_record', 'Historia clínica', [
      ...recordFields,
      { name: 'x_date', field_description: 'Fecha', ttype: 'datetime' },
      { name: 'x_diagnosis', field_description: 'Diagnóstico', ttype: 'text' },
      ...nextcloudFields,
    ]);
    await this.ensureCustomModel('x_prescription', 'Receta', [
      ...recordFields,
      { name: 'x_date', field_description: 'Fecha', ttype: 'date' },
      { name: 'x_medication_id', field_description: 'Medicamento', ttype: 'many2one', relation: 'product.product' },
      { name: 'x_dosage', field_description: 'Posología', ttype: 'char' },
      ...nextcloudFields,
    ]);

    // People.
    const patientTag = await this.ensureOne('res.partner.category', [['name', '=', 'Paciente']], { name: 'Paciente' });
    const doctorTag = await this.ensureOne('res.partner.category', [['name', '=', 'Médico']], { name: 'Médico' });
    const spain = await this.xmlid('base', 'es');
    const doctors = data.doctors(this.o.doctors ?? 8);
    const doctorIds = await this.ensureRecords(
      'res.partner',
      'ref',
      doctors.map((d) => ({
        vals: {
          ref: d.ref,
          name: d.name,
          email: d.email,
          phone: d.phone,
          street: d.street,
          city: d.city,
          zip: d.zip,
          country_id: spain,
          function: d.function,
          category_id: [[6, 0, [doctorTag]]],
        },
      })),
    );
    const patients = data.patients(this.o.patients ?? 200);
    const patientIds = await this.ensureRecords(
      'res.partner',
      'ref',
      patients.map((p) => ({
        vals: {
          ref: p.ref,
          name: p.name,
          email: p.email,
          phone: p.phone,
          street: p.street,
          city: p.city,
          zip: p.zip,
          vat: p.vat,
          country_id: spain,
          x_is_patient: true,
          category_id: [[6, 0, [patientTag]]],
        },
        createOnly: { comment: p.comment },
      })),
    );

    // Appointments.
    const apps = data.appointments(
      patients.map((p) => p.ref),
      doctors.map((d) => d.ref),
      this.o.appointments ?? 120,
    );
    await this.ensureRecords(
      'calendar.event',
      'name',
      apps.map((a) => ({
        vals: { name: a.name, start: a.start, stop: a.stop, partner_ids: [[6, 0, [patientIds.get(a.patientRef), doctorIds.get(a.doctorRef)]]] },
        createOnly: { description: `${a.description} · ${a.doctorRef}` },
      })),
    );

    // Medications: storable products in "Medicamentos", reorder rules, initial stock.
    const category = await this.ensureOne('product.category', [['name', '=', 'Medicamentos']], { name: 'Medicamentos' });
    const meds = data.medications(this.o.medications ?? 100);
    const storable = v >= 18 ? { type: 'consu', is_storable: true } : { type: 'product' };
    const productIds = await this.ensureRecords(
      'product.product',
      'default_code',
      meds.map((m) => ({
        vals: { default_code: m.code, name: m.name, list_price: m.price, categ_id: category, ...storable, sale_ok: true, purchase_ok: true },
      })),
    );
    const stockLocation = await this.xmlid('stock', 'stock_location_stock');
    await this.ensureRecords(
      'stock.warehouse.orderpoint',
      'product_id',
      meds.map((m) => ({
        vals: { product_id: productIds.get(m.code), location_id: stockLocation, product_min_qty: m.min, product_max_qty: m.max, trigger: 'auto' },
      })),
    );
    await this.initialStock(meds, productIds, stockLocation);

    // Invoices (posted), medical records, prescriptions.
    await this.invoices(
      data.invoices(
        patients.map((p) => p.ref),
        this.o.invoices ?? 6,
      ),
      patientIds,
      productIds,
    );
    const records = data.medicalRecords(
      patients.map((p) => p.ref),
      doctors.map((d) => d.ref),
    );
    const recordIds = await this.ensureRecords(
      'x_medical_record',
      'x_name',
      records.map((r) => ({
        vals: { x_name: r.name, x_patient_id: patientIds.get(r.patientRef), x_doctor_id: doctorIds.get(r.doctorRef), x_date: r.date, x_diagnosis: r.text },
      })),
    );
    const prescriptions = data.prescriptions(
      patients.map((p) => p.ref),
      doctors.map((d) => d.ref),
    );
    const prescriptionIds = await this.ensureRecords(
      'x_prescription',
      'x_name',
      prescriptions.map((r) => ({
        vals: {
          x_name: r.name,
          x_patient_id: patientIds.get(r.patientRef),
          x_doctor_id: doctorIds.get(r.doctorRef),
          x_date: r.date,
          x_medication_id: productIds.get(r.medicationCode as string),
          x_dosage: r.text,
        },
      })),
    );
    // The custom models have no printed report: their document is a PDF attachment, as the document flows expect.
    await this.ensureSampleDocuments(
      'x_medical_record',
      records.map((r) => ({ id: recordIds.get(r.name), title: `Historia clínica ${r.name}`, lines: [r.date, r.text] })),
    );
    await this.ensureSampleDocuments(
      'x_prescription',
      prescriptions.map((r) => ({ id: prescriptionIds.get(r.name), title: `Receta ${r.name}`, lines: [r.date, r.text] })),
    );

    // Automation rules → Node-RED webhooks (fields stored on the model written: list_price is the template's).
    const P = WEBHOOK_PATHS;
    await this.ensureWebhookRule({
      name: 'Clínica: paciente creado o cambiado',
      model: 'res.partner',
      trigger: 'on_create_or_write',
      triggerFields: ['name', 'email', 'phone', 'vat', 'street', 'city', 'x_is_patient', 'active'],
      filter: "[('x_is_patient', '=', True)]",
      path: P.patient,
      send: ['name', 'email', 'phone', 'vat', 'write_date'],
    });
    await this.ensureWebhookRule({
      name: 'Clínica: cita creada o cambiada',
      model: 'calendar.event',
      trigger: 'on_create_or_write',
      triggerFields: ['name', 'start', 'stop', 'partner_ids', 'active'],
      path: P.appointment,
      send: ['name', 'start', 'stop', 'write_date'],
    });
    await this.ensureWebhookRule({
      name: 'Clínica: factura publicada',
      model: 'account.move',
      trigger: 'on_create_or_write',
      triggerFields: ['state'],
      filter: "[('move_type', '=', 'out_invoice'), ('state', '=', 'posted')]",
      path: P.invoice,
      send: ['name', 'state', 'partner_id', 'write_date'],
    });
    await this.ensureWebhookRule({
      name: 'Clínica: historia clínica creada',
      model: 'x_medical_record',
      trigger: 'on_create',
      triggerFields: ['x_name'],
      path: P.medicalRecord,
      send: ['x_name', 'x_patient_id', 'write_date'],
    });
    await this.ensureWebhookRule({
      name: 'Clínica: receta creada',
      model: 'x_prescription',
      trigger: 'on_create',
      triggerFields: ['x_name'],
      path: P.prescription,
      send: ['x_name', 'x_patient_id', 'write_date'],
    });
    await this.ensureWebhookRule({
      name: 'Clínica: stock cambiado',
      model: 'stock.quant',
      trigger: 'on_create_or_write',
      triggerFields: ['quantity'],
      path: P.stock,
      send: ['product_id', 'location_id', 'quantity', 'write_date'],
    });
    await this.ensureWebhookRule({
      name: 'Clínica: precio de medicamento',
      model: 'product.template',
      trigger: 'on_create_or_write',
      triggerFields: ['list_price', 'name'],
      path: P.medication,
      send: ['name', 'list_price', 'write_date'],
    });
    return this.report;
  }

  /** Stock for medications that never had any (so a second run does not add it again). */
  private async initialStock(meds: data.MedicationSeed[], productIds: Map<unknown, number>, location: number): Promise<void> {
    const ids = meds.map((m) => productIds.get(m.code) as number);
    const products = await this.c.read('product.product', ids, ['qty_available']);
    const moves = await this.c.searchRead('stock.move', {
      domain: [
        ['product_id', 'in', ids],
        ['state', '=', 'done'],
      ],
      fields: ['product_id'],
    });
    const moved = new Set(moves.map((mv) => (mv.product_id as [number, string])[0]));
    const todo = meds.filter((m) => {
      const p = products.find((x) => x.id === productIds.get(m.code));
      return p && !p.qty_available && !moved.has(p.id) && m.initial > 0;
    });
    if (!todo.length) return;
    const context = { inventory_mode: true };
    const quantIds = await this.c.call<number[]>(
      'stock.quant',
      'create',
      [todo.map((m) => ({ product_id: productIds.get(m.code), location_id: location, inventory_quantity: m.initial }))],
      { context },
    );
    // Returns None: over XML-RPC Odoo answers the "cannot marshal None" fault after committing; the client reports success.
    await this.c.call('stock.quant', 'action_apply_inventory', [quantIds], { context });
    this.count('created', 'stock.quant', quantIds.length);
  }

  private async invoices(invoices: data.InvoiceSeed[], patientIds: Map<unknown, number>, productIds: Map<unknown, number>): Promise<void> {
    const existing = await this.c.searchRead('account.move', {
      domain: [
        ['ref', 'in', invoices.map((i) => i.ref)],
        ['move_type', '=', 'out_invoice'],
      ],
      fields: ['ref', 'state'],
    });
    const missing = invoices.filter((i) => !existing.some((e) => e.ref === i.ref));
    let toPost = existing.filter((e) => e.state === 'draft').map((e) => e.id);
    if (missing.length) {
      const created = await this.c.create(
        'account.move',
        missing.map((i) => ({
          move_type: 'out_invoice',
          ref: i.ref,
          partner_id: patientIds.get(i.patientRef),
          invoice_date: i.date,
          invoice_line_ids: i.lines.map((l) => [
            0,
            0,
            { name: l.name, quantity: l.quantity, price_unit: l.price, ...(l.medicationCode ? { product_id: productIds.get(l.medicationCode) } : {}) },
          ]),
        })),
      );
      this.count('created', 'account.move', created.length);
      toPost = [...toPost, ...created];
    }
    if (toPost.length) {
      await this.c.call('account.move', 'action_post', [toPost]);
      this.count('updated', 'account.move (posted)', toPost.length);
    }
  }
}

const keyValue = (v: unknown) => (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' ? v[0] : v);

/** A desired value (as written) against the value read back. */
function sameValue(want: unknown, got: unknown): boolean {
  if (Array.isArray(want) && want.length === 1 && Array.isArray(want[0]) && want[0][0] === 6) {
    const a = [...(want[0][2] as number[])].sort((x, y) => x - y);
    const b = Array.isArray(got) ? [...(got as number[])].sort((x, y) => x - y) : [];
    return JSON.stringify(a) === JSON.stringify(b);
  }
  if (Array.isArray(got) && got.length === 2 && typeof got[0] === 'number' && typeof got[1] === 'string') return want === got[0];
  if (typeof want === 'number' && typeof got === 'number') return Math.abs(want - got) < 1e-6;
  if ((want === false || want === null || want === '') && (got === false || got === null || got === '')) return true;
  return want === got;
}

export async function seedOdoo(options: SeedOptions): Promise<SeedReport> {
  return new Seeder(options).run();
}

async function main(): Promise<void> {
  const env = process.env;
  const client = new OdooClient({
    url: env.ODOO_URL || 'http://localhost:8069',
    db: env.ODOO_DB || 'clinica',
    username: env.ODOO_USERNAME || 'admin',
    apiKey: env.ODOO_API_KEY || undefined,
    password: env.ODOO_PASSWORD || undefined,
    // Installing modules takes minutes on a real Odoo.
    timeoutMs: Number(env.SEED_TIMEOUT_MS) || 15 * 60 * 1000,
    retries: 5,
    retryDelayMs: 2000,
  });
  try {
    const report = await seedOdoo({ client, nodeRedUrl: env.NODE_RED_URL, log: (line) => process.stdout.write(`[seed-odoo] ${line}\n`) });
    process.stdout.write(`${JSON.stringify({ event: 'seed-odoo.done', ...report })}\n`);
  } finally {
    client.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`[seed-odoo] failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
