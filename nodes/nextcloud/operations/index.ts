/** The operations of the clinica-nextcloud node by name: the node's operation picker routes here. */
import type { NextcloudOperation, Operation } from './context';
import { remove } from './delete';
import { download } from './download';
import { link } from './link';
import { list } from './list';
import { mkdir } from './mkdir';
import { share } from './share';
import { copy, move } from './transfer';
import { upload } from './upload';

export const OPERATIONS: Readonly<Record<Operation, NextcloudOperation>> = {
  upload,
  download,
  list,
  mkdir,
  move,
  copy,
  delete: remove,
  share,
  link,
};
