// The fleet's page (`station fleet serve`, /fleet.html) in Chinese and English, against a
// real PostgreSQL holding two stations' results (fleet_test_database,
// tests/fleet/fleet_database.cpp): throughput, yield, Pareto, cycle time, quota and the
// unit history show what SQL over the same scope says, for the whole fleet and for the
// station picked (?station=, and the CSV links follow it); an operator is refused (403
// from the API, the page not shown) and nobody signed in gets 401 and the login page.
// Run by CTest (browser_fleet).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChromium, STATION, CHROMIUM, CHROMIUM_ARGS, addUser, startServer, stopServer, until,
         untilText, login, pageIn, catalogue, readTables } from './harness.mjs';

const chromium = loadChromium();
const work = mkdtempSync(join(tmpdir(), 'ls-fleet-'));
const users = join(work, 'users.db');
let browser, database, server, base, pg;

// The test's PostgreSQL: its URL from the helper's first line.
function startDatabase() {
  const child = spawn(process.env.LS_FLEET_DATABASE, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/fleet database (postgresql:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`fleet_test_database exited with ${code}`)));
    // unref: a timer left running would keep the test process alive after the tests.
    setTimeout(() => reject(new Error('fleet_test_database did not start')), 60000).unref();
  });
  return { child, url };
}

before(async () => {
  database = startDatabase();
  pg = await database.url;
  addUser(users, 'op', 'operator', 'cam-a');
  addUser(users, 'sup', 'supervisor');
  server = startServer(STATION, ['fleet', 'serve', '--pg', pg, '--users', users, '--port', '0']);
  base = await server.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server.child);
  if (database) await stopServer(database.child);
  rmSync(work, { recursive: true, force: true });
});

function psql(query) {
  return execFileSync('psql', ['-At', '-F', '|', '-d', pg, '-c', query], { encoding: 'utf8' })
    .trim().split('\n').filter(Boolean).map(l => l.split('|'));
}

const periods = { day: 24, week: 24 * 7 };

// What the fleet's database holds for a period and a station (or every one), grouped as the
// page's tables are: devices (a serial counts once) per station and product, attempts that
// did not pass per reason, per product devices and those that passed at least once (an
// INTERRUPTED attempt is not the device's), attempts per 30 s of cycle time, and the quota
// rows of today.
function fromFleet(period, station) {
  const where = `ended_ms >= (extract(epoch FROM now()) * 1000)::bigint - ${periods[period]} * 3600000` +
                (station ? ` AND station_id = '${station}'` : '');
  const grouped = (key, count, extra = '') => Object.fromEntries(
    psql(`SELECT ${key}, ${count} FROM fleet_results WHERE ${where} ${extra} GROUP BY 1`).map(([k, n]) => [k, Number(n)]));
  const devices = grouped("coalesce(product_id, '')", 'count(DISTINCT serial)', "AND verdict <> 'INTERRUPTED'");
  const passed = grouped("coalesce(product_id, '')", "count(DISTINCT serial) FILTER (WHERE verdict = 'PASS')",
                         "AND verdict <> 'INTERRUPTED'");
  return {
    station: grouped('station_id', 'count(DISTINCT serial)'),
    product: grouped("coalesce(product_id, '')", 'count(DISTINCT serial)'),
    pareto: grouped("coalesce(reason, '(none)')", 'count(*)', "AND verdict <> 'PASS'"),
    yield: Object.fromEntries(Object.entries(devices).map(([p, n]) => [p, [n, passed[p] || 0]])),
    cycle: grouped('((ended_ms - started_ms) / 30000) * 30', 'count(*)', "AND verdict <> 'INTERRUPTED'"),
    quota: Object.fromEntries(psql("SELECT scope || '/' || id, used FROM fleet_quota WHERE day = " +
                                   "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')").map(([k, n]) => [k, Number(n)])),
  };
}

// The same, read off the page's tables.
async function shown(page, allProducts) {
  const tables = await readTables(page, {
    station: ['alt-throughput_station', 'station', ['units']],
    product: ['alt-throughput_product', 'product', ['units']],
    pareto: ['alt-pareto', 'reason', ['count']],
    yield: ['table-yield', 'product_id', ['devices', 'passed']],
    cycle: ['alt-cycle_time', 'from_s', ['count']],
    quota: ['table-quota', ['scope', 'id'], ['used']],
    stations: ['table-stations', 'station', ['units', 'backlog']],
  });
  delete tables.yield[allProducts];
  // from_s is a number the page writes in its language: the key as digits.
  tables.cycle = Object.fromEntries(Object.entries(tables.cycle).map(([k, n]) => [String(Number(k.replace(/[^\d]/g, ''))), n]));
  return tables;
}

const sorted = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) =>
  [k, typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v]).sort()));

async function untilShown(page, words, expected) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const now = await shown(page, words.fleet.all_products);
    const { stations: _, ...reports } = now;
    if (sorted(reports) === sorted(expected)) return now;
    if (Date.now() > deadline) assert.deepEqual(reports, expected, 'the page never showed what the fleet holds for the scope');
    await new Promise(r => setTimeout(r, 100));
  }
}

const total = (byKey) => Object.values(byKey).reduce((a, b) => a + b, 0);

// The visible text with the data it shows taken out: what is left must be Chinese.
async function latinWordsLeft(page, data) {
  let rest = await page.evaluate(() => document.body.innerText);
  for (const d of [...data].sort((a, b) => b.length - a.length)) rest = rest.split(d).join(' ');
  return rest.match(/[A-Za-z]{2,}/g) || [];
}

for (const [locale, lang] of [['zh-CN', 'zh-CN'], ['en-US', 'en']]) {
  test(`${lang}: the fleet's page shows what the fleet's database holds, for every station and for the one picked`, async () => {
    const words = catalogue(lang);
    const page = await pageIn(browser, locale);
    await login(page, base, 'sup');
    await page.waitForURL(/\/fleet\.html$/);
    await untilText(page, 'h1', words.fleet.heading);
    const all = await untilShown(page, words, fromFleet('day'));
    // The seed, as the two stations recorded it: RT-7 failed on st-north and passed its
    // retest on st-south, one device of cam-a that passed.
    assert.deepEqual(all.station, { 'st-north': 24, 'st-south': 14 });
    assert.deepEqual(all.product, { 'cam-a': 30, 'plug-b': 7 });
    // Failed for good: two on st-north (never_ready), three on st-south; RT-7 passed its retest.
    assert.deepEqual(all.yield["cam-a"], [30, 30 - 2 - 3]);
    assert.deepEqual(all.quota, { 'account/uid-shared': 3, 'product/cam-a': 3 });
    // Every station with every result it forwarded (any period) and none left waiting.
    assert.deepEqual(all.stations, Object.fromEntries(psql('SELECT station_id, count(*) FROM fleet_results GROUP BY 1')
      .map(([id, n]) => [id, [Number(n), 0]])));
    assert.deepEqual(await page.evaluate(() => window.lsMissingKeys), []);
    assert.equal(await page.textContent('#station option[value=""]'), words.fleet.all_stations);
    if (lang === 'zh-CN') {
      assert.deepEqual(await latinWordsLeft(page, ['LineStation', 'CSV', 'sup', 'st-north', 'st-south', 'cam-a', 'plug-b',
        'uid-shared', 'account', 'product', 'never_ready', 'wifi_rejected', 'cloud_refused', 'cloud_unavailable', 'English']), []);
    }

    // The station picked: the address says it, the numbers are that station's, the CSV
    // links export the same scope.
    await page.selectOption('#station', 'st-south');
    assert.equal(new URL(page.url()).searchParams.get('station'), 'st-south');
    const south = await untilShown(page, words, fromFleet('day', 'st-south'));
    assert.deepEqual(south.station, { 'st-south': 14 });
    assert.ok(total(south.pareto) > 0 && total(south.pareto) < total(all.pareto));
    for (const report of ['throughput', 'yield', 'pareto', 'cycle_time', 'quota']) {
      const href = await page.getAttribute(`a[data-csv="${report}"]`, 'href');
      const q = new URL(href, base).searchParams;
      assert.equal(q.get('station'), 'st-south', href);
      assert.equal(q.get('format'), 'csv', href);
    }
    const csv = await page.evaluate(async () => (await fetch(document.querySelector('a[data-csv="throughput"][data-by="product"]').href)).text());
    assert.match(csv, /^product,units,attempts,units_per_hour$/m, csv);
    assert.match(csv, new RegExp(`^cam-a,${south.product['cam-a']},`, 'm'), csv);
    assert.doesNotMatch(csv, /plug-b/, 'st-south made no plug-b today');
    const pareto = await page.evaluate(async () => (await fetch(document.querySelector('a[data-csv="pareto"]').href)).text());
    for (const [reason, n] of Object.entries(south.pareto)) assert.match(pareto, new RegExp(`^${reason},${n},`, 'm'), pareto);
    assert.doesNotMatch(pareto, /wifi_rejected/, 'st-north\'s reason is not st-south\'s');

    // The week has st-south's older results too.
    await page.selectOption('#period', 'week');
    const week = await untilShown(page, words, fromFleet('week', 'st-south'));
    assert.equal(week.product['plug-b'], 5);
    await page.selectOption('#period', 'day');

    // Across stations, one device's every attempt; with a station picked, that station's.
    await page.fill('#serial', 'RT-7');
    await page.click('#unit-form button');
    await until(page, () => document.querySelectorAll('#unit-attempts tr').length === 2, 10000);
    const southOnly = await page.evaluate(() => [...document.querySelectorAll('#unit-attempts td')].map(td => td.textContent));
    assert.ok(southOnly.includes('st-south') && !southOnly.includes('st-north'), southOnly.join(' '));
    assert.equal(new URL(await page.getAttribute('#unit-csv', 'href'), base).searchParams.get('station'), 'st-south');
    await page.selectOption('#station', '');
    assert.equal(new URL(page.url()).searchParams.get('station'), null);
    await until(page, () => document.querySelectorAll('#unit-attempts tr').length === 3, 10000);
    const verdicts = await page.evaluate(() => {
      const table = document.querySelector('#unit-attempts table');
      const heads = [...table.querySelectorAll('th')].map(th => th.dataset.column);
      return [...table.querySelectorAll('tr')].slice(1).map(tr =>
        [tr.children[heads.indexOf('station_id')].textContent, tr.children[heads.indexOf('verdict')].textContent]);
    });
    assert.deepEqual(verdicts, [['st-north', 'FAIL'], ['st-south', 'PASS']]);
    const history = await page.evaluate(async () => (await fetch(document.getElementById('unit-csv').href)).text());
    assert.equal(history.trim().split('\n').length, 3, history);
    await untilShown(page, words, fromFleet('day'));

    // A link with the station in it opens on that station.
    await page.goto(`${base}/fleet.html?station=st-north`);
    await until(page, () => document.getElementById('station').value === 'st-north');
    const north = await untilShown(page, words, fromFleet('day', 'st-north'));
    assert.deepEqual(north.station, { 'st-north': 24 });
    assert.equal(total(north.pareto) + total(south.pareto), total(all.pareto));
    await page.context().close();
  });

  test(`${lang}: an operator is refused the fleet's page and its API, and nobody signed in is sent to log in`, async () => {
    const words = catalogue(lang);
    const page = await pageIn(browser, locale);
    await login(page, base, 'op');
    await page.waitForURL(/\/fleet\.html$/);
    await untilText(page, 'h1', words.common.not_for_role);
    assert.equal(await page.locator('#table-yield').count(), 0, 'no report is drawn for an operator');
    const asOperator = await page.evaluate(async () => Promise.all(
      ['/api/fleet/reports/yield', '/api/fleet/reports/yield?format=csv', '/api/fleet/status'].map(async (p) => (await fetch(p)).status)));
    assert.deepEqual(asOperator, [403, 403, 403]);
    await page.context().close();

    const stranger = await pageIn(browser, locale);
    await stranger.goto(`${base}/fleet.html?station=st-north`);
    await stranger.waitForURL(/\/index\.html\?next=%2Ffleet\.html$/);
    await untilText(stranger, '#health', words.login.fleet);
    const asNobody = await stranger.evaluate(async () => (await fetch('/api/fleet/reports/pareto?format=csv')).status);
    assert.equal(asNobody, 401);
    await stranger.context().close();
  });
}

test('without --users the fleet\'s page shows the fleet to anyone on loopback, with no sign-in to leave', async () => {
  const open = startServer(STATION, ['fleet', 'serve', '--pg', pg, '--port', '0']);
  const url = await open.url;
  try {
    const words = catalogue('en');
    const page = await pageIn(browser, 'en-US');
    await page.goto(`${url}/`);
    await untilText(page, 'h1', words.fleet.heading);
    await untilShown(page, words, fromFleet('day'));
    assert.equal(await page.isHidden('#logout'), true);
    assert.equal(new URL(page.url()).pathname, '/');
    await page.context().close();
  } finally {
    await stopServer(open.child);
  }
});
