#!/usr/bin/env node
// Runs Node-RED with the compiled settings (dist/settings.js): the flows are the files of flows/ (or
// NODE_RED_FLOWS_DIR), one tab each, and a deploy from the editor writes them back. Reads .env when present.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const root = path.resolve(__dirname, '..');
loadDotEnv(path.join(root, '.env'));
// The shipped flows are edited in place: a deploy writes each tab back to its file in flows/.
if (!process.env.NODE_RED_FLOWS_DIR && !process.env.NODE_RED_FLOW_FILE) process.env.NODE_RED_FLOWS_DIR = path.join(root, 'flows');

const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '-s', path.join(root, 'dist', 'settings.js')], {
  stdio: 'inherit',
  env: process.env,
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function loadDotEnv(file) {
  if (!fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    const value = m[2].replace(/^(['"])(.*)\1$/, '$2');
    if (process.env[m[1]] === undefined) process.env[m[1]] = value;
  }
}
