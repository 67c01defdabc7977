/**
 * Poller cursors in the shared database (`odoo_trigger_cursors`), so that whichever Node-RED process polls next
 * continues where the last one stopped. A cursor is a JSON state with a position (`writeDate`, `id`) that only
 * moves forward: a save from a process whose position is behind the stored one (a replica that only answered
 * webhooks since it last read the cursor) is ignored, unless its `fingerprint` (model and domain) differs.
 */
import type { SharedDb } from './pool';

export interface StoredCursor {
  fingerprint: string;
  writeDate: string;
  id: number;
}

const SAVE_SQL = `
INSERT INTO odoo_trigger_cursors AS c (name, state, updated_at) VALUES ($1, $2::jsonb, now())
ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
 WHERE c.state->>'fingerprint' IS DISTINCT FROM EXCLUDED.state->>'fingerprint'
    OR (COALESCE(EXCLUDED.state->>'writeDate', ''), COALESCE((EXCLUDED.state->>'id')::bigint, 0))
       >= (COALESCE(c.state->>'writeDate', ''), COALESCE((c.state->>'id')::bigint, 0))`;

export async function loadCursor<T extends StoredCursor>(db: SharedDb, name: string): Promise<T | undefined> {
  const res = await db.query<{ state: T }>('SELECT state FROM odoo_trigger_cursors WHERE name = $1', [name], `load cursor ${name}`);
  return res.rows[0]?.state;
}

/** Saves the cursor unless the stored one is further on; true when it was written. */
export async function saveCursor(db: SharedDb, name: string, state: StoredCursor): Promise<boolean> {
  const res = await db.query(SAVE_SQL, [name, JSON.stringify(state)], `save cursor ${name}`);
  return res.rowCount > 0;
}
