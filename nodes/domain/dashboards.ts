/**
 * What the dashboards show (flows 08a Farmacia and 08b Integración), as plain functions: medication rows with
 * their stock state, the movements chart, open alerts, a dispensation from the form as the body of
 * POST /api/pharmacy/movements, and the monitor's rows (sync lag, deliveries, errors, dead letters).
 */
import { badInput } from '../clients/common/errors';
import { numberOf, textOf } from './input';

type Row = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

export type StockState = 'low' | 'ok' | 'over';

export interface MedicationRow {
  odoo_product_id: number;
  name: string;
  category: string | null;
  stock: number;
  min: number | null;
  max: number | null;
  state: StockState;
  low: boolean;
}

/** Under the minimum is low (what low_stock_alerts shows), over the maximum is over. */
export function stockState(stock: number, min: number | null, max: number | null): StockState {
  if (min !== null && stock < min) return 'low';
  if (max !== null && max > 0 && stock > max) return 'over';
  return 'ok';
}

/** Rows of shared_medications as the table shows them: low stock first, then by name. */
export function medicationRows(rows: Row[]): MedicationRow[] {
  return rows
    .map((r) => {
      const stock = Number(r.stock_quantity ?? 0);
      const min = num(r.min_stock_level);
      const max = num(r.max_stock_level);
      const state = stockState(stock, min, max);
      return {
        odoo_product_id: Number(r.odoo_product_id),
        name: String(r.name ?? ''),
        category: (r.category as string) ?? null,
        stock,
        min,
        max,
        state,
        low: state === 'low',
      };
    })
    .sort((a, b) => Number(b.low) - Number(a.low) || a.name.localeCompare(b.name));
}

export interface MovementPoint {
  day: string;
  medication: string;
  quantity: number;
}

/** Net stock movement per day and medication (in +, out −, adjustment signed), for the chart. */
export function movementSeries(rows: Row[]): MovementPoint[] {
  return rows.map((r) => ({ day: String(iso(r.day) ?? '').slice(0, 10), medication: String(r.name ?? r.odoo_product_id), quantity: Number(r.net ?? 0) }));
}

/** Open alerts (not re-armed) as rows. */
export function alertRows(rows: Row[]): Row[] {
  return rows.map((r) => ({
    id: Number(r.id),
    medication: r.medication_name,
    stock: num(r.stock_quantity),
    min: num(r.min_stock_level),
    raised: iso(r.raised_at),
    correlationId: r.correlation_id ?? null,
  }));
}

export interface FormUser {
  username?: string;
  name?: string;
  roles?: string[];
}

/** The roles that may record pharmacy movements (as POST /api/pharmacy/movements). */
export const MOVEMENT_ROLES = ['farmacia', 'admin'];

/**
 * A dispensation or adjustment from the dashboard's form as the API's body, with who made it in the notes.
 * The reference is made here once per submission (PANEL-…), so the movement is applied in Odoo once.
 */
export function formMovement(form: unknown, user: FormUser | undefined, ref: string): Row {
  if (!user?.username) throw badInput('node-red', 'no verified user on this message (msg._client.user): is the clinica-dashboard-auth plugin on?');
  if (!(user.roles ?? []).some((r) => MOVEMENT_ROLES.includes(r)))
    throw Object.assign(badInput('node-red', `${user.username} may not record pharmacy movements (roles ${MOVEMENT_ROLES.join(', ')})`), { code: 'FORBIDDEN' });
  const f = (form ?? {}) as Row;
  const type = textOf(f.movement_type) || 'out';
  const quantity = numberOf(f.quantity);
  const notes = [typeof f.notes === 'string' ? f.notes.trim() : '', `recorded by ${user.username} (dashboard)`].filter(Boolean).join(' · ');
  return {
    external_ref: ref,
    odoo_product_id: numberOf(f.odoo_product_id),
    movement_type: type,
    quantity: type === 'out' || type === 'in' ? Math.abs(quantity) : quantity,
    notes,
  };
}

/** What the person who sent the form reads: applied (with Odoo's move), replayed, or why not. */
export function movementResult(statusCode: unknown, payload: unknown): { ok: boolean; text: string } {
  const p = (payload ?? {}) as Row;
  const status = Number(statusCode ?? 200);
  if (status < 300) {
    const d = (p.data ?? {}) as Row;
    return {
      ok: true,
      text: `${d.external_ref}: ${d.movement_type} ${d.quantity} applied in Odoo (move ${d.odoo_move_id ?? '?'})${p.replayed ? ', already recorded' : ''}`,
    };
  }
  return { ok: false, text: `not recorded (${status}): ${String(p.detail ?? p.title ?? 'error')}` };
}

/** sync_state rows with the lag since the last run, seconds. */
export function syncRows(rows: Row[], now = Date.now()): Row[] {
  return rows.map((r) => {
    const last = r.last_run ? new Date(String(iso(r.last_run))).getTime() : NaN;
    return {
      name: r.name,
      cursor: typeof r.cursor === 'object' ? JSON.stringify(r.cursor) : (r.cursor ?? null),
      lastRun: iso(r.last_run),
      lagSeconds: Number.isFinite(last) ? Math.max(0, Math.round((now - last) / 1000)) : null,
      records: num(r.records),
      lastError: r.last_error ?? null,
    };
  });
}

/** Dead letters as rows, with the reason they were dead-lettered with. */
export function deadLetterRows(queue: string, letters: unknown): Row[] {
  return (Array.isArray(letters) ? (letters as Row[]) : []).map((l, i) => ({
    n: i + 1,
    queue,
    reason: l.reason ?? null,
    code: l.code ?? null,
    attempts: l.attempts ?? null,
    failedAt: l.failedAt ?? null,
    correlationId: l.correlationId ?? null,
    messageId: l.messageId ?? null,
  }));
}

const CORRELATION = /^[A-Za-z0-9._-]{1,100}$/;

/** A correlation id typed by a person, checked before it reaches a query. */
export function correlationQuery(value: unknown): string {
  const id = typeof value === 'string' ? value.trim() : '';
  if (!CORRELATION.test(id)) throw badInput('node-red', 'a correlation id is 1 to 100 letters, digits or . _ -');
  return id;
}
