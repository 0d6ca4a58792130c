// The fleet's supervisor page (fleet.html, served by `station fleet serve`): the reports of
// every station from the fleet's PostgreSQL (/api/fleet/*), for the whole fleet or the
// station picked (?station= in the page's address, so a link shows the same), drawn as
// the station's own supervisor page draws them (reports.js).
'use strict';

const picked = () => document.getElementById('station').value;

// The period and the station picked, as the reports' query (the CSV links carry the same).
function fleetQuery(extra) {
  const q = new URLSearchParams({ period: document.getElementById('period').value, ...(extra || {}) });
  if (picked()) q.set('station', picked());
  return q.toString();
}

const report = (name, extra) => ls.api('GET', `/api/fleet/reports/${name}?${fleetQuery(extra)}`);

// Every station the fleet has heard of, each with its results and what waits in its outbox.
function showStations(status) {
  const select = document.getElementById('station');
  const want = picked();
  const names = [...new Set([...Object.keys(status.by_station || {}), ...(want ? [want] : [])])].sort();
  select.replaceChildren(ls.el('option', { value: '' }, ls.t('fleet.all_stations')),
    ...names.map(n => ls.el('option', n === want ? { value: n, selected: '' } : { value: n }, n)));
  const backlog = status.backlog || {};
  document.getElementById('table-stations').replaceChildren(htmlTable({
    columns: ['station', 'units', 'backlog'],
    rows: names.map(n => [n, (status.by_station || {})[n] || 0, backlog[n] || 0]) }, 'backlog'));
}

async function load() {
  const error = document.getElementById('error');
  document.querySelectorAll('a[data-csv]').forEach(a => {
    const extra = { format: 'csv', ...(a.dataset.by ? { by: a.dataset.by } : {}) };
    a.href = `/api/fleet/reports/${a.dataset.csv}?${fleetQuery(extra)}`;
  });
  try {
    showStations(await ls.api('GET', '/api/fleet/status'));
    const [byStation, byProduct, yields, pareto, cycle, quota] = await Promise.all([
      report('throughput', { by: 'station' }), report('throughput', { by: 'product' }), report('yield'),
      report('pareto'), report('cycle_time'), report('quota')]);
    error.textContent = '';
    drawThroughput('throughput_station', 'chart-station', byStation, 'station');
    drawThroughput('throughput_product', 'chart-product', byProduct, 'product');
    const products = yields.rows.filter(r => r[0] !== '(all)');
    draw('yield', 'chart-yield', { type: 'bar', data: {
      labels: products.map(r => r[0] || ls.t('supervisor.none')),
      datasets: [{ label: ls.t('fleet.ds_yield'), data: products.map(r => Math.round(r[3] * 1000) / 10), backgroundColor: '#1fa84f' }] },
      options: { scales: { y: { min: 0, max: 100 } } } });
    // The total row's name is the API's '(all)'; the page says it in its language.
    document.getElementById('table-yield').replaceChildren(htmlTable({ ...yields,
      rows: yields.rows.map(r => r[0] === '(all)' ? [ls.t('fleet.all_products'), ...r.slice(1)] : r) }));
    drawPareto('pareto', 'chart-pareto', pareto);
    drawCycleTime('cycle_time', 'chart-cycle', cycle);
    // Every chart has its numbers as a table too (screen readers, printing, no canvas).
    for (const [name, table] of [['throughput_station', byStation], ['throughput_product', byProduct],
                                 ['pareto', pareto], ['cycle_time', cycle]]) {
      document.getElementById(`alt-${name}`).replaceChildren(htmlTable(table));
    }
    document.getElementById('table-quota').replaceChildren(
      quota.rows.length ? htmlTable(quota) : ls.t('supervisor.no_quota'));
    document.getElementById('computed').textContent = ls.t('supervisor.as_of', { time: ls.time(Date.now()) });
  } catch (e) {
    error.textContent = ls.refusalText(e);
  }
}

async function showUnit(serial) {
  const err = document.getElementById('unit-error');
  err.textContent = '';
  const csv = document.getElementById('unit-csv');
  csv.href = `/api/fleet/reports/unit_history?${fleetQuery({ serial, format: 'csv' })}`;
  csv.hidden = false;
  try {
    const h = await report('unit_history', { serial });
    document.getElementById('unit-attempts').replaceChildren(
      h.rows.length ? htmlTable(h) : ls.el('p', {}, ls.t('fleet.no_attempts', { serial })));
  } catch (e) { err.textContent = ls.refusalText(e); }
}

(async () => {
  await ls.startLanguage();
  Chart.defaults.locale = ls.lang;
  // Without a users file the fleet has no sign-in (it serves loopback only).
  const signIn = !ls.health || ls.health.sign_in !== false;
  if (signIn) {
    if (!await ls.requireSession(['supervisor', 'admin'])) return;
  } else {
    document.getElementById('logout').hidden = true;
  }
  const fromAddress = new URLSearchParams(location.search).get('station');
  if (fromAddress) {
    document.getElementById('station').append(ls.el('option', { value: fromAddress, selected: '' }, fromAddress));
  }
  let shownSerial = null;
  const again = () => { load(); if (shownSerial) showUnit(shownSerial); };
  document.getElementById('period').onchange = again;
  document.getElementById('station').onchange = () => {
    const q = new URLSearchParams(location.search);
    if (picked()) q.set('station', picked()); else q.delete('station');
    history.replaceState(null, '', q.toString() ? `?${q}` : location.pathname);
    again();
  };
  document.getElementById('unit-form').onsubmit = (ev) => {
    ev.preventDefault();
    shownSerial = document.getElementById('serial').value.trim();
    if (shownSerial) showUnit(shownSerial);
  };
  // A new language redraws what the page wrote itself (labels, tables, charts).
  ls.onLanguage(() => { Chart.defaults.locale = ls.lang; again(); });
  await load();
  setInterval(load, 30000);
})();
