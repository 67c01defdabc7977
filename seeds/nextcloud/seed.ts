/**
 * Prepares a Nextcloud for the clinic: the document tree of docs/mission.md (`/Documentos_Clinicos/Pacientes/`), and
 * each patient's `Facturas`, `Recetas` and `Historiales` folders: `--patients N` for patients 1…N, `--ids 7,8,P-9`
 * (or `--patients 7,8,P-9`) for those ids. Patient ids pass the same check as in the Nextcloud node (safePatientId),
 * so the seed never makes a folder the node would refuse or name differently.
 * With `--share-group <group id>` the patient tree is shared once with that group (the clinic's staff), so the
 * internal links the document flow writes into Odoo open for them; a second run reuses that share.
 * Idempotent: existing folders are left as they are. Uses the pack's own client.
 *
 *   npm run build && NEXTCLOUD_URL=… NEXTCLOUD_USERNAME=… NEXTCLOUD_APP_PASSWORD=… node dist/seeds/nextcloud/seed.js \
 *     [--patients 20 | --ids 1,2,3] [--share-group medicos]
 */
import { badInput } from '../../nodes/clients/common/errors';
import { NextcloudClient } from '../../nodes/clients/nextcloud/client';
import { KIND_FOLDERS, PATIENT_ROOT, patientFolder } from '../../nodes/clients/nextcloud/paths';

export interface NextcloudSeedReport {
  created: string[];
  existing: string[];
  /** The share of the patient tree with the staff group, when one was asked for. */
  shared?: { group: string; shareId: string; reused: boolean };
}

/** Creates the clinic's folder tree; returns which folders it created and which were there already. */
export async function seedNextcloud(
  client: NextcloudClient,
  patientIds: Array<string | number> = [],
  opts: { shareWithGroup?: string } = {},
): Promise<NextcloudSeedReport> {
  const report: NextcloudSeedReport = { created: [], existing: [] };
  const folders = [PATIENT_ROOT];
  // every id is checked before anything is made
  const patients = patientIds.map((id) => patientFolder(id));
  for (const folder of patients) for (const kind of Object.values(KIND_FOLDERS)) folders.push(`${folder}/${kind}`);
  for (const folder of folders) {
    const res = await client.mkdir(folder);
    (res.created ? report.created : report.existing).push(res.path);
  }
  if (opts.shareWithGroup) {
    const share = await client.share(PATIENT_ROOT, { type: 'group', shareWith: opts.shareWithGroup }, { reuse: true });
    report.shared = { group: opts.shareWithGroup, shareId: share.id, reused: Boolean(share.reused) };
  }
  return report;
}

/** `--patients N` (patients 1…N), `--ids a,b,c` or `--patients a,b,c` (those ids): the patients whose folders to create. */
export function patientsArg(argv: string[]): string[] {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--'))
      throw badInput('nextcloud', `${name} needs a value: a number of patients or a list of ids (e.g. ${name} 20, --ids 7,8,9)`);
    return v;
  };
  const ids = value('--ids');
  const patients = value('--patients');
  if (ids !== undefined && patients !== undefined) throw badInput('nextcloud', 'give either --patients or --ids, not both');
  if (patients !== undefined && /^\d+$/.test(patients)) {
    const n = Number(patients);
    if (n > 100000) throw badInput('nextcloud', `--patients ${n} is more than 100000 patients; give a smaller number or a list with --ids`);
    return Array.from({ length: n }, (_, i) => String(i + 1));
  }
  const list = ids ?? patients;
  return list === undefined ? [] : list.split(',').filter((s) => s !== '');
}

async function main(): Promise<void> {
  const env = process.env;
  const client = new NextcloudClient({
    url: env.NEXTCLOUD_URL || 'http://localhost:8082',
    username: env.NEXTCLOUD_USERNAME || 'admin',
    appPassword: env.NEXTCLOUD_APP_PASSWORD || '',
  });
  try {
    const argv = process.argv.slice(2);
    const group = argv.indexOf('--share-group');
    const report = await seedNextcloud(client, patientsArg(argv), { shareWithGroup: group >= 0 ? argv[group + 1] : undefined });
    process.stdout.write(JSON.stringify({ level: 'info', event: 'nextcloud.seeded', ...report }) + '\n');
  } finally {
    client.close();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(JSON.stringify({ level: 'error', event: 'nextcloud.seed.failed', msg: err.message }) + '\n');
    process.exit(1);
  });
}
