// The dashboard in a real browser, in English and Chinese: playwright-core drives Debian's chromium
// against the station's web server on a free port, with users made by `station user add`.
// Run by CTest (`make test`); needs `npm ci` here (scripts/test-deps does it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as harness from './harness.mjs';
import { STATION, CHROMIUM, CHROMIUM_ARGS, startServer, until, untilText, catalogue } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const chromium = harness.loadChromium();
const SERVER = harness.LINE_SERVER;
const EXPECTED_QR = '{"s":"LineStation-Test","p":"line-station-pass","t":"EUa1b2c3d4e5f6"}';

const work = mkdtempSync(join(tmpdir(), 'ls-browser-'));
let browser;
// One test line per language, each with its own store (a batch runs on each).
const lines = {};
const LANGUAGES = [['en-US', 'en'], ['zh-CN', 'zh-CN']];

const sql = (query, file) => harness.sql(file, query);
const login = (page, base, user) => harness.login(page, base, user);
const decodeQr = (page, png) => harness.decodeQr(page.context(), png);
const pageIn = (locale) => harness.pageIn(browser, locale);

before(async () => {
  for (const [, lang] of LANGUAGES) {
    const db = join(work, `station-${lang}.db`);
    harness.addUser(db, 'op', 'operator', 'cam-a');
    harness.addUser(db, 'op-b', 'operator', 'cam-b');
    harness.addUser(db, 'sup', 'supervisor');
    const started = startServer(SERVER, ['--db', db, '--port', '0', '--step', '0.4', '--seed-units', '120', '--qr-every', '3']);
    lines[lang] = { db, child: started.child, base: await started.url };
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  for (const line of Object.values(lines)) line.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

// The test line's payload of code generation g (tests/web/test_line.cpp payload_for).
function payloadFor(g) {
  return g <= 1 ? EXPECTED_QR
    : `{"s":"LineStation-Test","p":"line-station-pass","t":"EUa1b2c3d4e${100 + (g % 900)}"}`;
}

async function logout(page) {
  await page.evaluate(() => ls.logout());
  await page.waitForURL(/index\.html/);
}

for (const [locale, lang] of LANGUAGES) {
  const words = catalogue(lang);
  test(`${lang}: operator starts a batch and watches the slots reach their verdicts`, async () => {
    const { db, base } = lines[lang];
    const page = await pageIn(locale);
    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A4"]');
    // Every step each slot shows, as the live socket moves it.
    await page.evaluate(() => {
      window.seenSteps = new Set();
      new MutationObserver(() => document.querySelectorAll('.slot').forEach(s => window.seenSteps.add(s.dataset.step)))
        .observe(document.getElementById('slots'), { subtree: true, attributes: true });
    });
    // A unit scanned before any slot is refused: scans are never given to slots by order.
    await page.fill('#scan', 'BAD-0001');
    await page.press('#scan', 'Enter');
    assert.equal(await page.locator('#error').textContent(), words.operator.scan_no_slot.replace('{{code}}', 'BAD-0001'));
    // The barcode scanner types the slot's label, then the unit's: A1 gets the scanned unit.
    await page.fill('#scan', 'A1');
    await page.press('#scan', 'Enter');
    await page.fill('#scan', 'BAD-0001');
    await page.press('#scan', 'Enter');
    await page.click('#start');
    await until(page, () => document.querySelectorAll('.slot .verdict.PASS, .slot .verdict.FAIL').length === 4, 30000);
    const seen = await page.evaluate(() => [...window.seenSteps]);
    for (const step of ['resetting', 'waiting_ready', 'in_batch', 'watching', 'done']) {
      assert.ok(seen.includes(step), `saw step ${step} (saw ${seen})`);
    }
    const a1 = page.locator('.slot[data-slot="A1"]');
    assert.equal(await a1.locator('.serial').textContent(), 'BAD-0001');
    assert.equal(await a1.locator('.verdict').textContent(), words.verdict.FAIL);
    // The reason in words with the operator's next action; the code stays in the data.
    assert.equal(await a1.locator('.reason').getAttribute('data-reason'), 'never_ready_after_unbind');
    assert.equal(await a1.locator('.reason').textContent(), words.reason.never_ready_after_unbind.text);
    assert.equal(await page.locator('.slot[data-slot="A2"] .verdict').textContent(), words.verdict.PASS);
    // Data before display: what the screen shows is in the store.
    const rows = sql("SELECT slot, verdict, COALESCE(reason,'') FROM units WHERE batch_id = (SELECT MAX(id) FROM batches) ORDER BY slot", db);
    assert.deepEqual(rows.map(r => r.slice(0, 2)), [['A1', 'FAIL'], ['A2', 'PASS'], ['A3', 'PASS'], ['A4', 'PASS']]);
    assert.ok(sql("SELECT COUNT(*) FROM audit_log WHERE actor = 'op' AND action = 'batch.start'", db)[0][0] === '1');
    // Reload clears the station's verdict; the screen keeps it, big, until the next scan on
    // that slot (the operator may be looking away).
    const reload = page.locator('.slot[data-slot="A2"] button[data-do="reload"]');
    assert.equal(await reload.textContent(), words.operator.reload);
    await reload.click();
    await until(page, () => slots.get('A2').verdict === undefined || slots.get('A2').verdict === null);
    assert.equal(await page.locator('.slot[data-slot="A2"] .verdict').textContent(), words.verdict.PASS);
    await page.close();
  });

  test(`${lang}: the QR display shows a code that decodes to the pairing payload, never cached`, async () => {
    const { db, base } = lines[lang];
    const page = await pageIn(locale);
    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    const qrHeaders = [];
    page.on('response', (r) => { if (r.url().includes('/api/qr')) qrHeaders.push(r.headers()['cache-control']); });
    await page.goto(base + '/qr.html');
    await page.waitForSelector('#code:not([hidden])', { timeout: 15000 });
    const devices = new RegExp(words.qr.status.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{{time}}', '\\d+:\\d\\d').replace('{{used}}', '\\d+').replace('{{max}}', '30'));
    await until(page, (re) => new RegExp(re).test(document.getElementById('status').textContent), 15000, devices.source);
    // A code and its generation, taken when no new code arrived in between.
    const capture = async () => {
      for (;;) {
        const before = await page.locator('#code').getAttribute('data-generation');
        const shot = await page.locator('#code').screenshot();
        if (before === await page.locator('#code').getAttribute('data-generation')) {
          return { generation: Number(before), text: await decodeQr(page, shot) };
        }
      }
    };
    assert.ok(qrHeaders.length > 0 && qrHeaders.every(h => h === 'no-store'), `headers ${qrHeaders}`);
    const first = await capture();
    // Generation 1 is the batch's first code; a new one replaces it on its own.
    assert.equal(first.text, first.generation === 1 ? EXPECTED_QR : payloadFor(first.generation));
    await until(page, (g) => Number(document.getElementById('code').dataset.generation) > g, 15000, first.generation);
    const next = await capture();
    assert.ok(next.generation > first.generation);
    assert.equal(next.text, payloadFor(next.generation));
    await page.close();
  });

  test(`${lang}: the QR display is only for a logged-in account`, async () => {
    const { db, base } = lines[lang];
    const page = await pageIn(locale);
    await page.goto(base + '/qr.html');
    await page.waitForURL(/index\.html\?next=%2Fqr\.html/);
    const r = await page.evaluate(async () => (await fetch('/api/qr.svg')).status);
    assert.equal(r, 401);
    await page.close();
  });

  test(`${lang}: supervisor sees charts whose numbers match the store`, async () => {
    const { db, base } = lines[lang];
    const page = await pageIn(locale);
    await login(page, base, 'sup');
    await page.waitForURL(/supervisor\.html/);
    await page.selectOption('#period', 'week');
    await until(page, () => window.lsCharts && window.lsCharts.pareto &&
                               document.getElementById('computed').textContent !== '');
    // Let the period change land (the summary answer replaces the charts).
    await page.waitForTimeout(500);
    const charts = await page.evaluate(() => Object.fromEntries(Object.entries(window.lsCharts).map(
      ([k, c]) => [k, { labels: c.data.labels, data: c.data.datasets.map(d => d.data) }])));
    const byProduct = Object.fromEntries(charts.throughput_product.labels.map((l, i) => [l, charts.throughput_product.data[0][i]]));
    const storeByProduct = Object.fromEntries(sql(
      "SELECT COALESCE(product_id,''), COUNT(DISTINCT COALESCE(serial, device_id, 'unit:'||id)) FROM units WHERE verdict IS NOT NULL GROUP BY 1", db)
      .map(([p, n]) => [p, Number(n)]));
    assert.deepEqual(byProduct, storeByProduct);
    assert.ok(storeByProduct['cam-a'] >= 80);
    const pareto = Object.fromEntries(charts.pareto.labels.map((l, i) => [l, charts.pareto.data[0][i]]));
    const storePareto = Object.fromEntries(sql(
      "SELECT COALESCE(reason,'(none)'), COUNT(*) FROM units WHERE verdict IS NOT NULL AND verdict <> 'PASS' GROUP BY 1", db)
      .map(([r, n]) => [r, Number(n)]));
    assert.deepEqual(pareto, storePareto);
    const cycleTotal = charts.cycle_time.data[0].reduce((a, b) => a + b, 0);
    assert.equal(cycleTotal, Number(sql("SELECT COUNT(*) FROM units WHERE verdict IS NOT NULL AND verdict <> 'INTERRUPTED' " +
      "AND COALESCE(reason,'') NOT IN ('operator_abort','fixture_fault','camera_lost') AND COALESCE(reason,'') NOT LIKE 'neighbo%'", db)[0][0]));
    // The CSV link exports the same table.
    const csv = await page.evaluate(async () => (await fetch(document.querySelector('a[data-csv="pareto"]').href)).text());
    for (const [reason, count] of Object.entries(storePareto)) assert.ok(csv.includes(`${reason},${count},`), csv);
    // A unit's history with its LED timeline chart.
    await page.fill('#serial', 'BAD-0001');
    await page.click('#unit-form button');
    await until(page, () => window.lsCharts.led_timeline);
    const ledPoints = await page.evaluate(() => window.lsCharts.led_timeline.data.datasets[0].data.map(p => p.y));
    // red (1) while resetting and waiting, green (3) while joining, as the store recorded.
    assert.ok(ledPoints.includes(1) && ledPoints.includes(3), `LED timeline ${ledPoints}`);
    assert.equal(ledPoints.length, Number(sql("SELECT COUNT(*) FROM unit_events e JOIN units u ON u.id = e.unit_id WHERE u.serial = 'BAD-0001' AND e.kind = 'led'", db)[0][0]));
    assert.match(await page.locator('#unit-attempts').textContent(), /never_ready_after_unbind/);
    // Its measurements with their limits and outcomes, one table row per stored record.
    const measured = await page.locator('#unit-measurements tr').count();
    const records = Number(sql("SELECT COUNT(*) FROM measurements m JOIN units u ON u.id = m.unit_id WHERE u.serial = 'BAD-0001'", db)[0][0]);
    assert.ok(records > 0, 'the test line records a measurement per verdict');
    assert.equal(measured - (await page.locator('#unit-measurements table').count()), records);
    assert.match(await page.locator('#unit-measurements').textContent(), /time_to_ready_s.*PASS/);
    await logout(page);
    await page.close();
  });

  test(`${lang}: an operator without the product permission is refused`, async () => {
    const { db, base } = lines[lang];
    const page = await pageIn(locale);
    await login(page, base, 'op-b');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('#recipe option[value="cam-a"]', { state: 'attached' });
    assert.equal(await page.locator('#recipe option[value="cam-a"]').getAttribute('disabled'), '');
    const answer = await page.evaluate(async () => {
      try { await ls.api('POST', '/api/batch', { recipe: 'cam-a' }); return 'accepted'; }
      catch (e) { return `${e.status} ${e.message}`; }
    });
    assert.equal(answer, '403 no permission for product "cam-a"');
    assert.equal(sql("SELECT COUNT(*) FROM audit_log WHERE actor = 'op-b' AND action = 'batch.start_refused'", db)[0][0], '1');
    await page.close();
  });

}

for (const [locale, lang] of LANGUAGES) {
  test(`${lang}: station serve: users from \`station user add\` log in and reach their pages`, async () => {
    const serveDb = join(work, `serve-${lang}.db`);
    execFileSync(STATION, ['user', 'add', '--login', 'boss', '--role', 'admin', '--password-stdin', '--db', serveDb],
                 { input: 'boss-password\n' });
    const started = startServer(STATION, ['serve', '--port', '0', '--db', serveDb]);
    try {
      const url = await started.url;
      const page = await pageIn(locale);
      await page.goto(url + '/index.html');
      await page.fill('#user', 'boss');
      await page.fill('#password', 'wrong-password');
      await page.click('#submit');
      await untilText(page, '#error', catalogue(lang).login.wrong);
      await page.fill('#password', 'boss-password');
      await page.click('#submit');
      await page.waitForURL(/supervisor\.html/);
      await until(page, () => window.lsCharts && window.lsCharts.pareto && !document.getElementById('admin').hidden);
      await until(page, () => document.querySelector('#users td') && document.querySelector('#users td').textContent === 'boss');
      // The admin adds a cloud account from the page: it lands in the store, without a secret.
      await page.fill('#acc-name', 'rma-eu');
      await page.fill('#acc-endpoint', 'https://openapi.tuyaeu.com');
      await page.fill('#acc-client', 'client-1');
      await page.fill('#acc-uid', 'uid-1');
      await page.fill('#acc-secret-ref', 'TUYA_SECRET');
      await page.click('#account-form button');
      await until(page, () => document.getElementById('accounts').textContent.includes('rma-eu'));
      assert.deepEqual(sql("SELECT name, secret_ref FROM cloud_accounts WHERE name = 'rma-eu'", serveDb), [['rma-eu', 'TUYA_SECRET']]);
      const metrics = await page.evaluate(async () => (await fetch('/metrics')).text());
      assert.match(metrics, /linestation_store_ok 1/);
      // The admin opens a recipe and saves a wrong value: the page shows the station's error
      // naming the file and JSON path, and the recipe file stays as it was.
      const recipeFile = join(here, '../../recipes/tuya-smart-plug.json');
      const before = readFileSync(recipeFile, 'utf8');
      await until(page, () => document.getElementById('recipes').textContent.includes('tuya-smart-plug'));
      await page.click('#recipes tr:has-text("tuya-smart-plug") button');
      await until(page, () => document.getElementById('recipe-text').value.includes('"tuya-smart-plug"'));
      const edited = (await page.inputValue('#recipe-text')).replace('"ready_s": 30', '"ready_s": "soon"');
      await page.fill('#recipe-text', edited);
      await page.click('#recipe-form button');
      await until(page, () => document.getElementById('recipe-error').textContent.includes('$.flows.repair.timeouts.ready_s'));
      assert.match(await page.textContent('#recipe-error'), /^recipes\/tuya-smart-plug\.json: .*soon/);
      assert.equal(readFileSync(recipeFile, 'utf8'), before);
      await page.fill('#fixture-text', '{"schema": 1, "name": "x", "boards": "none"}');
      await page.click('#fixture-form button');
      await until(page, () => document.getElementById('fixture-error').textContent.includes('$.boards'));
      await page.close();
    } finally {
      started.child.kill('SIGTERM');
    }
  });
}

test('station serve on the virtual line: operator batch to verdicts, QR decodes', { timeout: 300000 }, async () => {
  const serveDb = join(work, 'serve-line.db');
  execFileSync(STATION, ['user', 'add', '--login', 'line-op', '--role', 'operator', '--products', 'tuya-ipc-camera',
                         '--password-stdin', '--db', serveDb], { input: 'line-op-password\n' });
  const started = startServer(STATION, ['serve', '--port', '0', '--db', serveDb]);
  try {
    const url = await started.url;
    const page = await pageIn('en-US');
    await page.goto(url + '/index.html');
    await page.fill('#user', 'line-op');
    await page.fill('#password', 'line-op-password');
    await page.click('#submit');
    await page.waitForURL(/operator\.html/);
    await until(page, () => document.querySelectorAll('.slot').length > 0);
    const slotCount = await page.evaluate(() => document.querySelectorAll('.slot').length);
    assert.equal(await page.locator('#recipe').inputValue(), 'tuya-ipc-camera');
    // The first verdict each slot shows (the virtual operator reloads a slot soon after).
    await page.evaluate(() => {
      window.firstVerdicts = {};
      window.seenSteps = new Set();
      new MutationObserver(() => document.querySelectorAll('.slot').forEach(s => {
        window.seenSteps.add(s.dataset.step);
        const v = s.querySelector('.verdict').dataset.verdict;
        if (v && !window.firstVerdicts[s.dataset.slot]) {
          window.firstVerdicts[s.dataset.slot] = [v, s.querySelector('.reason').dataset.reason];
        }
      })).observe(document.getElementById('slots'), { subtree: true, attributes: true, childList: true, characterData: true });
    });
    await page.click('#start');

    // The QR display shows the batch's code: decode the screenshot.
    const qrPage = await page.context().newPage();
    await qrPage.goto(url + '/qr.html');
    await qrPage.waitForSelector('#code:not([hidden])', { timeout: 30000 });
    const shot = await qrPage.locator('#code').screenshot();
    const text = await decodeQr(qrPage, shot);
    const payload = JSON.parse(text);
    // Key order is the QR part's business (DESIGN shows s, p, t); the fields must be exact.
    assert.deepEqual(Object.keys(payload).sort(), ['p', 's', 't']);
    assert.equal(payload.s, 'LineStation-Test');
    assert.equal(payload.p, 'line-station-pass');
    assert.match(payload.t, /^[A-Za-z0-9]{14}$/);
    await qrPage.close();

    await until(page, () => Object.keys(window.firstVerdicts).length === document.querySelectorAll('.slot').length, 240000);
    const shown = await page.evaluate(() => window.firstVerdicts);
    const seen = await page.evaluate(() => [...window.seenSteps]);
    assert.ok(seen.length >= 2, `steps seen ${seen}`);
    // Data before display: each slot's first verdict is its first unit's in the store.
    const stored = Object.fromEntries(sql(
      `SELECT slot, verdict, COALESCE(reason,'') FROM units WHERE id IN (SELECT MIN(id) FROM units WHERE batch_id = (SELECT MAX(id) FROM batches) GROUP BY slot)`
      , serveDb).map(([slot, v, r]) => [slot, [v, r]]));
    assert.equal(Object.keys(shown).length, slotCount);
    assert.deepEqual(shown, stored);
    await page.close();
  } finally {
    started.child.kill('SIGTERM');
  }
});
