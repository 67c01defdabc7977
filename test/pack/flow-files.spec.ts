import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFlowFiles, splitFlows, writeFlowFiles, type FlowNode } from '../../host/flow-files';

const shipped = path.resolve(__dirname, '..', '..', '..', 'flows');

describe('flows/ as Node-RED storage: one file per tab', function () {
  let dir: string;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-flows-'));
  });

  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (file: string, nodes: FlowNode[]) => fs.writeFileSync(path.join(dir, file), `${JSON.stringify(nodes, null, 2)}\n`);

  it('reads the shipped flows and writes them back unchanged', function () {
    for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
    const read = readFlowFiles(dir);
    const written = writeFlowFiles(dir, splitFlows(read.nodes, read.origin, read.order), read.origin);
    assert.deepEqual(written, []);
    for (const f of fs.readdirSync(shipped)) {
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), JSON.parse(fs.readFileSync(path.join(shipped, f), 'utf8')));
    }
  });

  it('takes a config node shared by two files once, and writes it into both', function () {
    const db = { id: 'db', type: 'clinica-db-config', url: '${SHARED_DB_URL}' };
    write('a.json', [{ id: 'ta', type: 'tab', label: 'A' }, db, { id: 'qa', z: 'ta', type: 'clinica-db-query', config: 'db' }]);
    write('b.json', [{ id: 'tb', type: 'tab', label: 'B' }, db, { id: 'qb', z: 'tb', type: 'clinica-db-query', config: 'db' }]);
    const read = readFlowFiles(dir);
    assert.equal(read.nodes.filter((n) => n.id === 'db').length, 1);
    const files = splitFlows(read.nodes, read.origin);
    assert.deepEqual([...files.keys()].sort(), ['a.json', 'b.json']);
    for (const content of files.values()) assert.ok(content.some((n) => n.id === 'db'));
  });

  it('puts a new tab in a new file named after its label, and removes the file of a deleted tab', function () {
    write('a.json', [
      { id: 'ta', type: 'tab', label: 'A' },
      { id: 'c1', z: 'ta', type: 'comment' },
    ]);
    write('b.json', [{ id: 'tb', type: 'tab', label: 'B' }]);
    const read = readFlowFiles(dir);
    const next = [
      ...read.nodes.filter((n) => n.id !== 'tb'),
      { id: 'tc', type: 'tab', label: 'Inventario / farmacia' },
      { id: 'c2', z: 'tc', type: 'comment' },
    ];
    writeFlowFiles(dir, splitFlows(next, read.origin), read.origin);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['Inventario farmacia.json', 'a.json']);
    assert.deepEqual(
      JSON.parse(fs.readFileSync(path.join(dir, 'Inventario farmacia.json'), 'utf8')).map((n: FlowNode) => n.id),
      ['tc', 'c2'],
    );
  });

  it('keeps a subflow with its inner nodes in the files that use it', function () {
    write('a.json', [
      { id: 'ta', type: 'tab', label: 'A' },
      { id: 'sf', type: 'subflow', name: 'helper' },
      { id: 'inner', z: 'sf', type: 'function' },
      { id: 'use', z: 'ta', type: 'subflow:sf' },
    ]);
    write('b.json', [{ id: 'tb', type: 'tab', label: 'B' }]);
    const read = readFlowFiles(dir);
    const files = splitFlows(read.nodes, read.origin);
    assert.deepEqual(
      files.get('a.json')!.map((n) => n.id),
      ['ta', 'sf', 'inner', 'use'],
    );
    assert.deepEqual(
      files.get('b.json')!.map((n) => n.id),
      ['tb'],
    );
  });

  it('refuses a file that is not a flow', function () {
    fs.writeFileSync(path.join(dir, 'x.json'), '{"not": "a flow"}');
    assert.throws(() => readFlowFiles(dir), /not a Node-RED flow/);
  });
});
