// The live page: one event stream (api/events) gives a snapshot, then each change — a trial's row, one epoch, the
// progress — and the page redraws only what changed. Charts are SVG drawn here: no library, nothing from a CDN.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
// The PNG charts' colours (steel blue, dark orange, …), by the optimizer's order in the report.
const PALETTE = ['#4682b4', '#ff8c00', '#2e8b57', '#dc143c', '#800080', '#8b4513'];
const METRICS = [
  { key: 'train_acc', title: 'Train accuracy (%)', fixed: [0, 100] },
  { key: 'test_acc', title: 'Test accuracy (%)', fixed: [0, 100] },
  { key: 'test_loss', also: 'train_loss', title: 'Loss (test solid, train dashed)', fromZero: true },
  { key: 'lr', title: 'Learning rate (log)', log: true },
];

const run = { trials: new Map(), order: [], epochs: new Map(), optimizers: [], progress: null, finished: false };
const dirtyGroups = new Set();
let redrawQueued = false;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function num(x) { return x === null || x === undefined ? NaN : Number(x); }
function fixed(x, digits) { const v = num(x); return Number.isFinite(v) ? v.toFixed(digits) : '—'; }
function colorOf(optimizer) { const i = run.optimizers.indexOf(optimizer); return PALETTE[(i < 0 ? run.optimizers.length : i) % PALETTE.length]; }

// ---- state ----

function applySnapshot(s) {
  document.getElementById('title').textContent = 'SamCluster · ' + s.title;
  document.title = 'SamCluster · ' + s.title;
  run.trials.clear(); run.order = []; run.epochs.clear();
  run.optimizers = s.optimizers;   // the report's order: each optimizer keeps its PNG chart colour
  for (const t of s.trials) { run.trials.set(t.id, t); run.order.push(t.id); }
  for (const e of s.epochs) run.epochs.set(e.trial, { attempt: e.attempt, points: e.epochs });
  document.getElementById('curves').replaceChildren();
  document.querySelector('#trials tbody').replaceChildren();
  for (const id of run.order) { renderRow(run.trials.get(id)); dirtyGroups.add(run.trials.get(id).group); }
  applyProgress(s.progress);
  queueRedraw();
}

function applyTrial(t) {
  run.trials.set(t.id, t);
  renderRow(t);
}

function applyEpoch(e) {
  const curve = run.epochs.get(e.trial);
  const last = curve && curve.points.length ? curve.points[curve.points.length - 1].epoch : 0;
  if (curve && curve.attempt === e.attempt && e.point.epoch === last + 1) {
    curve.points.push(e.point);
  } else if (!curve && e.point.epoch === 1) {
    run.epochs.set(e.trial, { attempt: e.attempt, points: [e.point] });
  } else {
    refetchEpochs(e.trial);   // out of step (a resumed attempt): read the trial's curve again
    return;
  }
  markGroup(e.trial);
}

function applyEpochs(e) {
  run.epochs.set(e.trial, { attempt: e.attempt, points: e.epochs });
  markGroup(e.trial);
}

async function refetchEpochs(id) {
  const response = await fetch('api/trials/' + encodeURIComponent(id) + '/epochs');
  if (response.ok) applyEpochs(await response.json());
}

function markGroup(id) {
  const t = run.trials.get(id);
  if (t) { dirtyGroups.add(t.group); queueRedraw(); }
}

function queueRedraw() {
  if (redrawQueued) return;
  redrawQueued = true;
  requestAnimationFrame(() => {
    redrawQueued = false;
    for (const g of dirtyGroups) renderGroup(g);
    dirtyGroups.clear();
  });
}

function applyProgress(p) {
  const text = document.getElementById('progress-text');
  if (!p) { text.textContent = 'Waiting for the run\'s first progress…'; return; }
  run.progress = p;
  run.finished = p.finished;
  const bar = document.querySelector('#progress .bar');
  for (const part of ['completed', 'failed', 'running'])
    bar.querySelector('.' + part).style.width = (p.total ? 100 * p[part] / p.total : 0) + '%';
  const eta = p.finished ? 'finished' : p.eta_seconds == null ? 'ETA —'
    : 'ETA ' + Math.floor(p.eta_seconds / 60) + 'm ' + String(Math.floor(p.eta_seconds % 60)).padStart(2, '0') + 's';
  const looks = p.looks ? ` · ${p.waiting} waiting for a look · ${p.skipped} skipped` : '';
  text.textContent = `${p.completed + p.failed}/${p.total} done (${p.failed} failed) · ${p.running} running · ${p.queued} queued${looks} · ${p.workers} workers · ${eta}`;
  // A sequential study: each comparison's look and decision ("look 2 of 4: continue", "stopped at look 1: SAM better").
  const list = document.getElementById('looks');
  list.hidden = !p.looks;
  list.replaceChildren(...(p.looks || []).map(l => el('li', {}, `${l.comparison} vs ${l.control}: ${l.state}`)));
  if (p.report_ready) loadReport();
}

// ---- trials table ----

function renderRow(t) {
  const body = document.querySelector('#trials tbody');
  let row = body.querySelector(`tr[data-trial="${CSS.escape(t.id)}"]`);
  if (!row) { row = el('tr', { 'data-trial': t.id }); body.append(row); }
  const status = el('span', { class: 'status ' + t.status }, t.status);
  if (t.failure) status.title = t.failure;
  const where = t.node ? `${t.node} / ${t.device}` : '—';
  const log = el('a', { href: t.log, target: '_blank' }, 'log');
  const cells = [
    el('td', {}, t.id), el('td'), el('td', {}, where),
    el('td', { class: 'num' }, `${t.epoch}/${t.epochs}`),
    el('td', { class: 'num' }, fixed(t.train_acc, 2)), el('td', { class: 'num' }, fixed(t.test_acc, 2)),
    el('td', { class: 'num' }, fixed(t.seconds, 1)), el('td', { class: 'num' }, String(t.attempts)), el('td'),
  ];
  cells[1].append(status);
  if (t.attempts > 0) cells[8].append(log); else cells[8].textContent = '—';
  row.replaceChildren(...cells);
}

// ---- curves ----

function groupElement(group) {
  const curves = document.getElementById('curves');
  let box = [...curves.children].find(c => c.dataset.group === group);
  if (box) return box;
  box = el('div', { class: 'group', 'data-group': group });
  box.append(el('h3', {}, group));
  const legend = el('div', { class: 'legend' });
  for (const o of run.optimizers.filter(o => [...run.trials.values()].some(t => t.group === group && t.optimizer === o))) {
    const item = el('span');
    const swatch = el('i'); swatch.style.background = colorOf(o);
    const title = [...run.trials.values()].find(t => t.optimizer === o).optimizer_title;
    item.append(swatch, title);
    legend.append(item);
  }
  box.append(legend, el('div', { class: 'charts' }));
  curves.append(box);
  return box;
}

// Mean ± sample std over the repeats that reached each epoch, per optimizer.
function seriesOf(group, key) {
  const out = [];
  for (const o of run.optimizers) {
    const trials = [...run.trials.values()].filter(t => t.group === group && t.optimizer === o);
    if (!trials.length) continue;
    const byEpoch = new Map();
    for (const t of trials)
      for (const p of (run.epochs.get(t.id) || { points: [] }).points) {
        const v = num(p[key]);
        if (!Number.isFinite(v)) continue;
        if (!byEpoch.has(p.epoch)) byEpoch.set(p.epoch, []);
        byEpoch.get(p.epoch).push(v);
      }
    const points = [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, vs]) => {
      const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
      const sd = vs.length > 1 ? Math.sqrt(vs.reduce((a, b) => a + (b - mean) ** 2, 0) / (vs.length - 1)) : 0;
      return { epoch, mean, sd, n: vs.length };
    });
    out.push({ optimizer: o, title: trials[0].optimizer_title, color: colorOf(o), points });
  }
  return out;
}

function renderGroup(group) {
  const box = groupElement(group);
  const epochs = Math.max(1, ...[...run.trials.values()].filter(t => t.group === group).map(t => t.epochs));
  const charts = METRICS.map(m => chart(m, epochs, seriesOf(group, m.key), m.also ? seriesOf(group, m.also) : []));
  box.querySelector('.charts').replaceChildren(...charts);
}

function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
  const step = [1, 2, 5, 10].map(m => m * step0).find(s => span / s <= count) || step0 * 10;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

function chart(metric, epochs, series, dashed) {
  const W = 300, H = 200, L = 46, R = 10, T = 20, B = 26;
  const svg = svgEl('svg', { class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-metric': metric.key, role: 'img' });
  svg.append(svgEl('text', { x: L, y: 13, class: 'title' }));
  svg.lastChild.textContent = metric.title;
  const values = [...series, ...dashed].flatMap(s => s.points.flatMap(p => [p.mean - p.sd, p.mean + p.sd]))
    .filter(v => Number.isFinite(v) && (!metric.log || v > 0));
  let lo, hi;
  if (metric.fixed) [lo, hi] = metric.fixed;
  else if (!values.length) [lo, hi] = metric.log ? [1e-4, 1e-2] : [0, 1];
  else {
    lo = metric.fromZero ? 0 : Math.min(...values); hi = Math.max(...values);
    if (metric.log) { lo = Math.log10(lo); hi = Math.log10(hi); if (hi - lo < 0.5) { lo -= 0.25; hi += 0.25; } }
    else if (hi <= lo) hi = lo + 1;
    else hi += (hi - lo) * 0.05;   // the top point stays inside the frame
  }
  const x = e => L + (epochs <= 1 ? 0.5 : (e - 1) / (epochs - 1)) * (W - L - R);
  const yOf = v => { const t = metric.log ? Math.log10(Math.max(v, 1e-12)) : v; return H - B - (t - lo) / (hi - lo) * (H - T - B); };
  // Axes and ticks.
  for (const t of niceTicks(lo, hi, 5)) {
    const y = H - B - (t - lo) / (hi - lo) * (H - T - B);
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
    const label = svgEl('text', { x: L - 4, y: y + 3, 'text-anchor': 'end' });
    label.textContent = metric.log ? (Number.isInteger(t) ? '1e' + t : '') : String(+t.toFixed(6));
    svg.append(label);
  }
  for (const e of niceTicks(1, epochs, Math.min(epochs, 6)).filter(e => Number.isInteger(e))) {
    const label = svgEl('text', { x: x(e), y: H - B + 13, 'text-anchor': 'middle' });
    label.textContent = String(e);
    svg.append(label);
  }
  svg.append(svgEl('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  svg.append(svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
  const epochLabel = svgEl('text', { x: W - R, y: H - 2, 'text-anchor': 'end' });
  epochLabel.textContent = 'epoch';
  svg.append(epochLabel);
  // Bands first, so every line stays visible where two bands overlap.
  for (const s of series.filter(s => s.points.length)) {
    const upper = s.points.map(p => `${x(p.epoch)},${yOf(p.mean + p.sd)}`);
    const lower = s.points.slice().reverse().map(p => `${x(p.epoch)},${yOf(metric.log ? Math.max(p.mean - p.sd, p.mean / 10) : p.mean - p.sd)}`);
    svg.append(svgEl('polygon', { points: [...upper, ...lower].join(' '), fill: s.color, 'fill-opacity': 0.15, stroke: 'none' }));
  }
  for (const s of dashed.filter(s => s.points.length))
    svg.append(svgEl('polyline', { points: s.points.map(p => `${x(p.epoch)},${yOf(p.mean)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 1.2, 'stroke-dasharray': '4 3' }));
  for (const s of series.filter(s => s.points.length)) {
    svg.append(svgEl('polyline', { points: s.points.map(p => `${x(p.epoch)},${yOf(p.mean)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 1.6 }));
    for (const p of s.points) {
      const dot = svgEl('circle', { class: 'point', cx: x(p.epoch), cy: yOf(p.mean), r: 2.6, fill: s.color, 'data-optimizer': s.optimizer, 'data-epoch': p.epoch });
      const tip = svgEl('title');
      tip.textContent = `${s.title}, epoch ${p.epoch}: ${+p.mean.toPrecision(4)} ± ${+p.sd.toPrecision(3)} (n = ${p.n})`;
      dot.append(tip);
      svg.append(dot);
    }
  }
  return svg;
}

// ---- report ----

let reportLoaded = false;

async function loadReport() {
  if (reportLoaded) return;
  reportLoaded = true;
  const response = await fetch('api/report');
  if (!response.ok) { reportLoaded = false; return; }
  renderReport(await response.json());
}

function renderReport(groups) {
  const body = document.querySelector('#report-table tbody');
  const notes = document.getElementById('report-notes');
  body.replaceChildren(); notes.replaceChildren();
  for (const g of groups) {
    const optimizers = Object.keys(g).filter(k => g[k] && typeof g[k] === 'object' && 'test_mean' in g[k]);
    for (const o of optimizers) {
      const a = g[o];
      // Each optimizer's own comparison with the control (the flat fields describe only the primary one).
      const stats = (g.comparisons || []).find(c => c.treatment === o) || (o === g.treatment ? g : null);
      const ci = stats && Array.isArray(stats.diff_ci95) ? ` [${fixed(stats.diff_ci95[0], 2)}, ${fixed(stats.diff_ci95[1], 2)}]` : '';
      body.append(rowOf([
        g.dataset, g.model, g.cell || '—', o, String(a.n),
        `${fixed(a.train_mean, 2)} ± ${fixed(a.train_std, 2)}`, `${fixed(a.test_mean, 2)} ± ${fixed(a.test_std, 2)}`,
        fixed(a.seconds_mean, 1), stats ? fixed(stats.diff_mean, 2) + ci : '', stats ? fixed(stats.p_value, 4) : '',
        stats ? fixed(stats.hedges_g, 2) : '', stats ? timeRatio(stats) : '',
      ]));
    }
    for (const n of g.notes || []) notes.append(el('li', {}, `${g.dataset} · ${g.model}${g.cell ? ' · ' + g.cell : ''}: ${n}`));
  }
  const first = groups.find(g => g.treatment);
  document.getElementById('report-hint').textContent = first
    ? `${first.method || first.test}, ${first.alternative}: ${first.treatment} vs ${first.control} on test accuracy. The files: report.md, report.json, report.csv, curves/.`
    : 'The files: report.md, report.json, report.csv, curves/.';
  document.getElementById('report').hidden = false;
}

// The comparison's price: "1.79× SGD", or a dash where an arm has no completed trial or the control's time is 0.
function timeRatio(stats) {
  const v = num(stats.time_ratio);
  return Number.isFinite(v) ? `${v.toFixed(2)}× ${String(stats.control || '').toUpperCase()}` : '—';
}

function rowOf(values) {
  const row = el('tr');
  values.forEach((v, i) => row.append(el('td', i >= 4 ? { class: 'num' } : {}, v)));
  return row;
}

// ---- the stream ----

function connect() {
  const connection = document.getElementById('connection');
  const events = new EventSource('api/events');
  const on = (name, apply) => events.addEventListener(name, m => apply(JSON.parse(m.data)));
  on('snapshot', applySnapshot);
  on('trial', applyTrial);
  on('epoch', applyEpoch);
  on('epochs', applyEpochs);
  on('progress', applyProgress);
  on('report', () => loadReport());
  events.onopen = () => { connection.textContent = 'live'; connection.className = 'connection live'; };
  events.onerror = () => {
    connection.textContent = run.finished ? 'coordinator stopped (the run finished)' : 'reconnecting…';
    connection.className = 'connection lost';
  };
}

connect();
