// The screens a factory runs on, in Chinese and English: every visible string from the
// catalogues, reason codes in words with the next action, the operator's scan-to-slot
// habits, a lost connection or session said in words. Playwright-core drives Debian's
// chromium against web_test_line_server and `station serve`. Run by CTest (browser_screens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChromium, STATION, LINE_SERVER, CHROMIUM, CHROMIUM_ARGS, addUser, startServer, stopServer, untilText,
         until, login, freePort, decodeQr } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ui = join(here, '../../web/ui');
const chromium = loadChromium();
const work = mkdtempSync(join(tmpdir(), 'ls-screens-'));
const db = join(work, 'station.db');
let browser, server, base;

before(async () => {
  addUser(db, 'op', 'operator', 'cam-a');
  addUser(db, 'nobody', 'operator');
  addUser(db, 'sup', 'supervisor');
  server = startServer(LINE_SERVER, ['--db', db, '--port', '0', '--step', '0.4', '--seed-units', '40', '--qr-every', '30']);
  base = await server.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server.child);
  rmSync(work, { recursive: true, force: true });
});

// A browser whose language is `locale` (navigator.languages and Accept-Language).
async function pageIn(locale, options = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 }, ...options });
  return context.newPage();
}

const catalogue = (lang) => JSON.parse(readFileSync(join(ui, 'locales', `${lang}.json`), 'utf8'));
function leaves(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => (typeof v === 'object' ? leaves(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));
}

// The visible text of the page with the data it shows (slot names, serials, product ids,
// logins, numbers) taken out: what is left must be words of the catalogue's language.
async function englishWordsLeft(page, data) {
  const text = await page.evaluate(() => document.body.innerText);
  let rest = text;
  for (const d of [...data, 'LineStation', 'English', 'QR', 'CSV', 'LED', 'Wi-Fi', 'SSID', 'ID', 'UID', 'Client',
                   'SHA-256', 'Hz']) {
    rest = rest.split(d).join(' ');
  }
  return rest.match(/[A-Za-z]{2,}/g) || [];
}

test('the catalogues are complete: same keys in both, every key the pages use, every reason code', () => {
  const en = Object.fromEntries(leaves(catalogue('en')));
  const zh = Object.fromEntries(leaves(catalogue('zh-CN')));
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries(zh)) {
    assert.ok(String(v).trim() !== '', `zh-CN ${k} is empty`);
    // Chinese text where English has words (brand names and codes may stay).
    if (/[a-z]{4,}/.test(String(en[k]).replace(/{{\w+}}/g, '')) && !/^(LineStation|CSV|UID|Client ID)$/.test(v)) {
      assert.match(v, /[\u4e00-\u9fff]/, `zh-CN ${k} is not Chinese: ${v}`);
    }
    // The same placeholders in both languages.
    const names = (s) => (String(s).match(/{{\w+}}/g) || []).sort();
    assert.deepEqual(names(v), names(en[k]), `placeholders of ${k}`);
  }
  // Every key the pages name, in markup or in script.
  const used = new Set();
  for (const file of readdirSync(ui).filter(f => /\.(html|js)$/.test(f))) {
    const text = readFileSync(join(ui, file), 'utf8');
    // Markup in the pages (app.js only describes the attributes in a comment).
    if (file.endsWith('.html')) {
      for (const m of text.matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1]);
      for (const m of text.matchAll(/data-i18n-attr="([^"]+)"/g)) m[1].split(',').forEach(p => used.add(p.split(':')[1].trim()));
    }
    for (const m of text.matchAll(/ls\.t\('([a-z_.]+)'/g)) used.add(m[1]);
  }
  assert.ok(used.size > 100, `found ${used.size} keys`);
  for (const key of used) assert.ok(key in en, `${key} is used by a page but missing from the catalogues`);
  // Every reason code the station gives has words and a next action in both languages.
  const parts = readFileSync(join(here, '../../station/flow/line_parts.hpp'), 'utf8');
  const reasons = parts.slice(parts.indexOf('namespace reason'));
  const codes = [...reasons.matchAll(/= "([a-z_]+)";/g)].map(m => m[1]);
  assert.ok(codes.includes('wifi_rejected') && codes.length >= 15, `codes ${codes}`);
  for (const code of codes) {
    for (const part of ['text', 'action']) {
      assert.ok(en[`reason.${code}.${part}`] && zh[`reason.${code}.${part}`], `reason ${code} ${part}`);
    }
  }
  // Every refusal code the station and the API give has its words in both languages.
  const refusals = new Set();
  for (const file of ['station/flow/line.cpp', 'station/runtime.cpp', 'station/service.hpp', 'web/api.cpp',
                     'web/http.cpp', 'web/sign_in.cpp']) {
    const text = readFileSync(join(here, '../..', file), 'utf8');
    for (const m of text.matchAll(/throw (?:Refusal|HttpError)\(([\s\S]*?)\);/g)) {
      // The params' names ({"slot", ...}) are not codes; a code is a bare lower_case literal.
      // An argument of its own (after a comma), not a piece of a message split over lines.
      const args = ',' + m[1].replace(/\{\{?"[a-z_]+",/g, '');
      for (const lit of args.matchAll(/,\s*"([a-z][a-z_]*)"/g)) refusals.add(lit[1]);
    }
  }
  for (const must of ['slot_busy', 'serial_in_slot', 'serial_judged', 'no_batch', 'no_product_permitted', 'field_length']) {
    assert.ok(refusals.has(must), `found refusal codes ${[...refusals]}`);
  }
  for (const code of refusals) assert.ok(en[`error.${code}`] && zh[`error.${code}`], `refusal code ${code} has no words`);
  assert.equal(en['reason.wifi_rejected.text'] + ' ' + en['reason.wifi_rejected.action'],
               'The unit could not join the Wi-Fi. Check SSID/password in the station config, then re-test.');
});

for (const [locale, lang] of [['zh-CN', 'zh-CN'], ['en-US', 'en']]) {
  test(`${lang}: the login page, the operator's scans and the supervisor's page speak the browser's language`, async () => {
    const words = catalogue(lang);
    const page = await pageIn(locale);
    await page.goto(base + '/index.html');
    await until(page, (t) => document.getElementById('submit').textContent === t, 5000, words.login.submit);
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    assert.deepEqual(await page.evaluate(() => window.lsMissingKeys), []);
    await page.fill('#user', 'op');
    await page.fill('#password', 'wrong-password');
    await page.click('#submit');
    await until(page, (t) => document.getElementById('error').textContent === t, 5000, words.login.wrong);

    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A4"]');
    await until(page, () => document.getElementById('batch').textContent !== '');
    // In Chinese, no English word is left on the screen but the data it shows.
    if (lang === 'zh-CN') assert.deepEqual(await englishWordsLeft(page, ['op', 'cam-a', 'cam-b', 'A1', 'A2', 'A3', 'A4']), []);
    await untilText(page, '#start', words.operator.start);
    // A unit scanned before any slot is refused: scans are never given to slots by order.
    await page.fill('#scan', 'BAD-0001');
    await page.press('#scan', 'Enter');
    await untilText(page, '#error', words.operator.scan_no_slot.replace('{{code}}', 'BAD-0001'));
    // Slot label, then the unit's label: the tile shows the serial it will hold.
    await page.fill('#scan', 'a1');
    await page.press('#scan', 'Enter');
    assert.equal(await page.getAttribute('.slot[data-slot="A1"] .name', 'aria-pressed'), 'true');
    await untilText(page, '#scan-hint', words.operator.scan_hint_unit.replace('{{slot}}', 'A1'));
    await page.fill('#scan', 'BAD-0001');
    await page.press('#scan', 'Enter');
    await untilText(page, '.slot[data-slot="A1"] .serial', 'BAD-0001');
    // Picking a slot with a click, then scanning: the click leaves the focus in the scan field.
    await page.click('.slot[data-slot="A2"] .name');
    await until(page, () => document.activeElement.id === 'scan', 2000);
    await page.keyboard.type('BAD-0001');
    await page.keyboard.press('Enter');
    await untilText(page, '#error',
                 words.operator.scan_duplicate_pending.replace('{{serial}}', 'BAD-0001').replace('{{slot}}', 'A1'));
    await page.keyboard.type('GOOD-0002');
    await page.keyboard.press('Enter');
    await untilText(page, '.slot[data-slot="A2"] .serial', 'GOOD-0002');
    // Every button gives the focus back to the scan field (a barcode wedge types there).
    for (const button of ['#clear-scans', '.slot[data-slot="A3"] [data-do="retest"]', '.slot[data-slot="A4"] [data-do="abort"]']) {
      await page.click(button);
      await until(page, () => document.activeElement.id === 'scan', 2000);
    }
    await untilText(page, '.slot[data-slot="A1"] .serial', words.operator.serial_none);
    assert.deepEqual(await page.evaluate(() => window.lsMissingKeys), []);
    // The LED in words, an alternating one with both its colours.
    const led = await page.evaluate(() => ledWords({ led_color: 'red/green', led_pattern: 'alternate', led_freq_hz: 2, led_state: 'ready' }));
    assert.equal(led, words.led.alternate_hz.replace('{{first}}', words.led.color.red).replace('{{second}}', words.led.color.green)
      .replace('{{hz}}', '2') + ' · ' + words.led.state.ready);
    // A reason code in words plus the operator's next action; an unknown code still says what to do.
    assert.deepEqual(await page.evaluate(() => ls.reason('wifi_rejected')), words.reason.wifi_rejected);
    assert.deepEqual(await page.evaluate(() => ls.reason('something_new')),
                     { text: words.reason.unknown.text.replace('{{code}}', 'something_new'), action: words.reason.unknown.action });

    await page.evaluate(() => ls.logout());
    await page.waitForURL(/index\.html/);
    await login(page, base, 'sup');
    await page.waitForURL(/supervisor\.html/);
    await until(page, () => window.lsCharts && window.lsCharts.pareto && document.getElementById('computed').textContent !== '');
    await page.selectOption('#period', 'week');
    await page.waitForTimeout(500);
    await until(page, () => window.lsCharts.hourly.data.labels.length > 0);
    assert.equal(await page.evaluate(() => window.lsCharts.hourly.data.datasets[0].label), words.supervisor.ds.attempts);
    await untilText(page, '#table-yield th[data-column="product"]', words.column.product);
    // Dates follow the locale: the chart's hour labels are the browser's own formatting.
    // Every chart has a text alternative: its name for screen readers and its numbers as a table.
    assert.equal(await page.getAttribute('#chart-pareto', 'aria-label'), words.supervisor.pareto);
    await page.click('#alt-pareto >> xpath=.. >> summary');
    const paretoRows = await page.locator('#alt-pareto tr').count();
    assert.equal(paretoRows - 1, await page.evaluate(() => lsCharts.pareto.data.labels.length));
    assert.ok(paretoRows > 1, 'the seeded failures give the Pareto rows');
    for (const name of ['hourly', 'cycle_time', 'throughput_station', 'throughput_operator', 'throughput_product']) {
      assert.ok(await page.locator(`#alt-${name} table`).count() === 1, `table for ${name}`);
    }
    assert.match(await page.textContent('#left-bound'), lang === 'en' ? /left bound|no batch/ : /仍绑定|还没有批次/);
    // Where the results stand on their way to the fleet and the MES (none configured here).
    await untilText(page, '#sinks', words.supervisor.sinks_none);
    // Filters by product (and the CSV links follow them).
    await page.fill('#scope-product', 'cam-b');
    await page.click('#scope button.primary');
    await until(page, () => JSON.stringify(lsCharts.throughput_product.data.labels) === '["cam-b"]');
    assert.match(await page.getAttribute('a[data-csv="pareto"]', 'href'), /product=cam-b/);
    await page.click('#scope-clear');
    await until(page, () => lsCharts.throughput_product.data.labels.length > 1);
    const hourLabel = await page.evaluate(() => window.lsCharts.hourly.data.labels[0]);
    const hourMs = await page.evaluate(() => lsCharts.hourly.data.labels.length);
    assert.ok(hourMs > 0, 'the seeded units give hours to label');
    if (lang === 'zh-CN') {
      assert.match(hourLabel, /[\u4e00-\u9fff]/, `hour label ${hourLabel}`);
      const data = await page.evaluate(() => [...document.querySelectorAll('td')].map(td => td.textContent)
        .concat(lsCharts.pareto.data.labels, [document.querySelector('.who').textContent]));
      assert.deepEqual(await englishWordsLeft(page, data.filter(Boolean).sort((a, b) => b.length - a.length)), []);
    }
    assert.deepEqual(await page.evaluate(() => window.lsMissingKeys), []);
    await page.context().close();
  });
}

test('the language switch on every page changes the words at once and is remembered', async () => {
  const page = await pageIn('en-US');
  const zh = catalogue('zh-CN');
  await page.goto(base + '/index.html');
  await until(page, () => document.getElementById('submit').textContent === 'Log in', 5000);
  await page.selectOption('select.language', 'zh-CN');
  await untilText(page, '#submit', zh.login.submit);
  await login(page, base, 'op');
  await page.waitForURL(/operator\.html/);
  await page.waitForSelector('.slot[data-slot="A1"]');
  // The page that follows keeps the pick, over the browser's English.
  await until(page, (t) => document.getElementById('start').textContent === t, 5000, zh.operator.start);
  await untilText(page, '.slot[data-slot="A1"] [data-do="reload"]', zh.operator.reload);
  await page.selectOption('header select.language', 'en');
  await untilText(page, '#start', 'Start batch');
  await untilText(page, '.slot[data-slot="A1"] [data-do="reload"]', 'Reload');
  await untilText(page, '.slot[data-slot="A1"] .step', 'idle');
  // The switch leaves the focus where a scanner needs it.
  await until(page, () => document.activeElement.id === 'scan', 2000);
  await page.goto(base + '/qr.html');
  await page.selectOption('select.language', 'zh-CN');
  await until(page, (t) => document.title === t, 5000, zh.qr.title);
  await page.context().close();
});

test('zh-CN: a batch of scanned pairs, a FAIL in words with its next action, then "Load next unit"', async () => {
  const zh = catalogue('zh-CN');
  const page = await pageIn('zh-CN');
  await login(page, base, 'op');
  await page.waitForURL(/operator\.html/);
  await page.waitForSelector('.slot[data-slot="A4"]');
  for (const code of ['A1', 'BAD-0101', 'A2', 'GOOD-0102']) {
    await page.fill('#scan', code);
    await page.press('#scan', 'Enter');
  }
  await page.click('#start');
  await until(page, () => document.activeElement.id === 'scan', 2000);
  const a1 = '.slot[data-slot="A1"]';
  await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === 'FAIL', 30000, a1);
  await untilText(page, `${a1} .serial`, 'BAD-0101');
  await untilText(page, `${a1} .verdict`, zh.verdict.FAIL);
  await untilText(page, `${a1} .reason`, zh.reason.never_ready_after_unbind.text);
  await untilText(page, `${a1} .next-action`,
               zh.operator.next_action.replace('{{action}}', zh.reason.never_ready_after_unbind.action));
  // Screen readers hear the verdict with its reason.
  await until(page, () => document.getElementById('announcer').textContent.includes('A1'), 5000)
    .catch(async (e) => { throw new Error(`${e.message}: announcer "${await page.textContent('#announcer')}"`); });
  await until(page, () => document.getElementById('announcer').textContent.includes('A2'), 30000);
  const heard = await page.evaluate(() => [...document.querySelectorAll('#announcer p')].map(p => p.textContent));
  assert.ok(heard.some(line => line.startsWith('槽位 A1') && line.includes(zh.verdict.FAIL) &&
                               line.includes(zh.reason.never_ready_after_unbind.text)), heard.join(' | '));
  assert.ok(heard.some(line => line.startsWith('槽位 A2') && line.includes(zh.verdict.PASS)), heard.join(' | '));
  assert.equal(await page.getAttribute('#announcer', 'aria-live'), 'assertive');
  // The slot has its verdict while the batch runs: "Load next unit" picks it for the next scan.
  assert.equal(await page.isVisible(`${a1} [data-do="load-next"]`), true);
  await untilText(page, `${a1} [data-do="load-next"]`, zh.operator.load_next);
  await page.click(`${a1} [data-do="load-next"]`);
  await until(page, () => document.activeElement.id === 'scan', 2000);
  await untilText(page, '#scan-hint', zh.operator.scan_hint_unit.replace('{{slot}}', 'A1'));
  await page.keyboard.type('GOOD-0103');
  await page.keyboard.press('Enter');
  // The next scan on the slot ends the held FAIL; the new unit runs and passes.
  await until(page, (sel) => document.querySelector(`${sel} .serial`).textContent === 'GOOD-0103', 5000, a1);
  await untilText(page, '#error', '');
  await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === '', 5000, a1);
  await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === 'PASS', 30000, a1);
  // A serial already in a slot is refused with a message, never loaded twice.
  await until(page, () => document.querySelector('.slot[data-slot="A2"] .verdict').dataset.verdict === 'PASS', 30000);
  for (const code of ['A2', 'GOOD-0103']) {
    await page.fill('#scan', code);
    await page.press('#scan', 'Enter');
  }
  await untilText(page, '#error',
               zh.operator.scan_duplicate_slot.replace('{{serial}}', 'GOOD-0103').replace('{{slot}}', 'A1'));
  await page.evaluate(() => ls.api('POST', '/api/batch/stop'));
  await page.context().close();
});

test('zh-CN: the held verdict shows the crops that decided it and the LED timeline in words; refusals of the station in Chinese', async () => {
  const zh = catalogue('zh-CN');
  const page = await pageIn('zh-CN');
  await login(page, base, 'op');
  await page.waitForURL(/operator\.html/);
  await page.waitForSelector('.slot[data-slot="A3"]');
  for (const code of ['A3', 'GOOD-0301']) {
    await page.fill('#scan', code);
    await page.press('#scan', 'Enter');
  }
  await page.click('#start');
  const a3 = '.slot[data-slot="A3"]';
  await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === 'PASS', 30000, a3);
  // Ready seen, green seen and the final state: three crops, each one a picture the browser drew.
  await until(page, (sel) => [...document.querySelectorAll(`${sel} .evidence img`)]
    .filter(i => i.complete && i.naturalWidth > 0).length === 3, 10000, a3);
  const moments = await page.$$eval(`${a3} .evidence figure`, fs => fs.map(f => f.dataset.moment));
  assert.deepEqual(moments, ['ready', 'green', 'final']);
  await untilText(page, `${a3} figure[data-moment="ready"] figcaption`,
                  `${zh.evidence.moment.ready}：${zh.led.blink_hz.replace('{{color}}', zh.led.color.red).replace('{{hz}}', '2')}`);
  await untilText(page, `${a3} figure[data-moment="green"] figcaption`, new RegExp(`^${zh.evidence.moment.green}：${zh.led.color.green}灯闪烁`));
  const alt = await page.getAttribute(`${a3} figure[data-moment="final"] img`, 'alt');
  assert.match(alt, new RegExp(`^槽位的相机截图，${zh.evidence.moment.final}`));
  // The LED timeline in words, in Chinese: steady red, then the ready blink, green, ready again.
  const timeline = await untilText(page, `${a3} .led-timeline`, /^指示灯时间线：/);
  assert.match(timeline, /红灯常亮.*红灯闪烁 2 赫兹.*绿灯闪烁.*红灯闪烁 2 赫兹/);
  assert.deepEqual(timeline.match(/[A-Za-z]{2,}/g), null, timeline);
  // The crops are for signed-in users only: another browser without a session gets none.
  const src = await page.getAttribute(`${a3} figure[data-moment="final"] img`, 'src');
  const stranger = await browser.newContext();
  assert.equal((await stranger.request.get(base + src)).status(), 401);
  assert.equal((await page.context().request.get(base + src)).status(), 200);
  await stranger.close();
  // A refusal only the station can know (the unit was judged in this batch) in Chinese:
  // A3 takes the next unit, then GOOD-0301 is scanned into A4 after its verdict.
  await until(page, () => document.querySelector('.slot[data-slot="A4"] .verdict').dataset.verdict !== '', 30000);
  const scan = async (code) => { await page.fill('#scan', code); await page.press('#scan', 'Enter'); };
  await scan('A3');
  await scan('GOOD-0302');
  await untilText(page, '#scan-hint', zh.operator.scan_loaded.replace('{{serial}}', 'GOOD-0302').replace('{{slot}}', 'A3'));
  await until(page, () => slots.get('A3').unit_serial === 'GOOD-0302', 5000);
  await scan('A4');
  await scan('GOOD-0301');
  await untilText(page, '#error', zh.error.serial_judged.replace('{{serial}}', 'GOOD-0301'));
  // The switch redraws it in English, from the same code.
  await page.selectOption('select.language', 'en');
  await untilText(page, '#error', catalogue('en').error.serial_judged.replace('{{serial}}', 'GOOD-0301'));
  await page.selectOption('select.language', 'zh-CN');
  // Stopping twice: the second is refused with the station's code, said in Chinese.
  await page.evaluate(() => ls.api('POST', '/api/batch/stop'));
  await until(page, () => batch.state !== 'running', 10000);
  await page.evaluate(() => act('POST', '/api/batch/stop'));
  await untilText(page, '#error', zh.error.no_batch);
  await page.context().close();

  // The supervisor's unit history shows the same crops beside the LED timeline chart.
  const sup = await pageIn('zh-CN');
  await login(sup, base, 'sup');
  await sup.waitForURL(/supervisor\.html/);
  await sup.fill('#serial', 'GOOD-0301');
  await sup.click('#unit-form button');
  await until(sup, () => [...document.querySelectorAll('#unit-crops .evidence img')]
    .filter(i => i.complete && i.naturalWidth > 0).length === 3, 10000);
  await untilText(sup, '#unit-crops h3', zh.supervisor.attempt_evidence.replace('{{attempt}}', '1'));
  await untilText(sup, '#unit-crops .led-timeline', /^指示灯时间线：.*红灯闪烁 2 赫兹/);
  // A serial never tested: the API's code in Chinese.
  await sup.fill('#serial', 'NEVER-SEEN');
  await sup.click('#unit-form button');
  await untilText(sup, '#unit-error', zh.error.no_unit.replace('{{serial}}', 'NEVER-SEEN'));
  await sup.context().close();
});

test('an operator with no product permitted is told to ask an admin', async () => {
  const page = await pageIn('zh-CN');
  await login(page, base, 'nobody');
  await page.waitForURL(/operator\.html/);
  await page.waitForSelector('.slot[data-slot="A1"]');
  await page.click('#start');
  await untilText(page, '#error', catalogue('zh-CN').operator.no_product_permitted);
  // The API says the same to any client, before it looks at the fields.
  const answer = await page.evaluate(async () => {
    try { await ls.api('POST', '/api/batch', { recipe: '' }); return 'accepted'; } catch (e) { return `${e.status} ${e.message}`; }
  });
  assert.equal(answer, '403 no product is permitted to you — ask an admin');
  await page.context().close();
});

test('kiosk mode, visible focus and reduced motion', async () => {
  const page = await pageIn('en-US', { reducedMotion: 'reduce' });
  await login(page, base, 'op');
  await page.waitForURL(/operator\.html/);
  await page.waitForSelector('.slot[data-slot="A1"]');
  await page.click('#kiosk');
  await until(page, () => document.fullscreenElement !== null, 5000);
  await until(page, () => document.getElementById('kiosk').textContent === 'Leave full screen', 5000);
  // The focused control shows a 4 px outline.
  await page.focus('#scan');
  assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement).outlineWidth), '4px');
  // No blinking with reduced motion: the LED's words carry the pattern.
  await page.evaluate(() => render({ ...slots.get('A1'), led_color: 'red', led_pattern: 'blink', led_freq_hz: 2 }));
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.slot[data-slot="A1"] .led')).animationName), 'none');
  await untilText(page, '.slot[data-slot="A1"] .led-words', 'red blinking 2 Hz');
  await page.context().close();
});

test('the station config sets the language; on first run the login page says how to make the first admin', async () => {
  const serveDb = join(work, 'serve.db');
  const config = join(work, 'station.json');
  writeFileSync(config, JSON.stringify({ schema: 1, station: { id: 'st-zh', name: 'Line 3' }, store: { path: serveDb },
    http: { port: 0 }, ui: { language: 'zh-CN' } }));
  const started = startServer(STATION, ['serve', '--config', config, '--port', '0']);
  try {
    const url = await started.url;
    const page = await pageIn('en-US');
    await page.goto(url + '/index.html');
    await until(page, (t) => document.getElementById('submit').textContent === t, 5000, catalogue('zh-CN').login.submit);
    // First run: no user yet. The login page and serve's own output give the exact command,
    // into the store this station reads; running it as shown makes an admin who logs in.
    await page.waitForSelector('#first-run:not([hidden])');
    const command = await page.textContent('#first-run-command');
    assert.ok(command.endsWith(`--db ${serveDb}`), command);
    assert.ok(started.output().includes(command), started.output());
    execFileSync('bash', ['-c', command]);
    await page.fill('#user', 'boss');
    await page.fill('#password', 'a-long-password');
    await page.click('#submit');
    await page.waitForURL(/supervisor\.html/);
    await page.goto(url + '/index.html');
    await until(page, () => document.getElementById('submit').textContent !== '', 5000);
    assert.equal(await page.isHidden('#first-run'), true);
    // The browser's own pick on the switch still wins.
    await page.selectOption('select.language', 'en');
    await page.reload();
    await until(page, () => document.getElementById('submit').textContent === 'Log in', 5000);
    await page.context().close();
  } finally {
    await stopServer(started.child);
  }
});

test('a lost connection and a lost session are said in words on the operator page', async () => {
  const lineDb = join(work, 'lost.db');
  addUser(lineDb, 'op', 'operator', 'cam-a');
  const line = startServer(LINE_SERVER, ['--db', lineDb, '--port', '0', '--step', '0.4']);
  const url = await line.url;
  const zh = catalogue('zh-CN');
  const page = await pageIn('zh-CN');
  try {
    await login(page, url, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A1"]');
    await until(page, (t) => document.getElementById('link-words').textContent === t, 5000, zh.common.connection_up);
    assert.equal(await page.isHidden('#banner'), true);
    // The session ends elsewhere (a logout in another tab): the page says so and offers a login.
    const other = await page.context().newPage();
    await other.goto(url + '/qr.html');
    await until(other, () => ls.session !== null);
    // Not awaited in the page: the logout navigates away from the page that runs it.
    await other.evaluate(() => { ls.logout(); });
    await other.waitForURL(/index\.html/);
    await until(page, () => !document.getElementById('banner').hidden, 10000);
    await untilText(page, '#banner-text', zh.common.session_lost);
    assert.equal(await page.isVisible('#banner-login'), true);
    await other.close();
    // Log in again, then the station goes away: the page says the connection is lost.
    await login(page, url, 'op');
    await page.waitForURL(/operator\.html/);
    await until(page, (t) => document.getElementById('link-words').textContent === t, 5000, zh.common.connection_up);
    await stopServer(line.child);
    await until(page, () => !document.getElementById('banner').hidden, 10000);
    await untilText(page, '#banner-text', zh.common.connection_lost);
    await untilText(page, '#link-words', zh.common.connection_down);
  } finally {
    await page.context().close();
    await stopServer(line.child);
  }
});

test('the QR kiosk keeps showing the live code across a serve restart, and nobody is logged out', { timeout: 180000 }, async () => {
  const serveDb = join(work, 'kiosk.db');
  addUser(serveDb, 'boss', 'admin');
  const port = await freePort();
  const args = ['serve', '--port', String(port), '--db', serveDb, '--batch', 'unbind:tuya-ipc-camera'];
  let station = startServer(STATION, args);
  const url = await station.url;
  const admin = await pageIn('en-US');
  const kiosk = await pageIn('zh-CN');
  const visited = [];
  kiosk.on('framenavigated', (f) => { if (f === kiosk.mainFrame()) visited.push(f.url()); });
  // The code on screen, read by a camera's stand-in (jsQR on a screenshot).
  const shownCode = async () => {
    await kiosk.waitForSelector('#code:not([hidden])', { timeout: 60000 });
    return decodeQr(kiosk.context(), await kiosk.locator('#code').screenshot());
  };
  try {
    await login(admin, url, 'boss');
    await admin.waitForURL(/supervisor\.html/);
    await until(admin, () => !document.getElementById('admin').hidden);
    await admin.fill('#display-label', 'QR screen 1');
    await admin.click('#display-form button');
    await admin.waitForSelector('#display-link');
    const link = await admin.getAttribute('#display-link', 'href');
    assert.match(link, /^\/qr\.html#display=[0-9a-f]{64}$/);
    // The list is fetched again after the link is shown.
    await untilText(admin, '#displays', /QR screen 1/);
    // The kiosk has no login: the link's token is all it holds, and the fragment is gone
    // from the address bar once kept.
    await kiosk.goto(url + link);
    const first = JSON.parse(await shownCode());
    assert.deepEqual(Object.keys(first).sort(), ['p', 's', 't']);
    assert.equal(new URL(kiosk.url()).hash, '');
    assert.deepEqual(await kiosk.context().cookies(), []);

    await stopServer(station.child);
    // While the station is away the kiosk says so in words and shows no stale code.
    await until(kiosk, (t) => document.getElementById('status').textContent === t, 15000, catalogue('zh-CN').qr.unreachable);
    assert.equal(await kiosk.isHidden('#code'), true);
    station = startServer(STATION, args);
    await station.url;
    const again = JSON.parse(await shownCode());
    assert.match(again.t, /^[A-Za-z0-9]{14}$/);
    // Never a login page, and the admin's session outlived the restart too.
    assert.ok(visited.every(u => u.includes('/qr.html')), `kiosk went to ${visited}`);
    assert.equal(await admin.evaluate(async () => (await fetch('/api/session')).status), 200);
    // A revoked token stops the screen at once, with words, still without a login page.
    await admin.reload();
    await until(admin, () => document.querySelector('#displays button') !== null);
    await admin.click('#displays button');
    await until(kiosk, (t) => document.getElementById('status').textContent === t, 15000,
                catalogue('zh-CN').qr.display_token_refused);
    assert.equal(await kiosk.isHidden('#code'), true);
    assert.ok(visited.every(u => u.includes('/qr.html')));
  } finally {
    await admin.context().close();
    await kiosk.context().close();
    await stopServer(station.child);
  }
});
