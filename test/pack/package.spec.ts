import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const entries = Object.entries(pkg['node-red'].nodes as Record<string, string>);

describe('the pack as Node-RED loads it', function () {
  it('is a node-red-contrib package for Node-RED >= 4.1 with every node registered', function () {
    assert.match(pkg.name, /^node-red-contrib-/);
    assert.ok(pkg.keywords.includes('node-red'));
    assert.ok(entries.length >= 15);
    for (const [type] of entries) assert.match(type, /^clinica-/, `${type} follows the clinica-* naming scheme`);
  });

  for (const [type, file] of entries) {
    describe(type, function () {
      const js = path.join(root, file);
      const dir = path.dirname(js);
      const base = path.basename(js, '.js');

      it('has its compiled module, which registers exactly this type', function () {
        assert.ok(fs.existsSync(js), `${file} exists`);
        const registered: string[] = [];

        const mod = require(js);
        const fake = {
          nodes: { registerType: (t: string) => registered.push(t), createNode: () => undefined, getNode: () => null },
          util: {},
          log: {},
          settings: {},
          events: { on() {} },
          hooks: { add() {}, remove() {} },
          httpAdmin: { get() {}, post() {} },
          httpNode: { get() {}, post() {}, use() {} },
          auth: { needsPermission: () => () => undefined },
        };
        mod(fake);
        assert.deepEqual(registered, [type]);
      });

      it('has an editor template that registers the type', function () {
        const html = fs.readFileSync(path.join(dir, `${base}.html`), 'utf8');
        assert.match(html, new RegExp(`registerType\\(\\s*['"]${type}['"]`));
        assert.match(html, new RegExp(`data-template-name=["']${type}["']`));
      });

      for (const lang of ['en-US', 'es-ES']) {
        it(`has ${lang} messages and help`, function () {
          const messages = JSON.parse(fs.readFileSync(path.join(dir, 'locales', lang, `${base}.json`), 'utf8'));
          assert.ok(messages.status?.working, 'shared status ids merged in');
          const help = fs.readFileSync(path.join(dir, 'locales', lang, `${base}.html`), 'utf8');
          assert.match(help, new RegExp(`data-help-name=["']${type}["']`));
          assert.ok(help.replace(/<[^>]+>/g, '').trim().length > 200, 'help says something');
        });
      }

      it('has help in Spanish that is not the English text', function () {
        const en = fs.readFileSync(path.join(dir, 'locales', 'en-US', `${base}.html`), 'utf8');
        const es = fs.readFileSync(path.join(dir, 'locales', 'es-ES', `${base}.html`), 'utf8');
        assert.notEqual(es, en);
      });

      it('uses only message ids that its locale defines in data-i18n', function () {
        const html = fs.readFileSync(path.join(dir, `${base}.html`), 'utf8');
        const messages = JSON.parse(fs.readFileSync(path.join(dir, 'locales', 'en-US', `${base}.json`), 'utf8'));
        const es = JSON.parse(fs.readFileSync(path.join(dir, 'locales', 'es-ES', `${base}.json`), 'utf8'));
        const lookup = (obj: Record<string, unknown>, key: string) =>
          key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
        for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) {
          const key = m[1].replace(/^\[[^\]]+\]/, '');
          if (key.includes(':')) continue;
          assert.ok(lookup(messages, key) !== undefined, `en-US defines ${key}`);
          assert.ok(lookup(es, key) !== undefined, `es-ES defines ${key}`);
        }
      });
    });
  }

  it('copies every shipped flow to examples/ (Import -> Examples)', function () {
    const flows = fs.existsSync(path.join(root, 'flows')) ? fs.readdirSync(path.join(root, 'flows')).filter((f) => f.endsWith('.json')) : [];
    for (const f of flows) assert.ok(fs.existsSync(path.join(root, 'examples', f)), `examples/${f}`);
  });
});
