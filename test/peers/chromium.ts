// Debian's Chromium, headless, driven by playwright-core: for the pages the daemon and the agent
// serve. Screenshots go to test-results/ (kept as artifacts, never committed).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

const RESULTS = fileURLToPath(new URL('../../test-results', import.meta.url));
/** The flags a root, offline, headless Chromium needs here (/work/.library/env/machines/polyglot.md). */
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
}

/** Where a screenshot named `name` is kept. */
export function resultPath(name: string): string {
  mkdirSync(RESULTS, { recursive: true });
  return join(RESULTS, name);
}

/** The text of `selector` once `wanted` holds for it (the pages redraw every 2 s). */
export async function shown(page: Page, selector: string, wanted: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
  let text = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await page.waitForTimeout(200)) {
    text = (await page.locator(selector).first().textContent().catch(() => null)) ?? '';
    if (wanted(text)) return text;
  }
  throw new Error(`${selector} never showed what was wanted; last: '${text}'`);
}
