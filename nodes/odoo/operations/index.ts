/** The operations of the clinica-odoo node by name: the node's operation picker routes here. */
import type { OdooOperation, Operation } from './context';
import { activity } from './activity';
import { call } from './call';
import { create } from './create';
import { messagePost } from './message-post';
import { read } from './read';
import { searchCount } from './search-count';
import { searchRead } from './search-read';
import { STOCK_MOVEMENT_MODEL, stockMovement } from './stock-movement';
import { unlink } from './unlink';
import { write } from './write';

export const OPERATIONS: Readonly<Record<Operation, OdooOperation>> = {
  search_read: searchRead,
  read,
  search_count: searchCount,
  create,
  write,
  unlink,
  message_post: messagePost,
  call,
  stock_movement: stockMovement,
  activity,
};

/** Operations bound to one model: the node's model setting and msg.topic do not apply. */
export const FIXED_MODELS: Readonly<Partial<Record<Operation, string>>> = { stock_movement: STOCK_MOVEMENT_MODEL };

/** The node's operation setting; an unknown or empty one is search_read. */
export function operationOf(setting: unknown): Operation {
  return typeof setting === 'string' && Object.hasOwn(OPERATIONS, setting) ? (setting as Operation) : 'search_read';
}
