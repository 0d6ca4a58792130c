// Shared by every page: the language, the session, API calls with the CSRF token, the
// live socket.
'use strict';

const ls = {
  session: null,
  health: null,
  lang: 'en',
  languages: { en: 'English', 'zh-CN': '简体中文' },

  // The page's language: the one picked on this browser with the switch, else the station
  // config's (`ui.language`), else the browser's first that we have, else English. Every
  // visible string then comes from locales/<lang>.json through i18next.
  async startLanguage() {
    const known = (l) => {
      if (!l) return null;
      if (ls.languages[l]) return l;
      const base = String(l).toLowerCase().split('-')[0];
      return base === 'zh' ? 'zh-CN' : base === 'en' ? 'en' : null;
    };
    try {
      ls.health = await (await fetch('/api/health', { cache: 'no-store' })).json();
    } catch (e) { ls.health = null; }
    let picked = null;
    try { picked = localStorage.getItem('ls_language'); } catch (e) { /* storage off */ }
    ls.lang = known(picked) || known(ls.health && ls.health.language) ||
      (navigator.languages || [navigator.language]).map(known).find(Boolean) || 'en';
    const resources = {};
    for (const l of Object.keys(ls.languages)) {
      resources[l] = { translation: await (await fetch(`/locales/${l}.json`, { cache: 'no-cache' })).json() };
    }
    window.lsMissingKeys = [];
    await i18next.init({
      lng: ls.lang, fallbackLng: false, resources, returnNull: false,
      // Texts go into textContent, never innerHTML: nothing to escape.
      interpolation: { escapeValue: false },
      saveMissing: true,
      missingKeyHandler: (lngs, ns, key) => window.lsMissingKeys.push(key),
    });
    ls.applyLanguage(document);
    for (const select of document.querySelectorAll('select.language')) {
      select.replaceChildren(...Object.entries(ls.languages).map(([l, name]) =>
        ls.el('option', l === ls.lang ? { value: l, selected: '' } : { value: l }, name)));
      select.setAttribute('aria-label', ls.t('common.language'));
      select.addEventListener('change', () => ls.switchLanguage(select.value));
    }
  },

  t(key, options) { return i18next.t(key, options); },

  // Static texts: data-i18n="key" sets the text, data-i18n-attr="placeholder:key,title:key"
  // sets attributes.
  applyLanguage(root) {
    document.documentElement.lang = ls.lang;
    for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = ls.t(e.dataset.i18n);
    for (const e of root.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of e.dataset.i18nAttr.split(',')) {
        const [attr, key] = pair.split(':');
        e.setAttribute(attr.trim(), ls.t(key.trim()));
      }
    }
  },

  languageListeners: [],
  onLanguage(fn) { ls.languageListeners.push(fn); },
  async switchLanguage(l) {
    try { localStorage.setItem('ls_language', l); } catch (e) { /* storage off */ }
    ls.lang = l;
    await i18next.changeLanguage(l);
    ls.applyLanguage(document);
    ls.showWho();
    for (const s of document.querySelectorAll('select.language')) s.value = l;
    for (const fn of ls.languageListeners) fn();
  },

  // A reason code in words and the operator's next action; the code itself stays in the
  // API and the store.
  reason(code) {
    if (!code) return { text: '', action: '' };
    const key = code.startsWith('station restarted') ? 'station_restarted' : code;
    if (/^[a-z_]+$/.test(key) && i18next.exists(`reason.${key}.text`)) {
      return { text: ls.t(`reason.${key}.text`), action: ls.t(`reason.${key}.action`) };
    }
    return { text: ls.t('reason.unknown.text', { code }), action: ls.t('reason.unknown.action') };
  },

  // A refusal of the API in the page's words: its code's catalogue entry with the values
  // it names ({ key, options }, redrawn on a language switch), else its own text.
  refusal(e) {
    if (e && e.code && /^[a-z_]+$/.test(e.code) && i18next.exists(`error.${e.code}`)) {
      return { key: `error.${e.code}`, options: e.params || {} };
    }
    return { text: e && e.message ? e.message : String(e) };
  },

  // The same as text, for a page that shows it once.
  refusalText(e) {
    const said = ls.refusal(e);
    return said.key ? ls.t(said.key, said.options) : said.text;
  },

  // The LED in words, so an alternating red/green is never read as red from its colour.
  // `r`: {color, pattern, freq_hz, state} as the API and the store give a reading.
  ledWords(r) {
    const colors = String(r.color || 'off').split('/');
    const c = (k) => ls.t(/^[a-z]+$/.test(k) && i18next.exists(`led.color.${k}`) ? `led.color.${k}` : 'led.color.unknown');
    const hz = r.freq_hz ? ls.number(r.freq_hz, { maximumFractionDigits: 1 }) : null;
    const pattern = r.pattern || 'off';
    let words;
    if (pattern === 'off' || colors[0] === 'off') words = ls.t('led.off');
    else if (pattern === 'steady') words = ls.t('led.steady', { color: c(colors[0]) });
    else if (pattern === 'blink') words = ls.t(hz ? 'led.blink_hz' : 'led.blink', { color: c(colors[0]), hz });
    else if (pattern === 'alternate') {
      words = ls.t(hz ? 'led.alternate_hz' : 'led.alternate', { first: c(colors[0]), second: c(colors[1] || colors[0]), hz });
    } else words = ls.t('led.unknown', { color: c(colors[0]), pattern });
    if (r.state) {
      const key = `led.state.${r.state}`;
      words += ' · ' + (/^[a-z_]+$/.test(r.state) && i18next.exists(key) ? ls.t(key) : r.state);
    }
    return words;
  },

  // A verdict's evidence (GET /api/evidence/{unit}): each moment's crop of the slot with the
  // LED reading then, and the unit's LED timeline in words (from the final moment).
  evidenceView(answer) {
    const box = ls.el('div', { class: 'evidence', 'data-unit': String(answer.unit_id || '') });
    const figures = ls.el('div', { class: 'crops' });
    let timeline = null;
    for (const e of answer.evidence || []) {
      const moment = /^[a-z]+$/.test(e.moment) && i18next.exists(`evidence.moment.${e.moment}`)
        ? ls.t(`evidence.moment.${e.moment}`) : e.moment;
      const reading = ls.ledWords(e.led || {});
      const picture = e.image
        ? ls.el('img', { src: e.image, alt: ls.t('evidence.crop_alt', { moment, led: reading }), 'data-moment': e.moment })
        : ls.el('span', { class: 'no-crop', 'data-moment': e.moment }, ls.t(e.pruned_ms ? 'evidence.pruned' : 'evidence.no_crop'));
      figures.append(ls.el('figure', { 'data-moment': e.moment }, picture,
        ls.el('figcaption', {}, ls.t('evidence.caption', { moment, led: reading }))));
      if (e.moment === 'final' && Array.isArray(e.led && e.led.timeline)) {
        const start = Number(e.led.started_s) || 0;
        const steps = e.led.timeline.map(r => ls.t('evidence.timeline_step', {
          t: ls.number(Math.max(0, (r.since ?? r.t ?? start) - start), { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
          led: ls.ledWords(r) }));
        timeline = ls.el('p', { class: 'led-timeline' }, ls.t('evidence.timeline', { steps: steps.join(' → ') }));
      }
    }
    box.append(figures);
    if (timeline) box.append(timeline);
    if (!figures.children.length) box.append(ls.el('p', {}, ls.t('evidence.none')));
    return box;
  },

  number(n, options) { return new Intl.NumberFormat(ls.lang, options).format(n); },
  seconds(s) { return ls.t('common.seconds', { value: ls.number(Math.round(s)) }); },

  async api(method, path, body) {
    const text = await ls.apiText(method, path, body === undefined ? undefined : JSON.stringify(body));
    try { return text ? JSON.parse(text) : null; } catch (e) { return text; }
  },

  // The answer's text as sent (e.g. a recipe file); `text` goes out as the JSON body unchanged.
  async apiText(method, path, text) {
    const headers = {};
    if (text !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && ls.session) headers['X-CSRF-Token'] = ls.session.csrf_token;
    const r = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', body: text });
    const answer = await r.text();
    if (!r.ok) {
      let message = r.statusText;
      let code = null, params = {};
      try {
        const body = JSON.parse(answer);
        message = body.error || message;
        code = body.code || null;
        params = body.params || {};
      } catch (e) { /* not JSON */ }
      const err = new Error(message);
      err.status = r.status;
      err.code = code;
      err.params = params;
      throw err;
    }
    return answer;
  },

  // The logged-in user, or a trip to the login page.
  async requireSession(roles) {
    try {
      ls.session = await ls.api('GET', '/api/session');
    } catch (e) {
      location.href = '/index.html?next=' + encodeURIComponent(location.pathname);
      return null;
    }
    if (roles && !roles.includes(ls.session.role)) {
      document.body.replaceChildren(ls.el('main', {}, ls.el('h1', {}, ls.t('common.not_for_role')),
        ls.el('p', {}, ls.el('a', { href: '/index.html' }, ls.t('common.back')))));
      return null;
    }
    ls.showWho();
    return ls.session;
  },

  showWho() {
    const who = document.querySelector('.who');
    if (who && ls.session) {
      who.textContent = ls.t('common.who', { login: ls.session.login, role: ls.t(`common.role.${ls.session.role}`) });
    }
  },

  async logout() {
    try { await ls.api('DELETE', '/api/session'); } finally { location.href = '/index.html'; }
  },

  // Opens /api/live and calls onMessage({topic, data}); reconnects after a drop.
  live(onMessage, onState) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/live`);
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onopen = () => onState && onState(true);
    ws.onclose = () => {
      onState && onState(false);
      setTimeout(() => ls.live(onMessage, onState), 1500);
    };
    return ws;
  },

  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  },

  time(ms) { return ms === null || ms === undefined ? '' : new Date(ms).toLocaleString(ls.lang); },
};

// The pages carry no inline event handlers (the CSP refuses them): a button says what it
// does with data-action.
document.addEventListener('click', (ev) => {
  if (ev.target.closest && ev.target.closest('[data-action="logout"]')) ls.logout();
});
