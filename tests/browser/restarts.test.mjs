// The screens across restarts and first run, in Chinese and English: the station config's
// language and the login page's first-admin command, a lost connection or session said in
// words on the operator page, the QR kiosk across a `serve` restart without a login. Each
// test starts its own `station serve` or web_test_line_server. Run by CTest (browser_restarts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as harness from './harness.mjs';
import { loadChromium, STATION, LINE_SERVER, CHROMIUM, CHROMIUM_ARGS, addUser, startServer, stopServer, untilText,
         until, login, freePort, decodeQr, catalogue } from './harness.mjs';

const chromium = loadChromium();
const work = mkdtempSync(join(tmpdir(), 'ls-restarts-'));
let browser;

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  rmSync(work, { recursive: true, force: true });
});

const pageIn = (locale, options) => harness.pageIn(browser, locale, options);

// An admin signs in and makes a display token; its kiosk link.
async function displayLink(admin, url) {
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
  return link;
}

// The code on the kiosk's screen, read by a camera's stand-in (jsQR on a screenshot).
async function codeOn(kiosk) {
  await kiosk.waitForSelector('#code:not([hidden])', { timeout: 60000 });
  return decodeQr(kiosk.context(), await kiosk.locator('#code').screenshot());
}

// The config's language over the browser's, each way round.
for (const [configured, browserLocale, browserLang] of [['zh-CN', 'en-US', 'en'], ['en', 'zh-CN', 'zh-CN']]) {
  test(`the station config sets the language (${configured} in a ${browserLocale} browser); on first run the login page says how to make the first admin`, async () => {
    const serveDb = join(work, `serve-${configured}.db`);
    const config = join(work, `station-${configured}.json`);
    writeFileSync(config, JSON.stringify({ schema: 1, station: { id: 'st-lang', name: 'Line 3' }, store: { path: serveDb },
      http: { port: 0 }, ui: { language: configured } }));
    const started = startServer(STATION, ['serve', '--config', config, '--port', '0']);
    try {
      const url = await started.url;
      const page = await pageIn(browserLocale);
      await page.goto(url + '/index.html');
      await until(page, (t) => document.getElementById('submit').textContent === t, 5000, catalogue(configured).login.submit);
      assert.equal(await page.evaluate(() => document.documentElement.lang), configured);
      // First run: no user yet. The login page and serve's own output give the exact command,
      // into the store this station reads; running it as shown makes an admin who logs in.
      await page.waitForSelector('#first-run:not([hidden])');
      const command = await page.textContent('#first-run-command');
      assert.ok(command.endsWith(`--db ${serveDb}`), command);
      await untilText(page, '#first-run-store', catalogue(configured).login.first_admin_store.replace('{{store}}', serveDb));
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
      await page.selectOption('select.language', browserLang);
      await page.reload();
      await until(page, (t) => document.getElementById('submit').textContent === t, 5000, catalogue(browserLang).login.submit);
      await page.context().close();
    } finally {
      await stopServer(started.child);
    }
  });
}

for (const [locale, lang] of [['zh-CN', 'zh-CN'], ['en-US', 'en']]) {
  test(`${lang}: a lost connection and a lost session are said in words on the operator page`, async () => {
    const lineDb = join(work, `lost-${lang}.db`);
    addUser(lineDb, 'op', 'operator', 'cam-a');
    const line = startServer(LINE_SERVER, ['--db', lineDb, '--port', '0', '--step', '0.4']);
    const url = await line.url;
    const words = catalogue(lang);
    const page = await pageIn(locale);
    try {
      await login(page, url, 'op');
      await page.waitForURL(/operator\.html/);
      await page.waitForSelector('.slot[data-slot="A1"]');
      await until(page, (t) => document.getElementById('link-words').textContent === t, 5000, words.common.connection_up);
      assert.equal(await page.isHidden('#banner'), true);
      // The session ends elsewhere (a logout in another tab): the page says so and offers a login.
      const other = await page.context().newPage();
      await other.goto(url + '/qr.html');
      await until(other, () => ls.session !== null);
      // Not awaited in the page: the logout navigates away from the page that runs it.
      await other.evaluate(() => { ls.logout(); });
      await other.waitForURL(/index\.html/);
      await until(page, () => !document.getElementById('banner').hidden, 10000);
      await untilText(page, '#banner-text', words.common.session_lost);
      assert.equal(await page.isVisible('#banner-login'), true);
      await other.close();
      // Log in again, then the station goes away: the page says the connection is lost.
      await login(page, url, 'op');
      await page.waitForURL(/operator\.html/);
      await until(page, (t) => document.getElementById('link-words').textContent === t, 5000, words.common.connection_up);
      await stopServer(line.child);
      await until(page, () => !document.getElementById('banner').hidden, 10000);
      await untilText(page, '#banner-text', words.common.connection_lost);
      await untilText(page, '#link-words', words.common.connection_down);
    } finally {
      await page.context().close();
      await stopServer(line.child);
    }
  });
}

// The kiosk in each language, its admin in the other.
for (const [kioskLocale, kioskLang, adminLocale] of [['zh-CN', 'zh-CN', 'en-US'], ['en-US', 'en', 'zh-CN']]) {
  test(`${kioskLang}: the QR kiosk keeps showing the live code across a serve restart, and nobody is logged out`, { timeout: 180000 }, async () => {
    const serveDb = join(work, `kiosk-${kioskLang}.db`);
    addUser(serveDb, 'boss', 'admin');
    const port = await freePort();
    const args = ['serve', '--port', String(port), '--db', serveDb, '--batch', 'unbind:tuya-ipc-camera'];
    let station = startServer(STATION, args);
    const url = await station.url;
    const admin = await pageIn(adminLocale);
    const kiosk = await pageIn(kioskLocale);
    const visited = [];
    kiosk.on('framenavigated', (f) => { if (f === kiosk.mainFrame()) visited.push(f.url()); });
    const shownCode = () => codeOn(kiosk);
    try {
      const link = await displayLink(admin, url);
      // The kiosk has no login: the link's token is all it holds, and the fragment is gone
      // from the address bar once kept.
      await kiosk.goto(url + link);
      const first = JSON.parse(await shownCode());
      assert.deepEqual(Object.keys(first).sort(), ['p', 's', 't']);
      assert.equal(new URL(kiosk.url()).hash, '');
      assert.deepEqual(await kiosk.context().cookies(), []);

      await stopServer(station.child);
      // While the station is away the kiosk says so in words and shows no stale code.
      await until(kiosk, (t) => document.getElementById('status').textContent === t, 15000, catalogue(kioskLang).qr.unreachable);
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
                  catalogue(kioskLang).qr.display_token_refused);
      assert.equal(await kiosk.isHidden('#code'), true);
      assert.ok(visited.every(u => u.includes('/qr.html')));
    } finally {
      await admin.context().close();
      await kiosk.context().close();
      await stopServer(station.child);
    }
  });
}

// A shift later: the server's clock jumps 12 h (web_test_line_server --jump-s, SIGUSR1).
for (const [kioskLocale, kioskLang, opLocale, opLang] of [['zh-CN', 'zh-CN', 'en-US', 'en'], ['en-US', 'en', 'zh-CN', 'zh-CN']]) {
  test(`${kioskLang}: 12 h on, the QR kiosk still shows the live code and never a login page, and the operator page (${opLang}) says its session has ended`, { timeout: 120000 }, async () => {
    const lineDb = join(work, `shift-${kioskLang}.db`);
    addUser(lineDb, 'boss', 'admin');
    addUser(lineDb, 'op', 'operator', 'cam-a');
    const line = startServer(LINE_SERVER, ['--db', lineDb, '--port', '0', '--step', '0.4', '--qr-every', '2',
      '--jump-s', String(12 * 3600 + 60)]);
    const url = await line.url;
    const admin = await pageIn(opLocale);
    const kiosk = await pageIn(kioskLocale);
    const op = await pageIn(opLocale);
    const visited = [];
    kiosk.on('framenavigated', (f) => { if (f === kiosk.mainFrame()) visited.push(f.url()); });
    try {
      // The operator starts a batch (the kiosk shows codes while one runs).
      await login(op, url, 'op');
      await op.waitForURL(/operator\.html/);
      await op.waitForSelector('.slot[data-slot="A1"]');
      await until(op, (t) => document.getElementById('link-words').textContent === t, 5000, catalogue(opLang).common.connection_up);
      await op.fill('#scan', 'A1');
      await op.press('#scan', 'Enter');
      await op.fill('#scan', 'SHIFT-0001');
      await op.press('#scan', 'Enter');
      await op.click('#start');
      const link = await displayLink(admin, url);
      await kiosk.goto(url + link);
      const before = await codeOn(kiosk);

      line.child.kill('SIGUSR1');
      const deadline = Date.now() + 5000;
      while (!line.output().includes('clock moved') && Date.now() < deadline) await new Promise(r => setTimeout(r, 50));
      assert.ok(line.output().includes('clock moved'), line.output());
      // Sessions end after 12 h; the operator page notices by itself and says so.
      await until(op, () => !document.getElementById('banner').hidden, 20000);
      await untilText(op, '#banner-text', catalogue(opLang).common.session_lost);
      assert.equal(await admin.evaluate(async () => (await fetch('/api/session')).status), 401);
      // The kiosk shows the codes that come after the jump, and never went to a login page.
      let after = before;
      for (let i = 0; i < 40 && after === before; ++i) {
        await new Promise(r => setTimeout(r, 250));
        after = await codeOn(kiosk);
      }
      assert.notEqual(after, before, 'the kiosk showed no new code after 12 h');
      assert.match(JSON.parse(after).t, /^[A-Za-z0-9]{14}$/);
      const status = await kiosk.textContent('#status');
      assert.notEqual(status, catalogue(kioskLang).qr.unreachable);
      assert.notEqual(status, catalogue(kioskLang).qr.display_token_refused);
      assert.ok(visited.every(u => u.includes('/qr.html')), `kiosk went to ${visited}`);
      assert.deepEqual(await kiosk.context().cookies(), []);
    } finally {
      await admin.context().close();
      await kiosk.context().close();
      await op.context().close();
      await stopServer(line.child);
    }
  });
}
