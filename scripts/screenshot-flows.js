#!/usr/bin/env node
// Screenshots of every shipped tab in the real Node-RED editor, in Debian's headless Chromium (a check that
// labels are readable, nothing overlaps and each group says its stage). Needs `npm run build`, the
// playwright-core dev dependency and /usr/bin/chromium (apt install chromium); not part of npm test.
//   node scripts/screenshot-flows.js [out-dir]   (default: screenshots/)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..');
const out = path.resolve(process.argv[2] || path.join(root, 'screenshots'));
const port = 18800 + Math.floor(Math.random() * 100);

async function main() {
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-shots-'));
  const flowsDir = path.join(work, 'flows');
  fs.cpSync(path.join(root, 'flows'), flowsDir, { recursive: true });
  const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '-s', path.join(root, 'dist', 'settings.js')], {
    env: { ...process.env, PORT: String(port), NODE_RED_USER_DIR: path.join(work, 'user'), NODE_RED_FLOWS_DIR: flowsDir, LOG_LEVEL: 'error', KEYCLOAK_URL: '' },
    stdio: 'ignore',
  });
  // A fresh user data dir each run.
  const browser = await chromium.launchPersistentContext(path.join(work, 'chrome'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 2200, height: 1300 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    for (let i = 0; ; i++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/`, { timeout: 3000 });
        break;
      } catch (err) {
        if (i > 60) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await page.waitForFunction(() => window.RED && RED.workspaces && RED.nodes.eachWorkspace, null, { timeout: 60000 });
    await page.waitForTimeout(2000);
    await page.waitForFunction(
      () => {
        let n = 0;
        RED.nodes.eachWorkspace(() => {
          n += 1;
        });
        return n > 0;
      },
      null,
      { timeout: 60000 },
    );
    const tabs = await page.evaluate(() => {
      const t = [];
      RED.nodes.eachWorkspace((w) => t.push({ id: w.id, label: w.label }));
      return t;
    });
    for (const tab of tabs) {
      await page.evaluate((id) => {
        RED.workspaces.show(id);
        RED.actions.invoke('core:zoom-reset');
        RED.actions.invoke('core:zoom-out');
        RED.actions.invoke('core:zoom-out');
      }, tab.id);
      await page.waitForTimeout(800);
      const file = path.join(out, `${tab.label.replace(/[^\w -]+/g, '_')}.png`);
      await page.locator('#red-ui-workspace-chart').screenshot({ path: file });
      process.stdout.write(`${file}\n`);
    }
  } finally {
    await browser.close();
    red.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
