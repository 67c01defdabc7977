/** search_read: one call (the limit applies), every page in one message, or one message per page with msg.parts. */
import { randomUUID } from 'node:crypto';
import { getRED, type Msg } from '../../lib/node-runtime';
import type { OdooOperation } from './context';

export const searchRead: OdooOperation = async ({ client, model, msg, send, settings, query, context }) => {
  const { domain, fields, order } = query;
  const limit = query.limit || undefined;
  const offset = query.offset || undefined;
  const details = { domain, limit, offset };
  if (settings.paging === 'none') {
    const records = await client.searchRead(model, { domain, fields, order, limit, offset, context });
    return { payload: records, details: { ...details, count: records.length } };
  }
  const pageSize = settings.pageSize;
  const paged = { domain, fields, order, limit, offset, context, pageSize };
  if (settings.paging === 'all') {
    const records = await client.searchReadAll(model, paged);
    return { payload: records, details: { ...details, count: records.length, pageSize } };
  }
  const partsId = randomUUID();
  const protocol = await client.protocolName();
  const started = Date.now();
  for await (const page of client.searchReadPages(model, paged)) {
    const out = getRED().util.cloneMessage(msg) as Msg;
    out.payload = page.records;
    out.topic = model;
    out.parts = { id: partsId, index: page.index, ...(page.last ? { count: page.index + 1 } : {}) };
    out.odoo = {
      model,
      operation: 'search_read',
      ...details,
      protocol,
      count: page.records.length,
      page: { index: page.index, offset: page.offset, size: pageSize, last: page.last },
      durationMs: Date.now() - started,
    };
    send(out);
  }
  return { sent: true };
};
