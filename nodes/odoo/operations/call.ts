/** call: any public method of the model with args and kwargs (the node's, or msg.method/args/kwargs). */
import { badInput } from '../../clients/common/errors';
import { label } from '../types';
import { isObj, type OdooOperation } from './context';

export const call: OdooOperation = async ({ node, model, msg, settings, client, context }) => {
  const method = settings.method || (typeof msg.method === 'string' ? msg.method.trim() : '');
  if (!method) throw badInput('odoo', `${label(node)}: no method to call on ${model}; set Method in the node or send msg.method`);
  if (!/^[a-z][a-z0-9_]*$/i.test(method))
    throw badInput('odoo', `${label(node)}: "${method}" is not a public method name (private ones start with _ and cannot be called)`);
  const args = msg.args !== undefined ? msg.args : settings.args;
  const kwargs = msg.kwargs !== undefined ? msg.kwargs : settings.kwargs;
  if (!Array.isArray(args))
    throw badInput('odoo', `${label(node)}: args for ${model}.${method} must be a list (record ids first for record methods); got ${JSON.stringify(args)}`);
  if (!isObj(kwargs)) throw badInput('odoo', `${label(node)}: kwargs for ${model}.${method} must be an object; got ${JSON.stringify(kwargs)}`);
  const kw = context ? { ...kwargs, context: { ...context, ...(isObj(kwargs.context) ? kwargs.context : {}) } } : kwargs;
  const ids = Array.isArray(args[0]) && (args[0] as unknown[]).every((x) => typeof x === 'number') ? args[0] : undefined;
  return { payload: await client.call(model, method, args, kw), details: { method, ...(ids ? { ids } : {}) } };
};
