/**
 * How the reference deployment hands a credential from the seeder that made it to Node-RED without writing it into
 * docker-compose.yml: the seeder writes it to a file on a volume that Node-RED mounts read-only, and names that
 * file in `<NAME>_FILE` (e.g. ODOO_API_KEY_FILE). docker/entrypoint.sh sets `<NAME>` from that file when `<NAME>`
 * itself is empty, so a value given in .env still wins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The file named by `<name>_FILE`, or undefined when the variable is not set. */
export function handoverFile(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[`${name}_FILE`]?.trim() || undefined;
}

/** The value kept in a handover file (trimmed), or undefined when the file does not exist or is empty. */
export function readHandover(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes a credential readable by its owner only; a reader never sees half a file (write, then rename). */
export function writeHandover(file: string, value: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${value}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** One JSON log line, the format of the other seeders. */
export function logLine(level: 'info' | 'error', event: string, fields: Record<string, unknown> = {}): void {
  (level === 'error' ? process.stderr : process.stdout).write(`${JSON.stringify({ level, event, ...fields })}\n`);
}
