/** Node-RED log records as JSON lines (docs/conventions.md "Logs and metrics"); used by settings.ts. */
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

/**
 * The fields of a record's message. Node-RED hands every log handler the same record, and the debug node's handler
 * turns the message of a warning or error into its JSON text for the editor's sidebar: such a text is read back, so
 * a node's structured event stays structured whichever handler ran first.
 */
function fieldsOf(body: unknown): Record<string, unknown> {
  if (body instanceof Error) return { msg: body.message };
  if (body && typeof body === 'object') return { ...(body as Record<string, unknown>) };
  const text = String(body ?? '');
  if (text.startsWith('{') && text.endsWith('}')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // not JSON: kept as text
    }
  }
  return { msg: text };
}

/** Every Node-RED log record as one JSON line: level, node {type,id}, correlationId and the event. */
export function formatLogRecord(record: LogRecord): string {
  const fields = fieldsOf(record.msg);
  const line: Record<string, unknown> = {
    time: new Date(record.timestamp ?? Date.now()).toISOString(),
    level: LEVEL_NAMES[record.level] ?? String(record.level),
    ...(record.type ? { node: { type: record.type, id: record.id, ...(record.name ? { name: record.name } : {}) } } : {}),
    correlationId: fields.correlationId ?? null,
    ...fields,
  };
  return JSON.stringify(line);
}
