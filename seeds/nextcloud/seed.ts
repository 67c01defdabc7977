/**
 * Prepares a Nextcloud for the clinic: the document tree of MISSION.md (`/Documentos_Clinicos/Pacientes/`), and,
 * with `--patients N` (or a list of ids), each patient's `Facturas`, `Recetas` and `Historiales` folders.
 * Idempotent: existing folders are left as they are. Uses the pack's own client.
 *
 *   npm run build && NEXTCLOUD_URL=… NEXTCLOUD_USERNAME=… NEXTCLOUD_APP_PASSWORD=… node dist/seeds/nextcloud/seed.js [--patients 1,2,3]
 */
import { NextcloudClient } from '../../nodes/clients/nextcloud/client';
import { KIND_FOLDERS, PATIENT_ROOT, joinSegments, safeSegment } from '../../nodes/clients/nextcloud/paths';

export interface NextcloudSeedReport {
  created: string[];
  existing: string[];
}

/** Creates the clinic's folder tree; returns which folders it created and which were there already. */
export async function seedNextcloud(client: NextcloudClient, patientIds: Array<string | number> = []): Promise<NextcloudSeedReport> {
  const report: NextcloudSeedReport = { created: [], existing: [] };
  const folders = [PATIENT_ROOT];
  for (const id of patientIds) {
    const patient = safeSegment(String(id), 'patient id');
    for (const kind of Object.values(KIND_FOLDERS)) folders.push(joinSegments([...PATIENT_ROOT.split('/').filter(Boolean), patient, kind]));
  }
  for (const folder of folders) {
    const res = await client.mkdir(folder);
    (res.created ? report.created : report.existing).push(res.path);
  }
  return report;
}

/** `--patients 1,2,3`: the patients whose folders to create. */
function patientsArg(argv: string[]): string[] {
  const i = argv.indexOf('--patients');
  if (i < 0 || !argv[i + 1]) return [];
  return argv[i + 1].split(',').map((s) => s.trim()).filter(Boolean);
}

async function main(): Promise<void> {
  const env = process.env;
  const client = new NextcloudClient({
    url: env.NEXTCLOUD_URL || 'http://localhost:8082',
    username: env.NEXTCLOUD_USERNAME || 'admin',
    appPassword: env.NEXTCLOUD_APP_PASSWORD || '',
  });
  try {
    const report = await seedNextcloud(client, patientsArg(process.argv.slice(2)));
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
