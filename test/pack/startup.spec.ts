import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../lib/harness';

const root = path.resolve(__dirname, '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

describe('npm start: Node-RED with the compiled settings (real process)', function () {
  this.timeout(90000);
  let child: ChildProcess | undefined;
  let userDir: string;
  let output = '';

  afterEach(function () {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('starts cleanly with the database and the broker down, logs JSON lines, and stops on SIGTERM', async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-start-'));
    const port = await freePort();
    // A flows folder with one tab that uses the database and the broker, both pointed at closed ports.
    const flowsDir = path.join(userDir, 'flows');
    fs.mkdirSync(flowsDir);
    fs.writeFileSync(
      path.join(flowsDir, 'down.json'),
      JSON.stringify([
        { id: 'tab', type: 'tab', label: 'down' },
        { id: 'db', type: 'clinica-db-config', url: '${SHARED_DB_URL}', migrate: true },
        { id: 'mq', type: 'clinica-amqp-broker', url: '${AMQP_URL}', connectionName: 'startup-test', publishTimeout: 1000 },
        { id: 'listen', z: 'tab', type: 'clinica-db-listen', config: 'db', channels: 'shared_changes', wires: [[]] },
        { id: 'query', z: 'tab', type: 'clinica-db-query', config: 'db', sql: 'SELECT 1', wires: [[]] },
        { id: 'consume', z: 'tab', type: 'clinica-amqp-consume', broker: 'mq', queue: 'invoice_queue', wires: [['ack']] },
        { id: 'ack', z: 'tab', type: 'clinica-amqp-ack', mode: 'auto' },
        {
          id: 'kick',
          z: 'tab',
          type: 'inject',
          once: true,
          onceDelay: 0.5,
          repeat: '',
          topic: 'invoice.created',
          payload: '{"invoice":1}',
          payloadType: 'json',
          props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }],
          wires: [['publish', 'query']],
        },
        { id: 'publish', z: 'tab', type: 'clinica-amqp-publish', broker: 'mq', exchange: 'documents_exchange', wires: [[]] },
      ]),
    );
    child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        NODE_RED_USER_DIR: userDir,
        NODE_RED_FLOWS_DIR: flowsDir,
        NODE_RED_CREDENTIAL_SECRET: 'test-secret',
        SHARED_DB_URL: 'postgres://postgres@127.0.0.1:1/clinica_shared',
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
        KEYCLOAK_URL: '',
        CLINICA_DEMO: 'off',
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d.toString()));
    child.stderr!.on('data', (d) => (output += d.toString()));

    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        return res?.status === 200;
      },
      'the editor to answer',
      60000,
      250,
    );
    // Let the nodes fail against the closed ports for a while: nothing may crash.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(child.exitCode, null, `Node-RED is still running; output:\n${output.slice(-2000)}`);
    const flows = (await (await fetch(`http://127.0.0.1:${port}/flows`)).json()) as Array<{ id: string; type: string }>;
    assert.ok(
      flows.some((n) => n.type === 'clinica-amqp-consume'),
      'our nodes are loaded and the flow deployed',
    );

    // Import -> Examples lists every shipped flow.
    const examples = (await (await fetch(`http://127.0.0.1:${port}/library/examples/flows/node-red-contrib-clinica-integration/`)).json()) as Array<{
      fn: string;
    }>;
    const shipped = fs
      .readdirSync(path.join(root, 'flows'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    for (const name of shipped)
      assert.ok(
        examples.some((e) => e.fn === name),
        `example "${name}" listed`,
      );

    const lines = output.split('\n').filter((l) => l.trim().startsWith('{'));
    assert.ok(lines.length > 5, 'logs are JSON lines');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.every((r) => typeof r.level === 'string' && 'correlationId' in r));
    assert.ok(
      records.some((r) => (r.node as { type?: string } | undefined)?.type === 'clinica-db-query'),
      `node log lines name the node:\n${lines
        .slice(-30)
        .map((l) => l.slice(0, 200))
        .join('\n')}`,
    );
    assert.ok(!/test-secret/.test(output), 'no secret in the logs');
    assert.ok(!/Unhandled|uncaught/i.test(output), `no unhandled error:\n${output.slice(-2000)}`);

    // A deploy from the editor writes each tab back to its file in the flows folder; a new tab gets a new file.
    const deployed = [
      ...flows,
      { id: 'tab2', type: 'tab', label: 'Nueva pestaña' },
      { id: 'note', z: 'tab2', type: 'comment', name: 'added in the editor', info: '' },
    ];
    const deploy = await fetch(`http://127.0.0.1:${port}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(deployed),
    });
    assert.ok(deploy.ok, `deploy answered ${deploy.status}`);
    assert.deepEqual(fs.readdirSync(flowsDir).sort(), ['Nueva pestana.json', 'down.json']);
    const newFile = JSON.parse(fs.readFileSync(path.join(flowsDir, 'Nueva pestana.json'), 'utf8')) as Array<{ id: string }>;
    assert.deepEqual(
      newFile.map((n) => n.id),
      ['tab2', 'note'],
    );
    const oldFile = JSON.parse(fs.readFileSync(path.join(flowsDir, 'down.json'), 'utf8')) as Array<{ id: string }>;
    assert.ok(oldFile.some((n) => n.id === 'db') && !oldFile.some((n) => n.id === 'note'));

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20000))]);
    assert.equal(code, 0, `stopped cleanly; output:\n${output.slice(-1500)}`);
  });
});
