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
      try { message = JSON.parse(answer).error || message; } catch (e) { /* not JSON */ }
      const err = new Error(message);
      err.status = r.status;
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
