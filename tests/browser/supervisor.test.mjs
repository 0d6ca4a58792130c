// The supervisor's page in Chinese and English: the period narrowed by station, operator,
// product and batch shows the numbers the store gives for that scope (and the CSV links
// follow), the yield table's first-pass and final yield per product, the count of devices
// left bound to the station's account, a crop dropped by retention said in words with its
// record kept. Playwright-core drives Debian's chromium against
// web_test_line_server, whose seeded store has three batches on two stations by two
// operators (tests/web/line_server.cpp). Run by CTest (browser_supervisor).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChromium, LINE_SERVER, CHROMIUM, CHROMIUM_ARGS, addUser, sql, startServer, stopServer, until,
         untilText, login, pageIn, catalogue, readTables } from './harness.mjs';

const chromium = loadChromium();
const work = mkdtempSync(join(tmpdir(), 'ls-supervisor-'));
const db = join(work, 'station.db');
let browser, server, base, liveBatch;

before(async () => {
  addUser(db, 'op', 'operator', 'cam-a');
  addUser(db, 'sup', 'supervisor');
  // No timer (--step 0): the batch started below records no verdict, so the seeded store's
  // numbers hold still while the page is read. Its batch has 2 devices left bound, 5 removed.
  server = startServer(LINE_SERVER, ['--db', db, '--port', '0', '--step', '0', '--seed-units', '60',
                                     '--left-bound', '2:5']);
  base = await server.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const op = await browser.newPage();
  await login(op, base, 'op');
  await op.waitForURL(/operator\.html/);
  await until(op, () => ls.session !== null);
  liveBatch = (await op.evaluate(() => ls.api('POST', '/api/batch', { recipe: 'cam-a' }))).batch_id;
  await op.context().close();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server.child);
  rmSync(work, { recursive: true, force: true });
});


// What the store says for a scope (an SQL condition on units u and their batch b), as the
// page's tables group it: devices per station, operator and product, failures per reason,
// and per product the yield's devices and first-pass and final yield.
function fromStore(where) {
  const finished = `FROM units u LEFT JOIN batches b ON b.id = u.batch_id WHERE u.verdict IS NOT NULL AND ${where}`;
  const devices = 'COUNT(DISTINCT COALESCE(u.serial, u.device_id, \'unit:\' || u.id))';
  const grouped = (key, count = devices, extra = '') => Object.fromEntries(
    sql(db, `SELECT ${key}, ${count} ${finished} ${extra} GROUP BY 1`).map(([k, n]) => [k, Number(n)]));
  // The seeded devices have one attempt each: first-pass and final yield are both the share passed.
  const passed = grouped("COALESCE(u.product_id, '')", "SUM(u.verdict = 'PASS')");
  const byProduct = grouped("COALESCE(u.product_id, '')");
  return {
    station: grouped('u.station_id'),
    operator: grouped("COALESCE(b.operator_login, '')"),
    product: byProduct,
    pareto: grouped("COALESCE(u.reason, '(none)')", 'COUNT(*)', "AND u.verdict <> 'PASS'"),
    yield: Object.fromEntries(Object.entries(byProduct).map(([p, n]) => [p, [n, passed[p] / n, passed[p] / n]])),
  };
}

// The same, read off the page's tables (the charts' text alternatives and the yield table).
async function shown(page) {
  const tables = await readTables(page, {
    station: ['alt-throughput_station', 'station', ['units']],
    operator: ['alt-throughput_operator', 'operator', ['units']],
    product: ['alt-throughput_product', 'product', ['units']],
    pareto: ['alt-pareto', 'reason', ['count']],
    yield: ['table-yield', 'product', ['units', 'first_pass_yield', 'final_yield']],
  });
  delete tables.yield['(all)'];
  return tables;
}

// Waits until the page shows what the store says (the page fills its tables after a fetch).
async function untilShown(page, expected) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const now = await shown(page);
    const yieldClose = Object.keys(now.yield).length === Object.keys(expected.yield).length &&
      Object.entries(expected.yield).every(([p, [n, first, final]]) => now.yield[p] && now.yield[p][0] === n &&
        Math.abs(now.yield[p][1] - first) < 1e-4 && Math.abs(now.yield[p][2] - final) < 1e-4);
    const counts = ({ yield: _, ...rest }) => JSON.stringify(Object.fromEntries(Object.entries(rest)
      .map(([k, v]) => [k, Object.fromEntries(Object.entries(v).sort())])));
    if (yieldClose && counts(now) === counts(expected)) return now;
    if (Date.now() > deadline) {
      assert.deepEqual(now, expected, 'the page never showed the store\'s numbers for the scope');
    }
    await new Promise(r => setTimeout(r, 100));
  }
}

const total = (byKey) => Object.values(byKey).reduce((a, b) => a + b, 0);

for (const [locale, lang] of [['zh-CN', 'zh-CN'], ['en-US', 'en']]) {
  test(`${lang}: the period filters by station, operator, product and batch show the store's numbers for each`, async () => {
    const words = catalogue(lang);
    const page = await pageIn(browser, locale);
    await login(page, base, 'sup');
    await page.waitForURL(/supervisor\.html/);
    await until(page, () => window.lsCharts && window.lsCharts.pareto && document.getElementById('computed').textContent !== '');
    await untilText(page, '#scope button.primary', words.supervisor.scope.apply);
    await page.selectOption('#period', 'week');
    const all = await untilShown(page, fromStore('1'));
    assert.deepEqual(Object.keys(all.station).sort(), ['station-1', 'station-2']);
    assert.equal(total(all.product), 60);
    // The seeded batches' ids: the night operator's on station-1 is the second.
    const batches = sql(db, "SELECT id FROM batches WHERE operator_login = 'night-operator' AND station_id = 'station-1'");
    assert.equal(batches.length, 1);
    const filters = [
      ['station', 'station-2', "u.station_id = 'station-2'"],
      ['operator', 'night-operator', "b.operator_login = 'night-operator'"],
      ['product', 'cam-b', "COALESCE(u.product_id, '') = 'cam-b'"],
      ['batch', batches[0][0], `u.batch_id = ${batches[0][0]}`],
    ];
    const seen = new Set();
    for (const [field, value, where] of filters) {
      await page.fill(`#scope-${field}`, value);
      await page.click('#scope button.primary');
      const narrowed = await untilShown(page, fromStore(where));
      // A share of the period, different for each filter: the filter did narrow it.
      assert.ok(total(narrowed.product) > 0 && total(narrowed.product) < total(all.product), `${field}: ${total(narrowed.product)}`);
      assert.ok(!seen.has(total(narrowed.product) + JSON.stringify(narrowed.station)), `${field} narrowed like another filter`);
      seen.add(total(narrowed.product) + JSON.stringify(narrowed.station));
      // The CSV links export the same scope.
      const csv = await page.getAttribute('a[data-csv="throughput_product"]', 'href');
      assert.equal(new URL(csv, base).searchParams.get(field), String(value), csv);
      const exported = await page.evaluate(async (href) => (await fetch(href)).text(), csv);
      for (const [product, units] of Object.entries(narrowed.product)) {
        assert.match(exported, new RegExp(`^${product},${units},`, 'm'), exported);
      }
      await page.click('#scope-clear');
      await untilShown(page, fromStore('1'));
    }
    // Two at once narrow to what both allow.
    await page.fill('#scope-operator', 'night-operator');
    await page.fill('#scope-product', 'cam-b');
    await page.click('#scope button.primary');
    await untilShown(page, fromStore("b.operator_login = 'night-operator' AND u.product_id = 'cam-b'"));
    await page.click('#scope-clear');

    // The devices the running batch left bound to the station's account, in words.
    await untilText(page, '#left-bound', words.supervisor.left_bound.replace('{{batch}}', String(liveBatch))
      .replace('{{left}}', '2').replace('{{removed}}', '5'));
    assert.equal(await page.evaluate(() => document.getElementById('left-bound').classList.contains('warn-text')), true);
    // Each one the store records, what it is and since when (the store's rows, not the batch's count).
    const devices = await page.locator('#left-bound-devices li').allTextContents();
    assert.equal(devices.length, 2, devices.join(' | '));
    assert.match(devices[0], /^left-bound-device-1\b/, devices[0]);
    assert.equal(await page.getAttribute('#left-bound', 'aria-live'), 'polite');
    await page.context().close();
  });
}

test('zh-CN and en: a crop the retention dropped is said in words in the unit history, its record kept', async () => {
  const lineDb = join(work, 'pruned.db');
  addUser(lineDb, 'op', 'operator', 'cam-a');
  addUser(lineDb, 'sup', 'supervisor');
  // Room for no picture at all: every crop is dropped as it is kept, its row stays.
  const line = startServer(LINE_SERVER, ['--db', lineDb, '--port', '0', '--step', '0.2', '--evidence-max-bytes', '1']);
  const url = await line.url;
  try {
    const op = await pageIn(browser, 'en-US');
    await login(op, url, 'op');
    await op.waitForURL(/operator\.html/);
    await until(op, () => ls.session !== null);
    await op.evaluate(() => ls.api('POST', '/api/batch', { recipe: 'cam-a', units: [{ slot: 'A1', serial: 'GOOD-9001' }] }));
    await until(op, () => slots.get('A1')?.verdict === 'PASS', 30000);
    await op.context().close();
    const kept = sql(lineDb, "SELECT e.moment, e.png IS NULL, e.pruned_ms IS NOT NULL FROM unit_evidence e " +
                             "JOIN units u ON u.id = e.unit_id WHERE u.serial = 'GOOD-9001' ORDER BY e.t_ms");
    assert.deepEqual(kept, [['ready', '1', '1'], ['green', '1', '1'], ['final', '1', '1']]);
    for (const [locale, lang] of [['zh-CN', 'zh-CN'], ['en-US', 'en']]) {
      const words = catalogue(lang);
      const sup = await pageIn(browser, locale);
      await login(sup, url, 'sup');
      await sup.waitForURL(/supervisor\.html/);
      await until(sup, () => ls.session !== null);
      await sup.fill('#serial', 'GOOD-9001');
      await sup.click('#unit-form button');
      await until(sup, () => document.querySelectorAll('#unit-crops figure').length === 3, 10000);
      assert.equal(await sup.locator('#unit-crops img').count(), 0);
      for (const moment of ['ready', 'green', 'final']) {
        await untilText(sup, `#unit-crops figure[data-moment="${moment}"] .no-crop`, words.evidence.pruned);
        // What the camera read then is kept with the record.
        assert.ok((await sup.textContent(`#unit-crops figure[data-moment="${moment}"] figcaption`))
          .startsWith(words.evidence.caption.split('{{led}}')[0].replace('{{moment}}', words.evidence.moment[moment])));
      }
      await untilText(sup, '#unit-crops .led-timeline', new RegExp(`^${words.evidence.timeline.split('{{steps}}')[0]}`));
      await sup.context().close();
    }
  } finally {
    await stopServer(line.child);
  }
});
