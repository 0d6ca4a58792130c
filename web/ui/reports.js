// Drawing the supervisor's reports, shared by the station's page (supervisor.html) and the
// fleet's (fleet.html): a report is a Table {name, columns, rows} from the API, drawn as a
// Chart.js chart with its numbers as a table beside it, in the page's language (app.js).
'use strict';

// Charts by name, for the browser tests to read their data back.
window.lsCharts = {};
Chart.defaults.color = '#cfd4da';
Chart.defaults.borderColor = '#333';

// A report column's name in the page's language (the API keeps its own names).
function columnName(c) { return i18next.exists(`column.${c}`) ? ls.t(`column.${c}`) : c; }

function col(table, name) { const i = table.columns.indexOf(name); return table.rows.map(r => r[i]); }

function draw(name, canvasId, config) {
  if (window.lsCharts[name]) window.lsCharts[name].destroy();
  config.options = Object.assign({ animation: false, responsive: true }, config.options || {});
  window.lsCharts[name] = new Chart(document.getElementById(canvasId), config);
}

// Times and numbers as the page's language writes them; ids and codes as they are.
function cellText(column, v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'number') return String(v);
  if (column.endsWith('_ms')) return ls.time(v);
  if (column === 'id' || column.endsWith('_id')) return String(v);
  return ls.number(v, { maximumFractionDigits: 4 });
}

function htmlTable(table, warnColumn) {
  const t = ls.el('table', {}, ls.el('tr', {}, ...table.columns.map(c => ls.el('th', { 'data-column': c }, columnName(c)))));
  const warnAt = warnColumn ? table.columns.indexOf(warnColumn) : -1;
  for (const row of table.rows) {
    const tr = ls.el('tr', warnAt >= 0 && row[warnAt] ? { class: 'warn' } : {},
                     ...row.map((v, i) => ls.el('td', {}, cellText(table.columns[i], v))));
    t.append(tr);
  }
  return t;
}

// Failures by reason, largest first, with the cumulative share as a line (percent).
function drawPareto(name, canvasId, table) {
  draw(name, canvasId, { data: {
    labels: col(table, 'reason'),
    datasets: [{ type: 'bar', label: ls.t('supervisor.ds.failures'), data: col(table, 'count'), backgroundColor: '#d93025', yAxisID: 'y' },
               { type: 'line', label: ls.t('supervisor.ds.cumulative'), data: col(table, 'cumulative_share').map(v => Math.round(v * 1000) / 10), borderColor: '#eee', yAxisID: 'y2' }] },
    options: { scales: { y: { beginAtZero: true }, y2: { position: 'right', min: 0, max: 100 } } } });
}

// Attempts per cycle-time bucket (from_s, to_s, count).
function drawCycleTime(name, canvasId, table) {
  draw(name, canvasId, { type: 'bar', data: {
    labels: table.rows.map(r => ls.t('supervisor.cycle_bucket', { from: ls.number(r[0]), to: ls.number(r[1]) })),
    datasets: [{ label: ls.t('supervisor.ds.attempts'), data: col(table, 'count'), backgroundColor: '#9c6ade' }] } });
}

// Units and units per hour per station, operator or product (`by`, the table's key column).
function drawThroughput(name, canvasId, table, by) {
  draw(name, canvasId, { type: 'bar', data: { labels: col(table, by),
    datasets: [{ label: ls.t('supervisor.ds.units'), data: col(table, 'units'), backgroundColor: '#3d8bfd' },
               { label: ls.t('supervisor.ds.units_per_hour'), data: col(table, 'units_per_hour'), backgroundColor: '#1fa84f' }] } });
}
