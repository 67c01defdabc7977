/**
 * Odoo records as rows of the shared database (docs/mission.md, solutions 3 and 4): patients, appointments,
 * medications with their stock and reorder rules, and done stock moves. Plain TypeScript, no Node-RED import;
 * the shipped flows 03 and 04 reach it through the clinica-step node.
 */

type Rec = Record<string, unknown> & { id: number };
type Many2one = [number, string] | false | undefined;

/** Odoo sends false for an empty field; texts are cut to the column sizes so one long value never blocks a batch. */
export function cut(v: unknown, n: number): string | null {
  return v === false || v === null || v === undefined || v === '' ? null : String(v).slice(0, n);
}

const m2oId = (v: unknown): number | undefined => (Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined);
const list = <T>(v: T | T[] | undefined | null): T[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** For a reconcile: the ids Odoo has and when the read started (rows synced later are left alone). */
export function reconcileParams(ids: number[], startedAt: number | undefined): [number[], string] {
  return [ids, new Date((startedAt ?? Date.now()) - 60000).toISOString()];
}

// ------------------------------------------------------------------------------------------- patients

export interface PatientRow {
  odoo_id: number;
  name: string;
  email: string | null;
  phone: string | null;
  vat: string | null;
  active: boolean;
  odoo_write_date: unknown;
}

/** res.partner → shared_patients. (Stock res.partner has no birthdate: the column stays empty.) */
export function patientRows(records: Rec | Rec[]): PatientRow[] {
  return list(records).map((p) => ({
    odoo_id: p.id,
    name: cut(p.name, 255) ?? `#${p.id}`,
    email: cut(p.email, 255),
    phone: cut(p.phone, 50),
    vat: cut(p.vat, 50),
    active: p.active !== false,
    odoo_write_date: p.write_date,
  }));
}

// --------------------------------------------------------------------------------------- appointments

/** The attendees to read for these events (archived ones too): the patient is the one marked x_is_patient. */
export function attendeeIds(events: Rec[]): number[] {
  return [...new Set(events.flatMap((e) => list(e.partner_ids as number[])))];
}

export interface AppointmentRow {
  odoo_id: number;
  patient_odoo_id: number | null;
  name: string | null;
  datetime: unknown;
  end_datetime: unknown;
  status: 'scheduled' | 'cancelled';
  doctor_name: string | null;
  active: boolean;
  odoo_write_date: unknown;
}

/**
 * calendar.event → shared_appointments. Patient: the attendee marked x_is_patient; doctor: another attendee,
 * preferably one whose job position says so. calendar.event has no state: an archived event is cancelled.
 */
export function appointmentRows(events: Rec[], attendees: Rec[]): AppointmentRow[] {
  const people = new Map(attendees.map((p) => [p.id, p]));
  return events.map((e) => {
    const present = list(e.partner_ids as number[])
      .map((id) => people.get(id))
      .filter((p): p is Rec => Boolean(p));
    const patient = present.find((p) => p.x_is_patient);
    const others = present.filter((p) => !p.x_is_patient);
    const doctor = others.find((p) => /m[eé]dic|doctor|\bdra?\b/i.test(String(p.function || ''))) ?? others[0];
    return {
      odoo_id: e.id,
      patient_odoo_id: patient ? patient.id : null,
      name: cut(e.name, 255),
      datetime: e.start || null,
      end_datetime: e.stop || null,
      status: e.active === false ? 'cancelled' : 'scheduled',
      doctor_name: doctor ? cut(doctor.name, 255) : null,
      active: e.active !== false,
      odoo_write_date: e.write_date,
    };
  });
}

// ---------------------------------------------------------------------------------------- medications

/** The category whose products are the clinic's medications. */
export const MEDICATIONS_CATEGORY = 'Medicamentos';

/**
 * The medications a change touches: a quant or a reorder rule names its product, a product template its
 * variants. Records of another model give none.
 */
export function touchedMedications(model: unknown, records: Rec | Rec[]): number[] {
  const ids = list(records).flatMap((r): Array<number | undefined> => {
    if (model === 'product.template') return list(r.product_variant_ids as number[]);
    if (model === 'product.product') return [r.id];
    return [m2oId(r.product_id)];
  });
  return [...new Set(ids.filter((x): x is number => typeof x === 'number'))];
}

/** The domains to re-read medications: the ids a trigger found, or every medication for a reconcile. */
export function medicationDomains(productIds: number[] | undefined): { quants: unknown[]; products: unknown[] } {
  const ids = productIds ?? null;
  return {
    products: [...(ids ? [['id', 'in', ids]] : []), ['categ_id.name', '=', MEDICATIONS_CATEGORY], ['active', 'in', [true, false]]],
    quants: [ids ? ['product_id', 'in', ids] : ['product_id.categ_id.name', '=', MEDICATIONS_CATEGORY], ['location_id.usage', '=', 'internal']],
  };
}

/**
 * The newest quant write_date per product: the stock's version, so an older read never overwrites a newer
 * quantity (the upsert compares odoo_write_date).
 */
export function stockVersions(quants: Rec[]): Record<number, string> {
  const version: Record<number, string> = {};
  for (const q of quants) {
    const id = m2oId(q.product_id);
    const wd = typeof q.write_date === 'string' ? q.write_date : '';
    if (id && (!version[id] || wd > version[id])) version[id] = wd;
  }
  return version;
}

export interface MedicationRow {
  odoo_product_id: number;
  name: string;
  category: string | null;
  stock_quantity: number;
  min_stock_level: number | null;
  max_stock_level: number | null;
  unit_price: number | null;
  active: boolean;
  sync_status: 'synced';
  odoo_write_date: string | undefined;
}

/**
 * product.product + reorder rules → shared_medications. stock_quantity is Odoo's qty_available; min/max add up
 * the product's reorder rules (usually one, on the warehouse stock); the version is the newest of the product,
 * its rules and its quants.
 */
export function medicationRows(products: Rec[], rules: Rec[], versions: Record<number, string> = {}): MedicationRow[] {
  const byProduct: Record<number, { min: number; max: number; date: string }> = {};
  for (const r of rules) {
    const id = m2oId(r.product_id);
    if (id === undefined) continue;
    const o = (byProduct[id] ??= { min: 0, max: 0, date: '' });
    o.min += Number(r.product_min_qty || 0);
    o.max += Number(r.product_max_qty || 0);
    if (typeof r.write_date === 'string' && r.write_date > o.date) o.date = r.write_date;
  }
  const newest = (...dates: unknown[]) =>
    dates
      .filter((d): d is string => typeof d === 'string' && d !== '')
      .sort()
      .pop();
  return products.map((p) => {
    const rule = byProduct[p.id];
    const categ = p.categ_id as Many2one;
    return {
      odoo_product_id: p.id,
      name: cut(p.name, 255) ?? `#${p.id}`,
      category: cut(categ ? String(categ[1]).split(' / ').pop() : null, 100),
      stock_quantity: Number(p.qty_available || 0),
      min_stock_level: rule ? rule.min : null,
      max_stock_level: rule ? rule.max : null,
      unit_price: p.list_price === false || p.list_price === undefined ? null : Math.round(Number(p.list_price) * 100) / 100,
      active: p.active !== false,
      sync_status: 'synced',
      odoo_write_date: newest(p.write_date, rule?.date, versions[p.id]),
    };
  });
}

// -------------------------------------------------------------------------------------- stock moves

/** The locations whose usage tells in, out and adjustments apart. */
export function moveLocationIds(moves: Rec[]): number[] {
  return [...new Set(moves.flatMap((m) => [m2oId(m.location_id), m2oId(m.location_dest_id)]).filter((x): x is number => x !== undefined))];
}

/** The oldest write_date of a batch: where to re-read from if writing it fails. */
export function oldestWriteDate(moves: Rec[], since?: string | null): string | null {
  return moves.reduce<string | null>((min, m) => (typeof m.write_date === 'string' && (!min || m.write_date < min) ? m.write_date : min), since ?? null);
}

export interface MoveRow {
  odoo_move_id: number;
  odoo_product_id: number;
  source: 'odoo';
  movement_type: 'in' | 'out' | 'adjustment';
  quantity: number;
  reference_document: string | null;
  movement_date: unknown;
}

export interface MoveEntry {
  /** Every reference the move carries (its transfer's name, its origin, its own name). */
  refs: string[];
  row: MoveRow;
}

/**
 * Done moves → shared_stock_movements. Into warehouse stock = in, out of it = out; to or from an inventory
 * adjustment location = adjustment, signed. Moves inside the warehouse (or not touching it) are skipped.
 */
export function moveEntries(moves: Rec[], locations: Rec[]): MoveEntry[] {
  const usage = new Map(locations.map((l) => [l.id, l.usage]));
  const out: MoveEntry[] = [];
  for (const m of moves) {
    const from = usage.get(m2oId(m.location_id) as number);
    const to = usage.get(m2oId(m.location_dest_id) as number);
    if ((from === 'internal') === (to === 'internal')) continue;
    const refs = [m.reference, m.origin, m.name].filter((r): r is string => typeof r === 'string' && r !== '');
    const qty = Number(m.quantity || m.product_uom_qty || 0);
    const adjustment = from === 'inventory' || to === 'inventory';
    out.push({
      refs,
      row: {
        odoo_move_id: m.id,
        odoo_product_id: m2oId(m.product_id) as number,
        source: 'odoo',
        movement_type: adjustment ? 'adjustment' : to === 'internal' ? 'in' : 'out',
        quantity: adjustment && to !== 'internal' ? -qty : qty,
        reference_document: cut(m.reference || m.origin || m.name, 100),
        movement_date: m.date || m.write_date,
      },
    });
  }
  return out;
}

export interface PharmacyRow {
  external_ref: string;
  odoo_product_id: number;
  movement_type: string;
  quantity: number;
}

/**
 * A move Odoo made for a pharmacy movement carries its reference: it completes that movement (odoo_move_id,
 * synced) instead of becoming a second row. Returns Odoo's own moves and the completed pharmacy movements.
 */
export function splitPharmacyMoves(
  entries: MoveEntry[],
  pharmacy: PharmacyRow[],
): { own: MoveRow[]; matched: Array<PharmacyRow & { odoo_move_id: number; sync_status: 'synced' }> } {
  const byRef = new Map(pharmacy.map((r) => [r.external_ref, r]));
  const own: MoveRow[] = [];
  const matched: Array<PharmacyRow & { odoo_move_id: number; sync_status: 'synced' }> = [];
  for (const e of entries) {
    const ref = e.refs.find((r) => byRef.has(r));
    if (!ref) {
      own.push(e.row);
      continue;
    }
    const p = byRef.get(ref) as PharmacyRow;
    matched.push({
      external_ref: ref,
      odoo_product_id: p.odoo_product_id,
      movement_type: p.movement_type,
      quantity: p.quantity,
      odoo_move_id: e.row.odoo_move_id,
      sync_status: 'synced',
    });
  }
  return { own, matched };
}

/** A done-moves search from a write_date on (to re-read what a failed write lost). */
export function movesSince(from: string): unknown[] {
  return [
    ['state', '=', 'done'],
    ['product_id.categ_id.name', '=', MEDICATIONS_CATEGORY],
    ['write_date', '>=', from],
  ];
}

/** The sync_state error text of a failure. */
export function lastErrorText(info: { code?: string; message?: string } | undefined, fallback?: string): string {
  return `${info?.code ?? 'UNEXPECTED'}: ${info?.message ?? fallback ?? ''}`.slice(0, 2000);
}
