// `samcluster serve`'s index: GET api/runs, read again every 2 s (runs grow, finish, appear), one row per run.
'use strict';

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A run's page: its name's segments percent-encoded, the slashes between them kept (/runs/2026/quick/).
function runUrl(name) { return 'runs/' + name.split('/').map(encodeURIComponent).join('/') + '/'; }

function wall(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return Math.round(s) + ' s';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
  return Math.floor(s / 3600) + 'h ' + String(Math.floor(s % 3600 / 60)).padStart(2, '0') + 'm';
}

function started(iso) { return iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '—'; }

function render(runs) {
  const rows = runs.map(r => {
    const row = el('tr', { 'data-run': r.name });
    const name = el('td');
    name.append(el('a', { href: runUrl(r.name) }, r.name));
    const state = el('td');
    const badge = el('span', { class: 'status ' + ({ running: 'running', finished: 'completed', unreadable: 'failed' }[r.state] || 'queued') }, r.state);
    if (r.problem) badge.title = r.problem;
    state.append(badge);
    const verdicts = el('td', { class: 'verdicts' });
    for (const v of r.verdicts) verdicts.append(el('div', {}, `${v.comparison}: ${v.verdict}`));
    if (!r.verdicts.length) verdicts.textContent = r.problem || '—';
    row.append(name, el('td', {}, r.grid || '—'), state,
      el('td', { class: 'num' }, String(r.trials)), el('td', { class: 'num' }, String(r.done)),
      el('td', { class: 'num' }, String(r.failed)), el('td', { class: 'num' }, String(r.running)),
      el('td', {}, started(r.started)), el('td', { class: 'num' }, wall(r.wall_seconds)), verdicts);
    return row;
  });
  document.querySelector('#runs tbody').replaceChildren(...rows);
}

async function poll() {
  const connection = document.getElementById('connection');
  try {
    const response = await fetch('api/runs', { cache: 'no-store' });
    if (!response.ok) throw new Error(response.statusText);
    render(await response.json());
    connection.textContent = 'live'; connection.className = 'connection live';
  } catch (e) {
    connection.textContent = 'serve stopped'; connection.className = 'connection lost';
  }
  setTimeout(poll, 2000);
}

poll();
