/**
 * The pharmacy's movements (POST /api/pharmacy/movements, flow 04b): the request checked at the edge, and
 * what to do with it given what the shared database already holds — apply it, answer it as before, or refuse
 * it. Applying it in Odoo once is the Odoo client's job (nodes/clients/odoo/stock.ts). Plain TypeScript.
 */
import { IntegrationError, badInput } from '../clients/common/errors';
import { MOVEMENT_REFERENCE } from '../clients/odoo/stock';

export interface PharmacyMovement {
  external_ref: string;
  odoo_product_id: number;
  movement_type: 'in' | 'out' | 'adjustment';
  quantity: number;
  notes: string | null;
}

const FIELDS = ['external_ref', 'odoo_product_id', 'movement_type', 'quantity', 'notes'];

/** The request body checked: every problem listed (BAD_INPUT with details.problems), nothing written. */
export function checkMovementRequest(body: unknown): PharmacyMovement {
  const problems: string[] = [];
  const b = body as Record<string, unknown>;
  if (!b || typeof b !== 'object' || Array.isArray(b)) {
    problems.push(`the body must be a JSON object {${FIELDS.join(', ')}} sent as application/json`);
  } else {
    for (const k of Object.keys(b)) if (!FIELDS.includes(k)) problems.push(`unknown property "${k}" (expected: ${FIELDS.join(', ')})`);
    if (typeof b.external_ref !== 'string' || !MOVEMENT_REFERENCE.test(b.external_ref))
      problems.push("external_ref must be the pharmacy's own reference of this movement: 1 to 100 letters, digits or . _ / -");
    if (!Number.isInteger(b.odoo_product_id) || (b.odoo_product_id as number) <= 0)
      problems.push('odoo_product_id must be the Odoo id of a medication (a positive whole number)');
    if (!['in', 'out', 'adjustment'].includes(b.movement_type as string)) problems.push('movement_type must be in, out or adjustment');
    const q = b.quantity;
    if (typeof q !== 'number' || !Number.isFinite(q) || Math.round(q * 1000) === 0 || Math.abs(q) > 1e9)
      problems.push('quantity must be a number other than 0 (at most 3 decimals)');
    else if (b.movement_type !== 'adjustment' && q < 0) problems.push('quantity must be positive for in and out (an adjustment takes a signed quantity)');
    if (b.notes !== undefined && b.notes !== null && (typeof b.notes !== 'string' || b.notes.length > 1000))
      problems.push('notes must be text of at most 1000 characters');
  }
  if (problems.length) throw badInput('node-red', problems.join('; '), { problems });
  return {
    external_ref: b.external_ref as string,
    odoo_product_id: b.odoo_product_id as number,
    movement_type: b.movement_type as PharmacyMovement['movement_type'],
    quantity: Math.round((b.quantity as number) * 1000) / 1000,
    notes: (b.notes as string | null | undefined) || null,
  };
}

export interface StoredMovement {
  external_ref: string;
  odoo_product_id: number;
  movement_type: string;
  quantity: number;
  sync_status: string;
  odoo_move_id: number | null;
  [column: string]: unknown;
}

export type Decision = { action: 'apply' } | { action: 'replay'; row: StoredMovement };

const conflict = (message: string, code = 'CONFLICT') => new IntegrationError(message, { code, system: 'node-red', retryable: false });

/**
 * Idempotent by external_ref: a movement already applied is answered as it was (Odoo untouched); the same
 * reference for another movement is refused (CONFLICT); a medication the shared inventory does not hold is
 * BAD_INPUT. Otherwise: store it and apply it.
 */
export function decideMovement(
  mv: PharmacyMovement,
  medication: { active?: boolean } | null | undefined,
  existing: StoredMovement | null | undefined,
): Decision {
  if (!medication || medication.active === false)
    throw badInput('node-red', `odoo_product_id ${mv.odoo_product_id} is not an active medication of the shared inventory`);
  if (existing) {
    const same =
      existing.odoo_product_id === mv.odoo_product_id && existing.movement_type === mv.movement_type && Math.abs(existing.quantity - mv.quantity) < 0.0005;
    if (!same)
      throw conflict(
        `external_ref ${mv.external_ref} was already used for another movement (${existing.movement_type} ${existing.quantity} of product ${existing.odoo_product_id})`,
      );
    if (existing.sync_status === 'synced' && existing.odoo_move_id) return { action: 'replay', row: existing };
  }
  return { action: 'apply' };
}

export type ClaimOutcome = { action: 'apply' } | { action: 'replay'; row: StoredMovement } | { action: 'claim-again' };

/**
 * After the claim statement: only the request that stored (or took over a failed) movement applies it. Not
 * ours: the moves sync may have completed it (answer it as done), a row the sync completed during the claim
 * can look failed in the statement's snapshot (ask once more, at most twice), or another request is applying
 * it (IN_PROGRESS, retry shortly).
 */
export function claimOutcome(claim: { claimed?: number; current?: StoredMovement | null } | null | undefined, attempts: number, ref: string): ClaimOutcome {
  if (claim?.claimed === 1) return { action: 'apply' };
  const current = claim?.current;
  if (current && current.sync_status === 'synced' && current.odoo_move_id) return { action: 'replay', row: current };
  if (current && current.sync_status !== 'pending' && attempts < 2) return { action: 'claim-again' };
  throw new IntegrationError(`movement ${ref} is being applied by another request; retry shortly`, {
    code: 'IN_PROGRESS',
    system: 'node-red',
    retryable: false,
    details: { retryAfterMs: 5000 },
  });
}
