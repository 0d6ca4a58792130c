// What the browser tests share: servers started as processes on a free port, users made
// with `station user add`, the store read with sqlite3, polling a page without eval.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';

const require = createRequire(import.meta.url);

// playwright-core, or exit 77 (CTest's skip) when `npm ci` has not run in tests/browser.
export function loadChromium() {
  try {
    return require('playwright-core').chromium;
  } catch (e) {
    console.error('playwright-core is not installed: run `npm ci` in tests/browser (make test does)');
    process.exit(77);
  }
}

export const STATION = process.env.LS_STATION;
export const LINE_SERVER = process.env.LS_LINE_SERVER;
export const CHROMIUM = process.env.LS_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function addUser(db, login, role, products) {
  const args = ['user', 'add', '--login', login, '--role', role, '--password-stdin', '--db', db];
  if (products) args.push('--products', products);
  execFileSync(STATION, args, { input: `${login}-password\n` });
}

export function sql(db, query) {
  return execFileSync('sqlite3', ['-separator', '|', db, query], { encoding: 'utf8' })
    .trim().split('\n').filter(Boolean).map(l => l.split('|'));
}

// Starts a server process and resolves with its base URL from the "listening on" line.
export function startServer(program, args, options = {}) {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
  let out = '';
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.]+:\d+)\//);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`${program} exited with ${code}`)));
    // unref: once started, the timer must not keep the test process alive at its end.
    setTimeout(() => reject(new Error(`${program} did not start`)), 20000).unref();
  });
  return { child, url, output: () => out };
}

// Ends a server started here and waits until it has gone (its port is free again); one
// that has not stopped 10 s after SIGTERM is killed.
export function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', () => { clearTimeout(force); resolve(); });
    child.kill('SIGTERM');
  });
}

// Polls `fn` in the page until it is truthy. (page.waitForFunction compiles its predicate
// with eval, which the dashboard's Content-Security-Policy rightly forbids.)
export async function until(page, fn, timeoutMs = 15000, arg = undefined) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${fn}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

// Waits until the element's text is `expected` (a string, or a RegExp it matches), then
// returns it. A page fills most text after a fetch, so reading it once right after an action
// races the page; on timeout the error says what the text was.
export async function untilText(page, selector, expected, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await page.textContent(selector);
    if (expected instanceof RegExp ? expected.test(text ?? '') : text === expected) return text;
    if (Date.now() > deadline) {
      throw new Error(`${selector}: waited ${timeoutMs} ms for ${expected}, the text is ${JSON.stringify(text)}`);
    }
    await new Promise(r => setTimeout(r, 100));
  }
}

// Reads report tables off a page. `specs`: {name: [element id, key column or columns,
// value columns]}, each giving {key: value, or [values] for several}, with several key
// cells joined by '/' and the numbers read as the page wrote them (digits, sign, point).
// A table not drawn reads as {}.
export async function readTables(page, specs) {
  return page.evaluate((specs) => {
    const read = ([id, keys, values]) => {
      const table = document.querySelector(`#${id} table`);
      if (!table) return {};
      const heads = [...table.querySelectorAll('th')].map(th => th.dataset.column);
      const number = (text) => Number(text.replace(/[^\d.-]/g, ''));
      return Object.fromEntries([...table.querySelectorAll('tr')].slice(1).map(tr => {
        const cells = [...tr.children].map(td => td.textContent);
        const picked = values.map(v => number(cells[heads.indexOf(v)]));
        return [[].concat(keys).map(k => cells[heads.indexOf(k)]).join('/'), picked.length === 1 ? picked[0] : picked];
      }));
    };
    return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, read(spec)]));
  }, specs);
}

// A page in a new context of `browser` whose language is `locale` (navigator.languages and
// Accept-Language).
export async function pageIn(browser, locale, options = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 }, ...options });
  return context.newPage();
}

// The pages' words in `lang` (web/ui/locales).
export function catalogue(lang) {
  return JSON.parse(readFileSync(new URL(`../../web/ui/locales/${lang}.json`, import.meta.url), 'utf8'));
}

export async function login(page, base, user) {
  await page.goto(base + '/index.html');
  await page.fill('#user', user);
  await page.fill('#password', `${user}-password`);
  await page.click('#submit');
}

// A port that was free a moment ago, for a server that must come back on the same one.
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
  });
}

// Decodes a PNG screenshot with jsQR in a blank page of `browser` (a canvas gives the pixels).
export async function decodeQr(context, png) {
  const jsQrSource = readFileSync(require.resolve('jsqr/dist/jsQR.js'), 'utf8');
  const decoder = await context.newPage();
  try {
    await decoder.addScriptTag({ content: jsQrSource });
    return await decoder.evaluate(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width; c.height = img.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height);
      const code = jsQR(px.data, px.width, px.height);
      return code ? code.data : null;
    }, png.toString('base64'));
  } finally {
    await decoder.close();
  }
}
