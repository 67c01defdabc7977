#!/usr/bin/env node
// Runs Node-RED with the compiled settings and the shipped flows. The runtime flow file is composed from
// flows/*.json (one tab per integration pattern, config nodes shared by id) the first time, or again with
// `npm start -- --reset-flows`; after that the editor owns it.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const root = path.resolve(__dirname, '..');
loadDotEnv(path.join(root, '.env'));

const userDir = process.env.NODE_RED_USER_DIR || path.join(root, '.node-red');
const flowFile = process.env.NODE_RED_FLOW_FILE || path.join(userDir, 'flows.json');
fs.mkdirSync(userDir, { recursive: true });

if (!fs.existsSync(flowFile) || process.argv.includes('--reset-flows')) {
  const nodes = composeFlows(path.join(root, 'flows'));
  fs.writeFileSync(flowFile, JSON.stringify(nodes, null, 2));
  process.stdout.write(JSON.stringify({ level: 'info', msg: `composed ${nodes.length} nodes from flows/ into ${flowFile}` }) + '\n');
}

const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '-s', path.join(root, 'dist', 'settings.js')], {
  stdio: 'inherit',
  env: process.env,
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function composeFlows(dir) {
  const byId = new Map();
  if (!fs.existsSync(dir)) return [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    for (const node of nodes) if (!byId.has(node.id)) byId.set(node.id, node);
  }
  return [...byId.values()];
}

function loadDotEnv(file) {
  if (!fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    const value = m[2].replace(/^(['"])(.*)\1$/, '$2');
    if (process.env[m[1]] === undefined) process.env[m[1]] = value;
  }
}
