/** Node-RED log records as JSON lines (CONVENTIONS.md "Logs and metrics"); used by settings.ts. */
const LEVEL_NAMES: Record<number, string> = { 10: 'fatal', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'trace', 98: 'audit', 99: 'metric' };

export interface LogRecord {
  level: number;
  type?: string;
  id?: string;
  z?: string;
  name?: string;
  msg?: unknown;
  timestamp?: number;
}

/** Every Node-RED log record as one JSON line: level, node {type,id}, correlationId and the event. */
export function formatLogRecord(record: LogRecord): string {
  const body = record.msg;
  const fields: Record<string, unknown> =
    body && typeof body === 'object' && !(body instanceof Error) ? { ...(body as Record<string, unknown>) } : { msg: body instanceof Error ? body.message : String(body ?? '') };
  const line: Record<string, unknown> = {
    time: new Date(record.timestamp ?? Date.now()).toISOString(),
    level: LEVEL_NAMES[record.level] ?? String(record.level),
    ...(record.type ? { node: { type: record.type, id: record.id, ...(record.name ? { name: record.name } : {}) } } : {}),
    correlationId: fields.correlationId ?? null,
    ...fields,
  };
  return JSON.stringify(line);
}

