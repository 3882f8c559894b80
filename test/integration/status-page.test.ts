// The status page in a real browser (Debian's Chromium, headless, driven by playwright-core) and in a
// terminal (`sparkngin status`, `sparkngin top`), against a daemon delivering to a real Kafka 3.9:
// the live numbers as events arrive; then Kafka stopped, and the Kafka sink shown down (red) with
// its lag and the broker's error, the instance's problem named at the top. Served on the ops
// listener behind an ops token, which the browser sends as Basic credentials. A screenshot of each
// state is kept in test-results/.
import { spawnSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken, tokenSha256 } from '../../src/ingest/auth';
import { launchChromium, resultPath, shown as shownOn } from '../peers/chromium';
import { type KafkaPeer, startKafka } from '../peers/kafka';
import { freePort } from '../peers/ports';
import { BUNDLE, type DaemonProcess, postEvents, startDaemon } from './daemon-process';

let kafka: KafkaPeer;
let daemon: DaemonProcess;
let browser: Browser;
let page: Page;
let ops: string;
const token = newToken();

beforeAll(async () => {
  kafka = await startKafka({ version: '3.9' });
  const opsPort = await freePort();
  ops = `http://127.0.0.1:${opsPort}`;
  daemon = await startDaemon({
    config: {
      host: 'status-host',
      ops: { listen: `127.0.0.1:${opsPort}`, tokens: [{ name: 'browser', sha256: tokenSha256(token) }] },
      sinks: { kafka: { brokers: [kafka.brokers], retry: { initialMs: 100, maxMs: 1000 }, connectionTimeoutMs: 1000, requestTimeoutMs: 3000 } },
    },
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 640 }, httpCredentials: { username: 'ops', password: token } });
});
afterAll(async () => {
  await browser?.close();
  await daemon?.close();
  await kafka?.close();
});

/** The text of `selector` on the page once `wanted` holds for it. */
const shown = (selector: string, wanted: (text: string) => boolean, timeoutMs?: number) => shownOn(page, selector, wanted, timeoutMs);

/** `sparkngin <args>` against the daemon's ops listener, with the token from the environment. */
function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [BUNDLE, ...args, '--url', ops], { encoding: 'utf8', env: { ...process.env, SPARKNGIN_OPS_TOKEN: token }, timeout: 30_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('the status page', () => {
  it('asks a browser without the token for it (401 with a Basic challenge)', async () => {
    const answer = await fetch(`${ops}/status`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toContain('Basic realm="sparkngin-ops"');
  });

  it('shows the live numbers: events accepted, each sink delivering', async () => {
    await page.goto(`${ops}/status`);
    expect(await shown('#health', (text) => text === 'imok')).toBe('imok');
    expect(await page.locator('#host').textContent()).toBe('Sparkngin on status-host');
    for (const n of [1, 2, 3]) expect((await postEvents(daemon.url, 'page', [{ n }, { n: n * 10 }], '?ack=sink')).status).toBe(202);
    await shown('#total .value', (text) => text === '6');
    await shown('tr[data-sink="kafka"] td:nth-child(7)', (text) => text === '6');
    expect(await page.locator('tr[data-sink="file"] td:nth-child(7)').textContent()).toBe('6');
    expect(await page.locator('tr[data-sink="kafka"] .state').getAttribute('class')).toContain('ok');
    expect(await page.locator('tr[data-sink="kafka"] .lag').textContent()).toBe('0');
    // Every card and the rate of each sink has its sparkline.
    expect(await page.locator('svg.spark').count()).toBeGreaterThanOrEqual(5);
    await page.screenshot({ path: resultPath('status-page-delivering.png') });
  });

  it('shows the sink whose broker stopped as down, with its lag, its error and the problem on top', async () => {
    await kafka.stop();
    expect((await postEvents(daemon.url, 'page', [{ after: 1 }, { after: 2 }, { after: 3 }])).status).toBe(202);
    await shown('tr[data-sink="kafka"] .state', (text) => text === 'down' || text === 'failed');
    expect(await page.locator('tr[data-sink="kafka"] .state').getAttribute('class')).toContain('bad');
    await shown('tr[data-sink="kafka"] .lag', (text) => text === '3');
    expect(await page.locator('tr[data-sink="kafka"] td.error').textContent()).not.toBe('');
    expect(await shown('#health', (text) => text === '1 problem')).toBe('1 problem');
    expect(await page.locator('#problems li').first().textContent()).toMatch(/^sink kafka: down \(.+\)$/);
    // The file sink goes on: everything is in its file.
    expect(await shown('tr[data-sink="file"] td:nth-child(7)', (text) => text === '9')).toBe('9');
    await page.screenshot({ path: resultPath('status-page.png') });
  });

  it('`sparkngin status` prints the same, exit 3 for the problem; `top` redraws it', () => {
    const status = cli('status');
    expect(status.code, status.err).toBe(3);
    expect(status.out).toMatch(/^Sparkngin \S+ on status-host \(instance [0-9a-f-]{36}\), up .+: 1 problem$/m);
    expect(status.out).toMatch(/^ {2}! sink kafka: down \(.+\)$/m);
    expect(status.out).toMatch(/^kafka +down +3 /m);
    expect(status.out).toMatch(/^file +idle +0 /m);
    expect(status.out).toMatch(/accepted since start 9/);
    const json = cli('status', '--json');
    expect(JSON.parse(json.out).sinks.map((sink: { sink: string }) => sink.sink)).toEqual(['file', 'kafka']);
    const top = cli('top', '--count', '2', '--interval', '0.2');
    expect(top.code, top.err).toBe(0);
    expect(top.out.match(/^Sparkngin /gm)).toHaveLength(2);
    const refused = spawnSync(process.execPath, [BUNDLE, 'status', '--url', ops], { encoding: 'utf8', env: { ...process.env, SPARKNGIN_OPS_TOKEN: '' } });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/answered 401/);
  });

  it('shows Kafka back: the sink delivers what waited and the instance is well again', async () => {
    await kafka.restart();
    await shown('tr[data-sink="kafka"] .lag', (text) => text === '0', 60_000);
    expect(await shown('#health', (text) => text === 'imok', 30_000)).toBe('imok');
    expect(await page.locator('tr[data-sink="kafka"] td:nth-child(7)').textContent()).toBe('9');
    expect(cli('status').code).toBe(0);
  });
});
