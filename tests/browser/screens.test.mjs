// The screens a factory runs on, in Chinese and English: every visible string from the
// catalogues, reason codes in words with the next action, the operator's scan-to-slot
// habits, held verdicts with their crops and LED timeline, kiosk mode, focus and reduced
// motion. Playwright-core drives Debian's chromium against web_test_line_server. Run by
// CTest (browser_screens); restarts.test.mjs has the screens across restarts and first run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as harness from './harness.mjs';
import { loadChromium, LINE_SERVER, CHROMIUM, CHROMIUM_ARGS, addUser, startServer, stopServer, untilText,
         until, login, catalogue } from './harness.mjs';

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

const pageIn = (locale, options) => harness.pageIn(browser, locale, options);

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
    // Where the results stand on their way to the fleet and the MES (none configured here).
    await untilText(page, '#sinks', words.supervisor.sinks_none);
    const hourLabel = await page.evaluate(() => window.lsCharts.hourly.data.labels[0]);
    const hourMs = await page.evaluate(() => lsCharts.hourly.data.labels.length);
    assert.ok(hourMs > 0, 'the seeded units give hours to label');
    // Dates as the language writes them: the hour labels and the time the numbers are from.
    const computed = await page.textContent('#computed');
    if (lang === 'en') {
      assert.match(hourLabel, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{2}\s(AM|PM)$/, `hour label ${hourLabel}`);
      assert.match(computed, /\b\d{1,2}\/\d{1,2}\/\d{4}, \d{1,2}:\d{2}:\d{2}\s(AM|PM)\b/, computed);
    }
    if (lang === 'zh-CN') {
      assert.match(computed, /\b\d{4}\/\d{1,2}\/\d{1,2} \d{2}:\d{2}:\d{2}\b/, computed);
      assert.match(hourLabel, /[\u4e00-\u9fff]/, `hour label ${hourLabel}`);
      const data = await page.evaluate(() => [...document.querySelectorAll('td')].map(td => td.textContent)
        .concat(lsCharts.pareto.data.labels, [document.querySelector('.who').textContent]));
      assert.deepEqual(await englishWordsLeft(page, data.filter(Boolean).sort((a, b) => b.length - a.length)), []);
    }
    assert.deepEqual(await page.evaluate(() => window.lsMissingKeys), []);
    await page.context().close();
  });
}

// From the browser's language to the other one and back, on every page, each way round.
for (const [locale, from, to] of [['en-US', 'en', 'zh-CN'], ['zh-CN', 'zh-CN', 'en']]) {
  test(`the language switch on every page changes the words at once and is remembered (${from} browser)`, async () => {
    const page = await pageIn(locale);
    const [a, b] = [catalogue(from), catalogue(to)];
    await page.goto(base + '/index.html');
    await until(page, (t) => document.getElementById('submit').textContent === t, 5000, a.login.submit);
    await page.selectOption('select.language', to);
    await untilText(page, '#submit', b.login.submit);
    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A1"]');
    // The page that follows keeps the pick, over the browser's language.
    await until(page, (t) => document.getElementById('start').textContent === t, 5000, b.operator.start);
    await untilText(page, '.slot[data-slot="A1"] [data-do="reload"]', b.operator.reload);
    await page.selectOption('header select.language', from);
    await untilText(page, '#start', a.operator.start);
    await untilText(page, '.slot[data-slot="A1"] [data-do="reload"]', a.operator.reload);
    await untilText(page, '.slot[data-slot="A1"] .step', a.step.idle);
    // The switch leaves the focus where a scanner needs it.
    await until(page, () => document.activeElement.id === 'scan', 2000);
    await page.goto(base + '/qr.html');
    await until(page, (t) => document.title === t, 5000, a.qr.title);
    await page.selectOption('select.language', to);
    await until(page, (t) => document.title === t, 5000, b.qr.title);
    // The supervisor's page too: its own words and the charts it drew, redrawn.
    await page.evaluate(() => { ls.logout(); });
    await page.waitForURL(/index\.html/);
    await login(page, base, 'sup');
    await page.waitForURL(/supervisor\.html/);
    await until(page, () => window.lsCharts && window.lsCharts.hourly);
    await untilText(page, '#scope button.primary', b.supervisor.scope.apply);
    await page.selectOption('header select.language', from);
    await untilText(page, '#scope button.primary', a.supervisor.scope.apply);
    await until(page, (t) => lsCharts.hourly.data.datasets[0].label === t, 5000, a.supervisor.ds.attempts);
    await untilText(page, '#table-yield th[data-column="product"]', a.column.product);
    await page.context().close();
  });
}

for (const [locale, lang, n] of [['zh-CN', 'zh-CN', '0'], ['en-US', 'en', '1']]) {
  test(`${lang}: a batch of scanned pairs, a FAIL in words with its next action, then "Load next unit"`, async () => {
    const words = catalogue(lang);
    const [bad, good, next, gateway] = [`BAD-01${n}1`, `GOOD-01${n}2`, `GOOD-01${n}3`, `GW-01${n}4`];
    const page = await pageIn(locale);
    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A4"]');
    for (const code of ['A1', bad, 'A2', good, 'A3', gateway]) {
      await page.fill('#scan', code);
      await page.press('#scan', 'Enter');
    }
    await page.click('#start');
    await until(page, () => document.activeElement.id === 'scan', 2000);
    const a1 = '.slot[data-slot="A1"]';
    // A wired gateway's tile says where the LAN found it (/api/slots' "discovered"); the others say nothing.
    await untilText(page, '.slot[data-slot="A3"] .discovered',
                    words.operator.discovered.replace('{{device_id}}', gateway).replace('{{ip}}', '192.0.2.13'), 30000);
    assert.equal(await page.isVisible(`${a1} .discovered`), false);
    await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === 'FAIL', 30000, a1);
    await untilText(page, `${a1} .serial`, bad);
    await untilText(page, `${a1} .verdict`, words.verdict.FAIL);
    const why = words.reason.never_ready_after_unbind;
    await untilText(page, `${a1} .reason`, why.text);
    await untilText(page, `${a1} .next-action`, words.operator.next_action.replace('{{action}}', why.action));
    // Screen readers hear the verdict with its reason and next action.
    await until(page, () => document.getElementById('announcer').textContent.includes('A1'), 5000)
      .catch(async (e) => { throw new Error(`${e.message}: announcer "${await page.textContent('#announcer')}"`); });
    await until(page, () => document.getElementById('announcer').textContent.includes('A2'), 30000);
    const heard = await page.evaluate(() => [...document.querySelectorAll('#announcer p')].map(p => p.textContent));
    assert.ok(heard.includes(words.operator.slot_announce_fail.replace('{{slot}}', 'A1').replace('{{verdict}}', words.verdict.FAIL)
      .replace('{{reason}}', why.text).replace('{{action}}', why.action)), heard.join(' | '));
    assert.ok(heard.includes(words.operator.slot_announce_pass.replace('{{slot}}', 'A2')), heard.join(' | '));
    assert.equal(await page.getAttribute('#announcer', 'aria-live'), 'assertive');
    // The slot has its verdict while the batch runs: "Load next unit" picks it for the next scan.
    assert.equal(await page.isVisible(`${a1} [data-do="load-next"]`), true);
    await untilText(page, `${a1} [data-do="load-next"]`, words.operator.load_next);
    await page.click(`${a1} [data-do="load-next"]`);
    await until(page, () => document.activeElement.id === 'scan', 2000);
    await untilText(page, '#scan-hint', words.operator.scan_hint_unit.replace('{{slot}}', 'A1'));
    // The big FAIL with its reason stays until that next scan.
    await untilText(page, `${a1} .verdict`, words.verdict.FAIL);
    await untilText(page, `${a1} .reason`, why.text);
    await page.keyboard.type(next);
    await page.keyboard.press('Enter');
    // The next scan on the slot ends the held FAIL; the new unit runs and passes.
    await untilText(page, `${a1} .serial`, next, 5000);
    await untilText(page, '#error', '');
    await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === '', 5000, a1);
    await until(page, (sel) => document.querySelector(`${sel} .verdict`).dataset.verdict === 'PASS', 30000, a1);
    // A serial already in a slot is refused with a message, never loaded twice.
    await until(page, () => document.querySelector('.slot[data-slot="A2"] .verdict').dataset.verdict === 'PASS', 30000);
    for (const code of ['A2', next]) {
      await page.fill('#scan', code);
      await page.press('#scan', 'Enter');
    }
    await untilText(page, '#error', words.operator.scan_duplicate_slot.replace('{{serial}}', next).replace('{{slot}}', 'A1'));
    await page.evaluate(() => ls.api('POST', '/api/batch/stop'));
    await until(page, () => batch.state !== 'running', 10000);
    await page.context().close();
  });
}

// A text as a RegExp that matches it literally.
const literally = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const [locale, lang, other, serials] of [['zh-CN', 'zh-CN', 'en', '03'], ['en-US', 'en', 'zh-CN', '04']]) {
  test(`${lang}: the held verdict shows the crops that decided it and the LED timeline in words; the station's refusals in words`, async () => {
    const words = catalogue(lang);
    const led = words.led;
    const steadyRed = led.steady.replace('{{color}}', led.color.red);
    const readyBlink = led.blink_hz.replace('{{color}}', led.color.red).replace('{{hz}}', '2');
    const greenBlink = led.blink.replace('{{color}}', led.color.green);
    const caption = (moment, reading) => words.evidence.caption.replace('{{moment}}', words.evidence.moment[moment])
      .replace('{{led}}', reading);
    const timelineStart = words.evidence.timeline.split('{{steps}}')[0];
    // Words of the other language left in a text: Latin words on a Chinese page, Chinese on an English one.
    const foreign = (text) => text.match(lang === 'en' ? /[\u4e00-\u9fff]+/g : /[A-Za-z]{2,}/g);
    const first = `GOOD-${serials}01`, second = `GOOD-${serials}02`;
    const page = await pageIn(locale);
    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A3"]');
    for (const code of ['A3', first]) {
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
    await untilText(page, `${a3} figure[data-moment="ready"] figcaption`, caption('ready', readyBlink));
    await untilText(page, `${a3} figure[data-moment="green"] figcaption`, new RegExp(`^${literally(caption('green', greenBlink))}`));
    const alt = await page.getAttribute(`${a3} figure[data-moment="final"] img`, 'alt');
    assert.ok(alt.startsWith(words.evidence.crop_alt.split('{{led}}')[0].replace('{{moment}}', words.evidence.moment.final)), alt);
    // The LED timeline in words: steady red, then the ready blink, green, ready again.
    const timeline = await untilText(page, `${a3} .led-timeline`, new RegExp(`^${literally(timelineStart)}`));
    assert.match(timeline, new RegExp([steadyRed, readyBlink, greenBlink, readyBlink].map(literally).join('.*')));
    assert.deepEqual(foreign(timeline.replace(/Wi-Fi/g, '')), null, timeline);
    // The crops are for signed-in users only: another browser without a session gets none.
    const src = await page.getAttribute(`${a3} figure[data-moment="final"] img`, 'src');
    const stranger = await browser.newContext();
    assert.equal((await stranger.request.get(base + src)).status(), 401);
    assert.equal((await page.context().request.get(base + src)).status(), 200);
    await stranger.close();
    // A refusal only the station can know (the unit was judged in this batch) in words:
    // A3 takes the next unit, then the first is scanned into A4 after its verdict.
    await until(page, () => document.querySelector('.slot[data-slot="A4"] .verdict').dataset.verdict !== '', 30000);
    const scan = async (code) => { await page.fill('#scan', code); await page.press('#scan', 'Enter'); };
    await scan('A3');
    await scan(second);
    await untilText(page, '#scan-hint', words.operator.scan_loaded.replace('{{serial}}', second).replace('{{slot}}', 'A3'));
    await until(page, (serial) => slots.get('A3')?.unit_serial === serial, 5000, second);
    await scan('A4');
    await scan(first);
    await untilText(page, '#error', words.error.serial_judged.replace('{{serial}}', first));
    // The switch redraws it in the other language, from the same code.
    await page.selectOption('select.language', other);
    await untilText(page, '#error', catalogue(other).error.serial_judged.replace('{{serial}}', first));
    await page.selectOption('select.language', lang);
    // Stopping twice: the second is refused with the station's code, said in words.
    await page.evaluate(() => ls.api('POST', '/api/batch/stop'));
    await until(page, () => batch.state !== 'running', 10000);
    await page.evaluate(() => act('POST', '/api/batch/stop'));
    await untilText(page, '#error', words.error.no_batch);
    await page.context().close();

    // The supervisor's unit history shows the same crops beside the LED timeline chart.
    const sup = await pageIn(locale);
    await login(sup, base, 'sup');
    await sup.waitForURL(/supervisor\.html/);
    await sup.fill('#serial', first);
    await sup.click('#unit-form button');
    await until(sup, () => [...document.querySelectorAll('#unit-crops .evidence img')]
      .filter(i => i.complete && i.naturalWidth > 0).length === 3, 10000);
    await untilText(sup, '#unit-crops h3', words.supervisor.attempt_evidence.replace('{{attempt}}', '1'));
    assert.deepEqual(await sup.$$eval('#unit-crops figure', fs => fs.map(f => f.dataset.moment)), ['ready', 'green', 'final']);
    await untilText(sup, '#unit-crops figure[data-moment="ready"] figcaption', caption('ready', readyBlink));
    await untilText(sup, '#unit-crops .led-timeline', new RegExp(`^${literally(timelineStart)}.*${literally(readyBlink)}`));
    assert.equal(await sup.getAttribute('#chart-led', 'aria-label'), words.supervisor.led_timeline);
    // A serial never tested: the API's code in words.
    await sup.fill('#serial', 'NEVER-SEEN');
    await sup.click('#unit-form button');
    await untilText(sup, '#unit-error', words.error.no_unit.replace('{{serial}}', 'NEVER-SEEN'));
    await sup.context().close();
  });
}

for (const [locale, lang] of [['zh-CN', 'zh-CN'], ['en-US', 'en']]) {
  test(`${lang}: an operator with no product permitted is told to ask an admin`, async () => {
    const page = await pageIn(locale);
    await login(page, base, 'nobody');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A1"]');
    await page.click('#start');
    await untilText(page, '#error', catalogue(lang).operator.no_product_permitted);
    // The API says the same to any client, before it looks at the fields.
    const answer = await page.evaluate(async () => {
      try { await ls.api('POST', '/api/batch', { recipe: '' }); return 'accepted'; } catch (e) { return `${e.status} ${e.message}`; }
    });
    assert.equal(answer, '403 no product is permitted to you — ask an admin');
    await page.context().close();
  });

  test(`${lang}: kiosk mode, visible focus and reduced motion`, async () => {
    const words = catalogue(lang);
    const page = await pageIn(locale, { reducedMotion: 'reduce' });
    await login(page, base, 'op');
    await page.waitForURL(/operator\.html/);
    await page.waitForSelector('.slot[data-slot="A1"]');
    await untilText(page, '#kiosk', words.common.kiosk_on);
    await page.click('#kiosk');
    await until(page, () => document.fullscreenElement !== null, 5000);
    await untilText(page, '#kiosk', words.common.kiosk_off, 5000);
    await page.click('#kiosk');
    await until(page, () => document.fullscreenElement === null, 5000);
    await untilText(page, '#kiosk', words.common.kiosk_on, 5000);
    // The focused control shows a 4 px outline.
    await page.focus('#scan');
    assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement).outlineWidth), '4px');
    // No blinking with reduced motion: the LED's words carry the pattern.
    const blinking = () => render({ ...slots.get('A1'), led_color: 'red', led_pattern: 'blink', led_freq_hz: 2 });
    const animation = () => getComputedStyle(document.querySelector('.slot[data-slot="A1"] .led')).animationName;
    await page.evaluate(blinking);
    assert.equal(await page.evaluate(animation), 'none');
    await untilText(page, '.slot[data-slot="A1"] .led-words',
                    words.led.blink_hz.replace('{{color}}', words.led.color.red).replace('{{hz}}', '2'));
    // Without the wish for reduced motion the same LED does blink on the screen.
    const moving = await pageIn(locale);
    await login(moving, base, 'op');
    await moving.waitForURL(/operator\.html/);
    await moving.waitForSelector('.slot[data-slot="A1"]');
    await moving.evaluate(blinking);
    assert.equal(await moving.evaluate(animation), 'blink');
    await moving.context().close();
    await page.context().close();
  });
}
