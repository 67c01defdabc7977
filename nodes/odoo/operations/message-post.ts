/** message_post: a note or a message on one record's chatter; answers the new mail.message id. */
import { badInput } from '../../clients/common/errors';
import { label } from '../types';
import { isObj, type OdooOperation } from './context';
import { idsFrom } from './input';

export const messagePost: OdooOperation = async (c) => {
  const { node, model, settings } = c;
  const ids = idsFrom(c, false);
  if (ids.length !== 1) throw badInput('odoo', `${label(node)}: message_post goes on one record of ${model}; got ids ${ids.join(', ')}`);
  const p = c.msg.payload;
  const body = settings.body || (typeof p === 'string' ? p : isObj(p) && typeof p.body === 'string' ? p.body : '');
  if (!body) throw badInput('odoo', `${label(node)}: message_post on ${model} ${ids[0]} has no text; send it as msg.payload (or msg.payload.body) or set Body`);
  const subject = isObj(p) && typeof p.subject === 'string' ? p.subject : undefined;
  const messageId = await c.client.messagePost(model, ids[0], {
    body,
    subject,
    subtypeXmlid: settings.subtype === 'comment' ? 'mail.mt_comment' : 'mail.mt_note',
    context: c.context,
    attachmentIds: isObj(p) && Array.isArray(p.attachmentIds) ? (p.attachmentIds as number[]) : undefined,
  });
  return { payload: messageId, details: { id: ids[0], ids, messageId } };
};
