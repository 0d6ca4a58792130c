// Shared by every page: the session, API calls with the CSRF token, the live socket.
'use strict';

const ls = {
  session: null,

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
      document.body.innerHTML = '<main><h1>Not for your role</h1><p><a href="/index.html">back</a></p></main>';
      return null;
    }
    const who = document.querySelector('.who');
    if (who) who.textContent = `${ls.session.login} (${ls.session.role})`;
    return ls.session;
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

  time(ms) { return ms === null || ms === undefined ? '' : new Date(ms).toLocaleString(); },
};

// The pages carry no inline event handlers (the CSP refuses them): a button says what it
// does with data-action.
document.addEventListener('click', (ev) => {
  if (ev.target.closest && ev.target.closest('[data-action="logout"]')) ls.logout();
});
