#!/usr/bin/env node
// Copies what tsc does not: each node's editor template (.html), its locales/ and icons/ go beside the
// compiled .js (Node-RED loads them from there), and flows/ becomes examples/ (Import -> Examples).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function copyTree(from, to, accept) {
  if (!fs.existsSync(from)) return 0;
  let count = 0;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      count += copyTree(src, dst, accept);
    } else if (accept(src)) {
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(src, dst);
      count += 1;
    }
  }
  return count;
}

const isAsset = (file) => {
  const rel = path.relative(path.join(root, 'nodes'), file).split(path.sep);
  if (rel.includes('locales') || rel.includes('icons')) return true;
  return file.endsWith('.html') || file.endsWith('.sql');
};

// Every node's locale catalogue starts from the shared one (status and error ids all nodes use), so a
// status text such as "status.working" is translated by the editor in the node's own namespace.
function mergeCommonLocales() {
  const common = path.join(root, 'nodes', 'lib', 'locales');
  if (!fs.existsSync(common)) return;
  const walk = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const file of walk(path.join(root, 'dist', 'nodes'))) {
    const m = /[\\/]locales[\\/]([^\\/]+)[\\/][^\\/]+\.json$/.exec(file);
    if (!m || file.includes(path.join('lib', 'locales'))) continue;
    const base = path.join(common, m[1], 'common.json');
    if (!fs.existsSync(base)) continue;
    const merged = deepMerge(JSON.parse(fs.readFileSync(base, 'utf8')), JSON.parse(fs.readFileSync(file, 'utf8')));
    fs.writeFileSync(file, JSON.stringify(merged, null, 2));
  }
}

function deepMerge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? deepMerge(a[k], v) : v;
  }
  return out;
}

const assets = copyTree(path.join(root, 'nodes'), path.join(root, 'dist', 'nodes'), isAsset);
mergeCommonLocales();
fs.rmSync(path.join(root, 'examples'), { recursive: true, force: true });
const flows = copyTree(path.join(root, 'flows'), path.join(root, 'examples'), (f) => f.endsWith('.json'));
process.stdout.write(`copied ${assets} node assets and ${flows} example flows\n`);
