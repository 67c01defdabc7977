/** share: a public link or a share with a user or group, reusing an equal one unless the node says not to. */
import { badInput } from '../../clients/common/errors';
import { count } from '../../clients/common/metrics';
import { daysFromNow, generateSharePassword, type ShareOptions, type ShareType } from '../../clients/nextcloud/ocs';
import { intSetting } from '../../lib/env';
import type { Msg } from '../../lib/node-runtime';
import type { NextcloudOperation, OperationContext } from './context';
import { text } from './input';

/** Share settings: the node's, with msg.share.{type, shareWith, expireDate, label, password} taking over when sent. */
export function shareOptions({ node, def }: Pick<OperationContext, 'node' | 'def'>, msg: Msg): { options: ShareOptions; generated?: string } {
  const over = (msg.share && typeof msg.share === 'object' ? msg.share : {}) as Record<string, unknown>;
  const type = (text(over.type) || def.shareType || 'link') as ShareType;
  const days = intSetting(def.expireDays, 0, 0, 3650);
  const expireDate = text(over.expireDate) || (days > 0 ? daysFromNow(days) : undefined);
  let password = text(over.password) || undefined;
  let generated: string | undefined;
  if (!password && type === 'link') {
    if (def.passwordMode === 'credential') {
      password = node.credentials?.sharePassword || undefined;
      if (!password)
        throw badInput('nextcloud', `Nextcloud node "${node.name || node.id}" is set to use its share password but none is stored; set it in the node`);
    } else if (def.passwordMode === 'generate') {
      password = generated = generateSharePassword();
    }
  }
  return {
    options: {
      type,
      shareWith: text(over.shareWith) || text(def.shareWith) || undefined,
      password,
      expireDate,
      label: text(over.label) || text(def.linkLabel) || undefined,
    },
    generated,
  };
}

export const share: NextcloudOperation = async (c) => {
  const { options, generated } = shareOptions(c, c.msg);
  const made = await c.client.share(c.path, options, { correlationId: c.msg.correlationId, reuse: c.def.reuse !== false });
  count('nextcloud', 'shares', { reused: String(Boolean(made.reused)) });
  return {
    payload: { ...made, ...(generated ? { password: generated } : {}) },
    details: {
      path: made.path || c.path,
      shareId: made.id,
      url: made.url,
      shareType: made.type,
      expiration: made.expiration,
      hasPassword: made.hasPassword,
      reused: Boolean(made.reused),
    },
  };
};
