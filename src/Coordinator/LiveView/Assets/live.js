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
  // A run `serve` shows links back to its index (serve mounts each run at /runs/NAME/).
  const runsLink = document.getElementById('runs-link');
  if (p.served && runsLink.hidden) {
    runsLink.href = location.pathname.slice(0, location.pathname.indexOf('/runs/') + 1);
    runsLink.hidden = false;
  }
  // A run `serve` reads from its files has no workers or ETA to show: whether a process still runs it instead.
  const state = p.served ? (p.served === 'running' ? 'a process is running it (read from its files)' : p.served) : `${p.workers} workers · ${eta}`;
  text.textContent = `${p.completed + p.failed}/${p.total} done (${p.failed} failed) · ${p.running} running · ${p.queued} queued${looks} · ${state}`;
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
  box.append(el('h3', {}, group), el('div', { class: 'legend' }), el('div', { class: 'charts' }));
  curves.append(box);
  return box;
}

// The legend, redrawn with the curves: each optimizer with the n its curves are over ("n = 3"; "n = 3 to 1" where a
// running repeat has not reached the later epochs yet, those points being drawn apart).
function renderLegend(box, series) {
  const legend = box.querySelector('.legend');
  const items = series.map(s => {
    const ns = s.points.map(p => p.n);
    const n = !ns.length ? s.repeats.length : Math.min(...ns) === Math.max(...ns) ? String(ns[0]) : `${Math.max(...ns)} to ${Math.min(...ns)}`;
    const item = el('span', { 'data-optimizer': s.optimizer });
    const swatch = el('i'); swatch.style.background = s.color;
    item.append(swatch, `${s.title} (n = ${n})`);
    return item;
  });
  if (series.some(s => s.points.some(p => p.partial)))
    items.push(el('span', { class: 'partial-key' }, '○ dashed: not every repeat has reached this epoch yet'));
  legend.replaceChildren(...items);
}

// Per epoch, the mean and sample std over the repeats that reached it, its n, and whether it is partial: reached by
// fewer repeats than the curve has (a running repeat behind the others). `repeats` holds each repeat's points,
// [{ epoch, value }], in any order; a value that is not a finite number is left out.
function curveStats(repeats) {
  const byEpoch = new Map();
  for (const points of repeats)
    for (const p of points) {
      const v = num(p.value);
      if (!Number.isFinite(v)) continue;
      if (!byEpoch.has(p.epoch)) byEpoch.set(p.epoch, []);
      byEpoch.get(p.epoch).push(v);
    }
  const reporting = repeats.filter(points => points.some(p => Number.isFinite(num(p.value)))).length;
  return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, vs]) => {
    const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
    const sd = vs.length > 1 ? Math.sqrt(vs.reduce((a, b) => a + (b - mean) ** 2, 0) / (vs.length - 1)) : 0;
    return { epoch, mean, sd, n: vs.length, partial: vs.length < reporting };
  });
}

// Per optimizer, its curve (curveStats) over the repeats with an epoch, and each repeat's own line. A failed trial's
// epochs are left out, as in the report's PNGs.
function seriesOf(group, key) {
  const out = [];
  for (const o of run.optimizers) {
    const trials = [...run.trials.values()].filter(t => t.group === group && t.optimizer === o);
    if (!trials.length) continue;
    const repeats = trials.filter(t => t.status !== 'failed')
      .map(t => (run.epochs.get(t.id) || { points: [] }).points.map(p => ({ epoch: p.epoch, value: p[key] })))
      .filter(points => points.length);
    out.push({ optimizer: o, title: trials[0].optimizer_title, color: colorOf(o), points: curveStats(repeats), repeats });
  }
  return out;
}

function renderGroup(group) {
  const box = groupElement(group);
  const epochs = Math.max(1, ...[...run.trials.values()].filter(t => t.group === group).map(t => t.epochs));
  const series = METRICS.map(m => seriesOf(group, m.key));
  renderLegend(box, series[1]);
  const charts = METRICS.map((m, i) => chart(m, epochs, series[i], m.also ? seriesOf(group, m.also) : []));
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
    .concat(series.flatMap(s => (s.repeats || []).flat().map(p => num(p.value))))
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
  const path = points => points.map(p => `${x(p.epoch)},${yOf(p.mean)}`).join(' ');
  // Each repeat's own line, thin, behind everything: what each mean is made of.
  for (const s of series)
    for (const points of s.repeats || []) {
      const own = points.map(p => ({ epoch: p.epoch, mean: num(p.value) })).filter(p => Number.isFinite(p.mean)).sort((a, b) => a.epoch - b.epoch);
      if (own.length > 1) svg.append(svgEl('polyline', { class: 'repeat', points: path(own), fill: 'none', stroke: s.color, 'stroke-width': 0.7, 'stroke-opacity': 0.35 }));
    }
  // Bands where every repeat has the epoch, so every line stays visible where two bands overlap; a band over fewer
  // repeats would shrink or vanish only because n fell.
  for (const s of series) {
    const full = s.points.filter(p => !p.partial);
    if (full.length < 2) continue;
    const upper = full.map(p => `${x(p.epoch)},${yOf(p.mean + p.sd)}`);
    const lower = full.slice().reverse().map(p => `${x(p.epoch)},${yOf(metric.log ? Math.max(p.mean - p.sd, p.mean / 10) : p.mean - p.sd)}`);
    svg.append(svgEl('polygon', { points: [...upper, ...lower].join(' '), fill: s.color, 'fill-opacity': 0.15, stroke: 'none' }));
  }
  for (const s of dashed.filter(s => s.points.length))
    svg.append(svgEl('polyline', { points: path(s.points), fill: 'none', stroke: s.color, 'stroke-width': 1.2, 'stroke-dasharray': '4 3' }));
  for (const s of series.filter(s => s.points.length)) {
    // The mean solid while every repeat has the epoch, dashed from there on.
    const full = s.points.findIndex(p => p.partial);
    const solid = full < 0 ? s.points : s.points.slice(0, full);
    if (solid.length > 1) svg.append(svgEl('polyline', { class: 'mean', points: path(solid), fill: 'none', stroke: s.color, 'stroke-width': 1.6 }));
    if (full >= 0) svg.append(svgEl('polyline', { class: 'mean partial', points: path(s.points.slice(Math.max(0, full - 1))), fill: 'none', stroke: s.color, 'stroke-width': 1.6, 'stroke-dasharray': '5 3' }));
    // A lone epoch has no band to show its spread: an error bar does.
    if (s.points.length === 1 && s.points[0].sd > 0) {
      const p = s.points[0], cx = x(p.epoch), top = yOf(p.mean + p.sd), bottom = yOf(p.mean - p.sd);
      for (const [x1, y1, x2, y2] of [[cx, top, cx, bottom], [cx - 4, top, cx + 4, top], [cx - 4, bottom, cx + 4, bottom]])
        svg.append(svgEl('line', { class: 'errorbar', x1, y1, x2, y2, stroke: s.color, 'stroke-width': 1.2 }));
    }
    s.points.forEach((p, i) => {
      const dot = svgEl('circle', { class: 'point' + (p.partial ? ' partial' : ''), cx: x(p.epoch), cy: yOf(p.mean), r: 2.6,
        fill: p.partial ? '#fff' : s.color, stroke: s.color, 'stroke-width': p.partial ? 1.2 : 0,
        'data-optimizer': s.optimizer, 'data-epoch': p.epoch, 'data-n': p.n });
      const tip = svgEl('title');
      tip.textContent = `${s.title}, epoch ${p.epoch}: ${+p.mean.toPrecision(4)} ± ${+p.sd.toPrecision(3)} (n = ${p.n}${p.partial ? ', not every repeat yet' : ''})`;
      dot.append(tip);
      svg.append(dot);
      // Where n changes, the new n at the point: a mean that moves there may move only because n did.
      if (i > 0 && p.n !== s.points[i - 1].n) {
        const label = svgEl('text', { class: 'n-change', x: x(p.epoch) + 3, y: yOf(p.mean) - 5, 'data-optimizer': s.optimizer });
        label.textContent = 'n=' + p.n;
        label.style.fill = s.color;
        svg.append(label);
      }
    });
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
  // The report's answer first: each comparison's verdict, then its repeats' paired differences.
  const comparisons = groups.flatMap(g => (g.comparisons || []).map(c => ({ g, c })));
  document.getElementById('verdicts').replaceChildren(...comparisons.filter(x => x.c.verdict).map(x => el('li', {}, x.c.verdict)));
  document.getElementById('paired').replaceChildren(...comparisons.filter(x => (x.c.per_repeat || []).some(p => p.difference !== null))
    .map(x => pairedChart(x.g, x.c)));
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

// One comparison's paired differences (treatment − control test accuracy, pp): a dot per repeat against a zero line,
// the mean as a line; the repeats without a pair are named under it.
function pairedChart(g, c) {
  const W = 300, H = 170, L = 40, R = 10, T = 20, B = 30;
  const pairs = c.per_repeat.filter(p => p.difference !== null);
  const missing = c.per_repeat.filter(p => p.difference === null).map(p => p.repeat);
  const ds = pairs.map(p => p.difference);
  const mean = ds.reduce((a, b) => a + b, 0) / ds.length;
  let lo = Math.min(0, ...ds), hi = Math.max(0, ...ds);
  const pad = (hi - lo || 1) * 0.1; lo -= pad; hi += pad;
  const repeats = c.per_repeat.map(p => p.repeat);
  const [r0, r1] = [Math.min(...repeats) - 0.5, Math.max(...repeats) + 0.5];
  const x = r => L + (r - r0) / (r1 - r0) * (W - L - R);
  const y = v => H - B - (v - lo) / (hi - lo) * (H - T - B);
  const name = o => o.toUpperCase();
  const svg = svgEl('svg', { class: 'chart paired', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
    'data-comparison': `${g.dataset}/${g.model}${g.cell ? '/' + g.cell : ''}/${c.treatment}` });
  const title = svgEl('text', { x: L, y: 13, class: 'title' });
  title.textContent = `${g.dataset} · ${g.model}${g.cell ? ' · ' + g.cell : ''}: ${name(c.treatment)} − ${name(c.control)} (pp)`;
  svg.append(title);
  for (const t of niceTicks(lo, hi, 4)) {
    const label = svgEl('text', { x: L - 4, y: y(t) + 3, 'text-anchor': 'end' });
    label.textContent = String(+t.toFixed(6));
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(t), y2: y(t), class: 'grid' }), label);
  }
  svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), class: 'axis', 'stroke-dasharray': '4 3' }));
  svg.append(svgEl('line', { class: 'mean', x1: L, x2: W - R, y1: y(mean), y2: y(mean), stroke: PALETTE[1], 'stroke-width': 1.6 }));
  for (const p of pairs) {
    const dot = svgEl('circle', { class: 'pair', cx: x(p.repeat), cy: y(p.difference), r: 3.2, fill: PALETTE[0], 'data-repeat': p.repeat });
    const tip = svgEl('title');
    tip.textContent = `repeat ${p.repeat}: ${fixed(p.treatment, 2)} − ${fixed(p.control, 2)} = ${fixed(p.difference, 2)} pp`;
    dot.append(tip);
    svg.append(dot);
  }
  const caption = svgEl('text', { x: L, y: H - 6 });
  caption.textContent = `repeat; mean ${mean >= 0 ? '+' : ''}${mean.toFixed(2)} pp over ${pairs.length} pair(s)` + (missing.length ? `; no pair: ${missing.join(', ')}` : '');
  svg.append(caption);
  return svg;
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
