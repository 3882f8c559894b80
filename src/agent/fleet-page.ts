// The agent's fleet page, `GET /` and `GET /status` on agent.listen: the status page's look and
// way (src/ops/status-page.ts: written as served, text only, polling every two seconds) over the
// fleet view (`fleet`, the JSON `sparkngin check agent` reads): one row per instance with its
// state, when it last answered and beat, its sinks and its findings; the flagged ones first.
import { htmlPage } from '../ops/status-page';

const SCRIPT = `
const TONE = { ok: 'ok', warning: 'warn', critical: 'bad' };
const RANK = { critical: 0, warning: 1, ok: 2 };
const age = (seconds) => (seconds === undefined ? 'never' : duration(seconds) + ' ago');
function render(fleet) {
  const flagged = fleet.instances.filter((each) => each.state !== 'ok').length;
  const health = $('health');
  health.textContent = flagged === 0 ? 'all ok' : flagged + ' of ' + fleet.instances.length + ' flagged';
  health.className = 'badge ' + (flagged === 0 ? 'ok' : fleet.instances.some((each) => each.state === 'critical') ? 'bad' : 'warn');
  $('meta').textContent = fleet.instances.length + ' instance(s) · late after ' + number(fleet.lateAfterSeconds) + ' s' + (fleet.heartbeats ? ' · heartbeats from Kafka' : '');
  const rows = $('instances'); rows.replaceChildren();
  const ordered = [...fleet.instances].sort((a, b) => RANK[a.state] - RANK[b.state] || a.name.localeCompare(b.name));
  for (const each of ordered) {
    const row = document.createElement('tr'); row.dataset.instance = each.url || each.id || each.name; rows.appendChild(row);
    const name = text(row, 'td', each.name);
    if (each.host && each.host !== each.name) text(name, 'div', each.host, 'label');
    text(text(row, 'td', ''), 'span', each.state, 'badge state ' + TONE[each.state]);
    text(row, 'td', age(each.lastAnswerAgeSeconds), 'num answered');
    text(row, 'td', fleet.heartbeats ? age(each.heartbeatAgeSeconds) : '–', 'num beat');
    text(row, 'td', each.sinks.map((sink) => sink.sink + ' ' + sink.health + ' (' + number(sink.lagRecords) + ')').join(', '), 'sinks');
    const findings = text(row, 'td', '', 'error findings');
    for (const finding of each.findings) text(findings, 'div', finding.message);
  }
}
every2s('fleet', render);
`;

export const FLEET_PAGE = htmlPage(
  'Sparkngin fleet',
  `<header><h1>Sparkngin fleet</h1><span id="health" class="badge idle">…</span><span id="meta" class="meta"></span></header>
<main>
<table>
<thead><tr><th>instance</th><th>state</th><th>last answer</th><th>last heartbeat</th><th>sinks (lag)</th><th>findings</th></tr></thead>
<tbody id="instances"></tbody>
</table>
<footer><span id="updated">Loading…</span><span id="stale"></span> · <a href="fleet">fleet</a></footer>
</main>`,
  SCRIPT,
);
