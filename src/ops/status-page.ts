// The status page, `GET /` and `GET /status`: one small HTML page, written here as it is served (no
// build step, no file to find at run time, nothing fetched from elsewhere). Its script polls
// `stats` (relative, so the page works behind a reverse proxy's path prefix) every two seconds and
// draws what /stats holds: whether the instance is well (its `problems`), the rates of the last
// minutes as sparklines (`history`), the spool, and each sink's state, lag and last error.
//
// Polling rather than server-sent events: one short request per page every two seconds holds no
// connection open, so a forgotten tab costs nothing and the operations listener's bound of 64
// connections is never taken by watchers; the numbers are two seconds fresh at worst.
//
// Data goes into the page as text (textContent), never as markup. The inline script and style are
// allowed by their hashes in the Content-Security-Policy, and nothing else is. `htmlPage` makes
// such a page: the agent's fleet page (src/agent/fleet-page.ts) is one too.
import { createHash } from 'node:crypto';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
header { display: flex; gap: 1em; align-items: baseline; padding: .8em 1.2em; background: #24292f; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
header .meta { color: #c9d1d9; font-size: .9em; }
main { padding: 1em 1.2em; max-width: 72em; }
.badge { display: inline-block; padding: .1em .6em; border-radius: 1em; font-weight: 600; font-size: .85em; }
.ok { background: #dafbe1; color: #116329; } .warn { background: #fff8c5; color: #7d4e00; } .bad { background: #ffebe9; color: #a40e26; } .idle { background: #eaeef2; color: #57606a; }
#problems { margin: .5em 0 1em; padding: 0 0 0 1.2em; color: #a40e26; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(14em, 1fr)); gap: .8em; margin-bottom: 1.2em; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .7em .9em; }
.label { color: #57606a; font-size: .85em; } .card .value { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d0d7de; }
th, td { text-align: left; padding: .45em .7em; border-bottom: 1px solid #eaeef2; vertical-align: middle; }
th { color: #57606a; font-weight: 600; font-size: .85em; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.error { color: #a40e26; max-width: 28em; overflow-wrap: anywhere; }
svg.spark { width: 9em; height: 1.8em; vertical-align: middle; } svg.spark polyline { fill: none; stroke: #0969da; stroke-width: 1.5; }
footer { color: #57606a; font-size: .85em; margin-top: 1em; } #stale { color: #a40e26; }
`;

/** What every page's script starts with: formatting, text-only elements, sparklines. */
const HELPERS = `
'use strict';
const $ = (id) => document.getElementById(id);
const number = (n, digits = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const bytes = (n) => { const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0; while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; } return number(n, i === 0 ? 0 : 1) + ' ' + units[i]; };
const duration = (s) => s < 60 ? number(s, s < 10 ? 1 : 0) + ' s' : s < 3600 ? Math.floor(s / 60) + ' min ' + Math.floor(s % 60) + ' s' : Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
const last = (list) => (list.length === 0 ? 0 : list[list.length - 1]);
function text(parent, tag, content, className) { const node = document.createElement(tag); node.textContent = content; if (className) node.className = className; parent.appendChild(node); return node; }
function spark(values) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg'); svg.setAttribute('class', 'spark'); svg.setAttribute('viewBox', '0 0 100 20'); svg.setAttribute('preserveAspectRatio', 'none');
  const max = Math.max(1, ...values);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', values.map((v, i) => (values.length < 2 ? 0 : (i * 100) / (values.length - 1)).toFixed(1) + ',' + (19 - (v / max) * 18).toFixed(1)).join(' '));
  svg.appendChild(line); return svg;
}
/** Polls \`path\` every two seconds and draws each answer; an old page says its numbers are old. */
function every2s(path, render) {
  async function poll() {
    try {
      const answer = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
      if (!answer.ok) throw new Error('HTTP ' + answer.status);
      render(await answer.json());
      $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + ' · every 2 s';
      $('stale').textContent = '';
    } catch (error) {
      $('stale').textContent = ' · not answering (' + error.message + '): the numbers are old';
    }
    setTimeout(poll, 2000);
  }
  poll();
}
`;

const STATUS_SCRIPT = `
function card(parent, id, label, value, history) {
  const box = text(parent, 'div', '', 'card'); box.id = id;
  text(box, 'div', label, 'label'); text(box, 'div', value, 'value');
  if (history) box.appendChild(spark(history));
}
function stateOf(sink) {
  if (sink.state === 'failed') return ['failed', 'bad'];
  if (!sink.up) return ['down', 'bad'];
  if (sink.state === 'retrying') return ['retrying', 'warn'];
  if (sink.state === 'stopped') return ['stopped', 'idle'];
  return [sink.state, 'ok'];
}
function render(stats) {
  const h = stats.history;
  $('host').textContent = 'Sparkngin on ' + stats.instance.host;
  $('meta').textContent = 'version ' + stats.version + ' · instance ' + stats.instance.id + ' · up ' + duration(stats.uptimeSeconds);
  const well = stats.problems.length === 0;
  const health = $('health'); health.textContent = well ? 'imok' : stats.problems.length + (stats.problems.length === 1 ? ' problem' : ' problems'); health.className = 'badge ' + (well ? 'ok' : 'bad');
  const problems = $('problems'); problems.replaceChildren(); for (const problem of stats.problems) text(problems, 'li', problem);
  const cards = $('cards'); cards.replaceChildren();
  card(cards, 'accepted', 'Events accepted / s', number(last(h.acceptedPerSecond), 1), h.acceptedPerSecond);
  card(cards, 'refused', 'Requests refused / s', number(last(h.refusedPerSecond), 1), h.refusedPerSecond);
  card(cards, 'spool', 'Spool (' + number(stats.spool.nextSeq - stats.spool.firstSeq) + ' records)', bytes(stats.spool.bytes) + ' of ' + bytes(stats.spool.maxBytes), h.spoolBytes);
  card(cards, 'total', 'Events accepted since start', number(stats.ingest.accepted.events));
  const rows = $('sinks'); rows.replaceChildren();
  for (const sink of stats.sinks) {
    const row = document.createElement('tr'); row.dataset.sink = sink.sink; rows.appendChild(row);
    text(row, 'td', sink.sink);
    const [state, tone] = stateOf(sink); text(text(row, 'td', ''), 'span', state, 'badge state ' + tone);
    text(row, 'td', number(sink.lagRecords), 'num lag');
    text(row, 'td', duration(sink.lagSeconds), 'num lag-seconds');
    text(row, 'td', bytes(sink.spoolBytes), 'num');
    const line = h.sinks.find((entry) => entry.sink === sink.sink);
    const rate = text(row, 'td', number(line ? last(line.deliveredPerSecond) : 0, 1) + ' ', 'num delivered');
    if (line) rate.appendChild(spark(line.deliveredPerSecond));
    text(row, 'td', number(sink.deliveredRecords), 'num');
    text(row, 'td', sink.lastError || '', 'error');
  }
}
every2s('stats', render);
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export interface HtmlPage {
  html: string;
  headers: Record<string, string>;
}

/**
 * A page of this look: `body` (its markup, with the header's #health badge and a footer with
 * #updated and #stale) and `script` (after the helpers). The CSP allows that script and the style
 * by their hashes, and fetches to the page's own origin only.
 */
export function htmlPage(title: string, body: string, script: string): HtmlPage {
  const code = HELPERS + script;
  return {
    html: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
${body}
<script>${code}</script>
</body>
</html>
`,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; script-src ${hash(code)}; style-src ${hash(STYLE)}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
    },
  };
}

/** The daemon's page and the headers it is served with. */
export const STATUS_PAGE = htmlPage(
  'Sparkngin status',
  `<header><h1 id="host">Sparkngin</h1><span id="health" class="badge idle">…</span><span id="meta" class="meta"></span></header>
<main>
<ul id="problems"></ul>
<section id="cards" class="cards"></section>
<table>
<thead><tr><th>sink</th><th>state</th><th>lag (events)</th><th>oldest undelivered</th><th>spool held</th><th>delivered / s</th><th>delivered</th><th>last error</th></tr></thead>
<tbody id="sinks"></tbody>
</table>
<footer><span id="updated">Loading…</span><span id="stale"></span> · <a href="metrics">metrics</a> · <a href="stats">stats</a></footer>
</main>`,
  STATUS_SCRIPT,
);
