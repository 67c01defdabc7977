/** activity: an activity scheduled once on one record, keyed by msg.payload.key (see clients/odoo/activity.ts). */
import { badInput } from '../../clients/common/errors';
import { scheduleActivityOnce } from '../../clients/odoo/activity';
import { idList, label } from '../types';
import { isObj, type OdooOperation } from './context';

export const activity: OdooOperation = async ({ node, model, msg, settings, client }) => {
  const p = msg.payload;
  if (!isObj(p)) throw badInput('odoo', `${label(node)}: an activity needs msg.payload {key, summary, note, user, deadline}; got ${JSON.stringify(p)}`);
  const fromIds = idList(node, msg.ids, 'msg.ids');
  const odoo = msg.odoo as { model?: unknown; id?: unknown } | undefined;
  let resId: unknown = fromIds?.[0];
  if (resId === undefined && p.resId !== undefined) {
    if (!Number.isInteger(p.resId) || (p.resId as number) <= 0)
      throw badInput('odoo', `${label(node)}: msg.payload.resId must be a record id (a positive integer); got ${JSON.stringify(p.resId)}`);
    resId = p.resId;
  }
  if (resId === undefined && odoo && odoo.model === model && typeof odoo.id === 'number') resId = odoo.id;
  if (resId === undefined)
    throw badInput(
      'odoo',
      `${label(node)}: activity on ${model} needs the record: send msg.ids ([id]) or msg.payload.resId (or msg.odoo.id from a node that worked on a ${model})`,
    );
  for (const field of ['key', 'summary'] as const)
    if (typeof p[field] !== 'string' || !(p[field] as string).trim())
      throw badInput(
        'odoo',
        `${label(node)}: activity on ${model} ${String(resId)} needs msg.payload.${field} (a non-empty text); got ${JSON.stringify(p[field])}`,
      );
  for (const field of ['note', 'user', 'deadline'] as const)
    if (p[field] !== undefined && p[field] !== null && typeof p[field] !== 'string')
      throw badInput('odoo', `${label(node)}: msg.payload.${field} must be a text; got ${JSON.stringify(p[field])}`);
  const user = typeof p.user === 'string' && p.user.trim() ? p.user.trim() : settings.activityUser;
  const done = await scheduleActivityOnce(client, {
    model,
    resId: resId as number,
    key: p.key as string,
    summary: p.summary as string,
    note: typeof p.note === 'string' ? p.note : undefined,
    user,
    typeXmlId: settings.activityType,
    deadline: typeof p.deadline === 'string' && p.deadline ? p.deadline : undefined,
    deadlineDays: settings.activityDeadlineDays,
  });
  return {
    payload: { id: done.id, created: done.created, userId: done.userId },
    details: {
      id: resId as number,
      ids: [resId as number],
      activityId: done.id,
      created: done.created,
      done: done.done,
      key: p.key,
      summary: done.summary,
      userId: done.userId,
      ...(user ? { user } : {}),
      ...(done.dateDeadline ? { dateDeadline: done.dateDeadline } : {}),
    },
  };
};
