/** Debian's chromium through playwright-core, for the browser tests and benches (a new user data dir each time). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { SEED_PASSWORD } from '../../peers/keycloak/keycloak-peer';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A headless chromium with a new user data dir. */
export async function browser(viewport = { width: 1366, height: 768 }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'clinica-chrome-')), {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
}

/** Through the Keycloak peer's login form. */
export async function login(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#kc-form-login', { timeout: 15000 });
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', SEED_PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.href.includes('/realms/'), { timeout: 15000 }), page.click('#kc-form-login [type=submit]')]);
}
