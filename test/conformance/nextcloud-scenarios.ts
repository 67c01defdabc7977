/**
 * Whole scenarios of issue 9, run by the pack's own client against the peer (nextcloud.spec.ts) and against a real
 * Nextcloud (`node dist/test/conformance/nextcloud-cli.js --scenarios`): the same code, so what the peer shows is
 * what the real server does.
 */
import { type InternalLink, NextcloudClient, type UploadResult } from '../../nodes/clients/nextcloud/client';
import { patientDocumentPath } from '../../nodes/clients/nextcloud/paths';
import type { Target } from './nextcloud-runner';

export interface ScenarioResult {
  [key: string]: unknown;
}

function clientFor(target: Target, password = target.password): NextcloudClient {
  return new NextcloudClient({ url: target.url, username: target.user, appPassword: password, timeoutMs: 60000 });
}

/** Runs `work` on `items`, `concurrency` at a time. */
async function pool<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        try {
          out[i] = { status: 'fulfilled', value: await work(items[i]) };
        } catch (reason) {
          out[i] = { status: 'rejected', reason };
        }
      }
    }),
  );
  return out;
}

/**
 * The first document of `n` new patients, `concurrency` at a time, as the flows send them (policy "skip"), each
 * then linked by its internal link: every one stored on the first try, no share made.
 */
export async function newPatients(target: Target, runId: string, n = 50, concurrency = 5): Promise<ScenarioResult> {
  const client = clientFor(target);
  const started = Date.now();
  try {
    const ids = Array.from({ length: n }, (_, i) => `${runId}-${i + 1}`);
    const results = await pool(ids, concurrency, async (id) => {
      const up = await client.upload(patientDocumentPath(id, 'invoice', `FAC-${id}.pdf`), Buffer.from(`%PDF-1.7 factura del paciente ${id}`), {
        conflict: 'skip',
      });
      const link = await client.internalLink(up.path);
      return { up, link };
    });
    const failed = results
      .filter((r) => r.status === 'rejected')
      .map((r) => String((r as PromiseRejectedResult).reason?.code ?? (r as PromiseRejectedResult).reason));
    const ok = results.filter((r): r is PromiseFulfilledResult<{ up: UploadResult; link: InternalLink }> => r.status === 'fulfilled').map((r) => r.value);
    const shares = (await client.listShares()).filter((s) => s.path.includes(runId)).length;
    return {
      documents: n,
      stored: ok.filter((r) => r.up.status === 'created' && r.up.verifiedBy === 'sha256').length,
      linked: ok.filter((r) => r.link.url === r.up.internalUrl).length,
      failed,
      sharesMade: shares,
      sessions: client.sessionsStarted,
      seconds: +((Date.now() - started) / 1000).toFixed(1),
    };
  } finally {
    for (let i = 1; i <= n; i++) await client.delete(`/Documentos_Clinicos/Pacientes/${runId}-${i}`).catch(() => undefined);
    client.close();
  }
}

/** `trials` times: four uploads of different content to one name at once under "rename"; every content kept. */
export async function concurrentRename(target: Target, runId: string, trials = 12): Promise<ScenarioResult> {
  const client = clientFor(target);
  const folder = `/${runId}-rename`;
  let kept = 0;
  let lost = 0;
  const statuses: Record<string, number> = {};
  try {
    for (let t = 0; t < trials; t++) {
      const results = await Promise.all(
        [1, 2, 3, 4].map((i) => client.upload(`${folder}/t${t}/informe.pdf`, Buffer.from(`trial ${t} version ${i}`), { conflict: 'rename' })),
      );
      for (const [i, r] of results.entries()) {
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        const back = (await client.download(r.path)).data.toString('utf8');
        if (back === `trial ${t} version ${i + 1}`) kept += 1;
        else lost += 1;
      }
    }
    const leftovers = (await Promise.all(Array.from({ length: trials }, (_, t) => client.list(`${folder}/t${t}`))))
      .flat()
      .filter((e) => e.name.startsWith('.clinica-upload-')).length;
    return { trials, uploads: trials * 4, kept, lost, statuses, leftovers };
  } finally {
    await client.delete(folder).catch(() => undefined);
    client.close();
  }
}

/**
 * A wrong app password under load: `messages` operations, four at once. The client must send one login, not one per
 * message (Nextcloud blocks the address after about ten).
 */
export async function wrongPassword(target: Target, runId: string, messages = 20): Promise<ScenarioResult> {
  const client = clientFor(target, `wrong-${runId}`);
  let sent = 0;
  try {
    const results = await pool(
      Array.from({ length: messages }, (_, i) => i),
      4,
      async (i) => {
        sent += 1;
        return client.upload(`/${runId}-wrong/f${i}.pdf`, Buffer.from('x'));
      },
    );
    const codes = [...new Set(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'stored')))];
    return { messages: sent, codes, refusedLogin: client.loginRefused?.code ?? null };
  } finally {
    client.close();
  }
}
