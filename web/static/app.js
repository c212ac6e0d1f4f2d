// The dispatcher's console: plain ES modules, no framework, no build step, nothing from the internet.
// Everything the server sends is untrusted text: the DOM is built with createElement / textContent /
// setAttribute only, never innerHTML. Pages are hash routes: #/login, #/overview, #/plans,
// #/plans/<planId>, #/flood, #/alerts, #/forecasts, #/history, #/reports, #/reports/<eventId>, #/audit.
import { t, tOr, getLang, setLang, locale, localName, fmtTime, fmtClock, fmtAge, fmtNum, withUnit } from './i18n.js';
import {
  LIVE_STATUSES,
  REPLAN_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  autonomyReason,
  bandProblem,
  constraintItems,
  decisionAccess,
  emergencyReplace,
  dispatchCounts,
  errorInfo,
  floodActionDetail,
  floodDataMissing,
  floodRainOutlook,
  floodReplanOffer,
  isStale,
  parseForecastSource,
  planChange,
  planErrorInfo,
  planEventDetail,
  reportDispatchLines,
  roleAtLeast,
  withRevision,
} from './logic.js';

const SESSION_KEY = 'sewerDispatch.session';
const LIVE_REFRESH_MS = 10_000;
const PLAN_POLL_MS = 3_000;
const PLANS_REFRESH_MS = 10_000;
const COMPONENT_ORDER = ['temporal', 'influxdb', 'opcua', 'forecast'];
const AUDIT_ACTIONS = [
  'auth.login',
  'auth.login.ok',
  'auth.login.failed',
  'auth.login.locked',
  'auth.login.throttled',
  'auth.logout',
  'auth.password.change',
  'auth.password.change.failed',
  'access.forbidden',
  'plan',
  'plan.approve',
  'plan.reject',
  'plan.approve.refused',
  'plan.reject.refused',
  'plan.modify',
  'plan.modify.refused',
  'plan.approve.unknown',
  'plan.reject.unknown',
  'plan.modify.unknown',
  'flood',
  'flood.approve',
  'flood.reject',
  'flood.approve.refused',
  'flood.reject.refused',
  'flood.replan',
  'flood.replan.refused',
  'user',
  'user.create',
  'user.set-role',
  'user.disable',
  'user.enable',
  'user.password.reset',
  'token',
  'token.create',
  'token.revoke',
];
const FORECAST_OLD_MS = 6 * 3_600_000;
const UNIT_M3H = 'm³/h';

const main = document.getElementById('main');

// ---------------------------------------------------------------------------------------------------
// DOM helpers: the only way this file creates markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value));
    else if (name === 'text') el.textContent = String(value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in el) el.value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element; string children become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

/** An SVG element. */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

let uidCounter = 0;
const uid = (prefix) => `${prefix}-${++uidCounter}`;

function badge(kind, text, title) {
  return h('span', { class: ['badge', `badge-${kind}`], title }, text);
}

function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => {
    el.textContent = message;
  }, 50);
}

function setTitle(text) {
  document.title = `${text} · ${t('app.title')}`;
}

// ---------------------------------------------------------------------------------------------------
// Session and API

let session = readSession();
let loginNotice = null;
let returnTo = null;
let networkCache = null;

function readSession() {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw);
    if (!value || typeof value.token !== 'string' || !value.user || typeof value.user.role !== 'string') return null;
    if (typeof value.expiresAtUtcMs === 'number' && value.expiresAtUtcMs <= Date.now()) {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return value;
  } catch {
    return null;
  }
}

function saveSession(value) {
  session = value;
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  } catch {
    // Without storage the session lasts until the tab is reloaded.
  }
}

function clearSession() {
  session = null;
  networkCache = null;
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // Nothing stored.
  }
}

function hasRole(minimum) {
  return !!session && roleAtLeast(session.user.role, minimum);
}

class ApiError extends Error {
  /** `status` 0: no answer (network, or `timeout` after `timeoutMs`); `write`: the request was not a GET. */
  constructor(status, message, body, { timeout = false, timeoutMs = REQUEST_TIMEOUT_MS, write = false } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.timeout = timeout;
    this.timeoutMs = timeoutMs;
    this.write = write;
  }
}

/** The session ended (401): back to the login page with a message, then back here after login. */
function sessionExpired() {
  if (!session) return;
  clearSession();
  loginNotice = { kind: 'warn', text: t('login.expired') };
  if (location.hash.startsWith('#/') && !location.hash.startsWith('#/login')) returnTo = location.hash;
  location.hash = '#/login';
}

function setConnection(ok) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.hidden = ok;
  el.textContent = ok ? '' : t('conn.lost');
}

/**
 * Call the API with the session's bearer token. Resolves with the parsed JSON body; throws ApiError
 * (status 0 for network failures and for no answer within `timeoutMs`) unless the status is ok or listed
 * in `accept`.
 */
async function api(path, { method = 'GET', body, accept = [], timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const headers = { Accept: 'application/json' };
  const token = session?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const init = { method, headers, cache: 'no-store', signal: abort.signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const write = method !== 'GET';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  let response;
  let text = '';
  try {
    response = await fetch(path, init);
    text = await response.text();
  } catch {
    if (timedOut) throw new ApiError(0, `no answer within ${Math.round(timeoutMs / 1000)} s`, null, { timeout: true, timeoutMs, write });
    setConnection(false);
    throw new ApiError(0, t('error.network'), null, { write });
  } finally {
    clearTimeout(timer);
  }
  setConnection(true);
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 401 && token && token === session?.token) {
    sessionExpired();
    throw new ApiError(401, t('login.expired'), data);
  }
  if (!response.ok && !accept.includes(response.status)) {
    const message = data && typeof data.message === 'string' ? data.message : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message, data, { write });
  }
  return data;
}

/**
 * An error as a translated sentence for the dispatcher, and the raw words behind it (the server's message,
 * or the script error) for the "details" fold; null when there is nothing more to say.
 */
function errorParts(error) {
  if (!(error instanceof ApiError)) {
    // A bug in this page, not a failed request: say so, and keep the exception for whoever reports it.
    return { text: t('error.page'), detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  const info = errorInfo({ status: error.status, message: error.message, timeout: error.timeout, write: error.write, timeoutMs: error.timeoutMs });
  const params = { ...info.params };
  if (typeof params.status === 'string') params.status = tOr(`status.${params.status}`, params.status);
  if (typeof params.role === 'string') params.role = tOr(`role.${params.role}`, params.role);
  const detail = error.status > 0 ? `${error.status}${error.body?.error ? ` ${error.body.error}` : ''}: ${error.message}` : error.timeout ? error.message : null;
  return { text: t(info.key, params), detail };
}

/** A message for an error, in the current language (the server's own words go to errorView's details). */
function errorText(error) {
  return errorParts(error).text;
}

/** An error message as an alert: the translated sentence, and the server's text folded under "details". */
function errorView(error, { cls = 'alert alert-error', role = 'alert' } = {}) {
  const { text, detail } = errorParts(error);
  return h('div', { class: cls, role }, h('span', {}, text), detailsOf(detail));
}

function detailsOf(detail) {
  if (!detail) return null;
  return h('details', { class: 'error-details' }, h('summary', {}, t('error.details')), h('code', { class: 'small', lang: 'en' }, detail));
}

/**
 * A notice that survives redraws: `slot` is an element outside the redrawn part of the page. `notice` is
 * { kind: 'ok'|'info'|'warn'|'error', text, detail } or null (cleared); a dismiss button clears it.
 */
function showNotice(slot, notice) {
  if (!notice) {
    slot.replaceChildren();
    slot.hidden = true;
    return;
  }
  const close = h('button', { type: 'button', class: 'btn btn-small notice-close', 'aria-label': t('error.dismiss'), title: t('error.dismiss') }, '×');
  close.addEventListener('click', () => showNotice(slot, null));
  slot.hidden = false;
  slot.replaceChildren(
    h(
      'div',
      { class: ['alert', `alert-${notice.kind}`, 'notice'], role: notice.kind === 'error' || notice.kind === 'warn' ? 'alert' : undefined },
      h('span', { class: 'notice-text' }, notice.text),
      close,
      detailsOf(notice.detail),
    ),
  );
}

/** The notice for a failed request. */
function errorNotice(error) {
  const { text, detail } = errorParts(error);
  return { kind: 'error', text, detail };
}

/**
 * "Updated at" with a stale mark: `mark(ms)` after each good refresh; a check every few seconds marks the
 * line stale once it is older than two refresh intervals (a refresh failing, the network gone).
 */
function freshness(ctx, el, refreshMs, { text = (ms) => t('common.updatedAt', { time: fmtTime(ms, { seconds: true }) }), isLive = () => true } = {}) {
  let at = null;
  let shownAt = null;
  let drawn = '';
  const draw = () => {
    if (at === null) return;
    // A page that no longer refreshes (a closed plan) is not stale: nothing newer will come.
    const stale = isLive() && isStale(at, Date.now(), refreshMs);
    const line = text(shownAt ?? at);
    // The line is a live region: touched only when what it says changes.
    if (`${line}|${stale}` === drawn) return;
    drawn = `${line}|${stale}`;
    el.replaceChildren(line, stale ? h('span', { class: 'stale-text' }, ` · ${t('common.staleData', { s: Math.round((2 * refreshMs) / 1000) })}`) : '');
    el.classList.toggle('is-stale', stale);
  };
  ctx.every(Math.min(5_000, refreshMs), () => {
    draw();
    return true;
  });
  /** `receivedAt`: when this page got the data (for staleness); `displayAt`: the time to show, if another. */
  return (receivedAt = Date.now(), displayAt = null) => {
    at = receivedAt;
    shownAt = displayAt;
    draw();
  };
}

async function loadNetwork() {
  if (!networkCache) networkCache = await api('/api/network');
  return networkCache;
}

// ---------------------------------------------------------------------------------------------------
// Router: one page at a time; leaving a page stops its timers and closes its dialogs.

let page = null;
let pageSeq = 0;

function startPage() {
  const id = ++pageSeq;
  const cleanups = [];
  page = { id, cleanups };
  const alive = () => page?.id === id;
  return {
    alive,
    onCleanup: (fn) => cleanups.push(fn),
    /** Run fn every `ms` after the previous run finished; stops when the page is left or fn returns false. */
    every(ms, fn) {
      let timer;
      const tick = async () => {
        if (!alive()) return;
        let again = true;
        try {
          again = (await fn()) !== false;
        } catch (error) {
          console.error(error);
        }
        if (again && alive()) timer = setTimeout(() => void tick(), ms);
      };
      timer = setTimeout(() => void tick(), ms);
      cleanups.push(() => clearTimeout(timer));
    },
  };
}

function endPage() {
  if (!page) return;
  for (const fn of page.cleanups) {
    try {
      fn();
    } catch (error) {
      console.error(error);
    }
  }
  page = null;
  closeDialog();
}

const routes = [
  { pattern: /^\/login$/, render: renderLogin, public: true },
  { pattern: /^\/overview$/, render: renderOverview },
  { pattern: /^\/plans$/, render: renderPlans },
  { pattern: /^\/plans\/([^/]+)$/, render: renderPlan },
  { pattern: /^\/flood$/, render: renderFlood },
  { pattern: /^\/alerts$/, render: renderAlerts },
  { pattern: /^\/forecasts$/, render: renderForecasts },
  { pattern: /^\/history$/, render: renderHistory },
  { pattern: /^\/reports$/, render: renderReports },
  { pattern: /^\/reports\/([^/]+)$/, render: renderReport },
  { pattern: /^\/audit$/, render: renderAudit },
  { pattern: /^\/account$/, render: renderAccount },
  { pattern: /^\/users$/, render: renderUsers },
];

async function route() {
  const hash = location.hash;
  if (hash === '' || hash === '#' || hash === '#/') {
    location.replace('#/overview');
    return;
  }
  if (!hash.startsWith('#/')) return;
  const path = hash.slice(1).split('?')[0];
  const found = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);

  if (!session && !found?.r.public) {
    returnTo = hash;
    location.replace('#/login');
    return;
  }
  if (session && found?.r.public) {
    location.replace('#/overview');
    return;
  }

  endPage();
  const ctx = startPage();
  renderChrome(path);
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  try {
    if (!found) renderNotFound();
    else await found.r.render(ctx, ...found.m.slice(1).map((part) => decodeURIComponent(part)));
  } catch (error) {
    if (ctx.alive() && !(error instanceof ApiError && error.status === 401)) renderPageError(error);
  } finally {
    if (ctx.alive()) {
      main.removeAttribute('aria-busy');
      const target = main.querySelector('[data-autofocus]') ?? main.querySelector('h1');
      target?.focus({ preventScroll: false });
    }
  }
}

function renderNotFound() {
  setTitle(t('notFound.title'));
  main.append(h('h1', { tabindex: -1 }, t('notFound.title')), h('p', {}, t('notFound.body')), h('p', {}, h('a', { href: '#/overview' }, t('notFound.home'))));
}

function renderPageError(error) {
  setTitle(t('error.pageFailed'));
  if (!(error instanceof ApiError)) console.error(error);
  main.replaceChildren(
    h('h1', { tabindex: -1 }, t('error.pageFailed')),
    errorView(error),
    h('button', { type: 'button', class: 'btn', onclick: () => void route() }, t('error.retry')),
  );
}

/** Header: navigation for the signed-in user's role, the user, language and logout. */
function renderChrome(path) {
  document.documentElement.lang = locale();
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));

  const nav = document.getElementById('nav');
  const links = [
    { href: '#/overview', key: 'nav.overview', active: path === '/overview' },
    { href: '#/plans', key: 'nav.plans', active: path.startsWith('/plans') },
    { href: '#/flood', key: 'nav.flood', active: path === '/flood' },
    { href: '#/alerts', key: 'nav.alerts', active: path === '/alerts' },
    { href: '#/forecasts', key: 'nav.forecasts', active: path === '/forecasts' },
    { href: '#/history', key: 'nav.history', active: path === '/history' },
    { href: '#/reports', key: 'nav.reports', active: path.startsWith('/reports') },
  ];
  if (hasRole('supervisor')) links.push({ href: '#/audit', key: 'nav.audit', active: path === '/audit' });
  if (hasRole('admin')) links.push({ href: '#/users', key: 'nav.users', active: path === '/users' });
  nav.replaceChildren(...(session ? links.map((l) => h('a', { href: l.href, 'aria-current': l.active ? 'page' : undefined }, t(l.key))) : []));
  nav.hidden = !session;

  const userBox = document.getElementById('user-box');
  userBox.replaceChildren();
  if (session) {
    const role = tOr(`role.${session.user.role}`, session.user.role);
    userBox.append(
      h('a', { class: 'user-name', href: '#/account', title: t('user.signedInAs', { name: session.user.displayName || session.user.userName, role }) }, session.user.displayName || session.user.userName),
      ' ',
      badge('role', role),
    );
  }
  document.getElementById('logout').hidden = !session;

  const toggle = document.getElementById('lang-toggle');
  const other = getLang() === 'zh' ? 'en' : 'zh';
  toggle.textContent = other === 'en' ? 'English' : '中文';
  toggle.setAttribute('lang', other === 'en' ? 'en' : 'zh-CN');
  toggle.setAttribute('title', t('lang.switch'));
  toggle.setAttribute('aria-label', `${t('lang.switch')}: ${toggle.textContent}`);
}

// ---------------------------------------------------------------------------------------------------
// Dialog: modal confirm with an optional text field. Resolves { value } or null when cancelled.

let activeDialog = null;

/** Close the open dialog, if any (its promise resolves as cancelled); true when one was open. */
function closeDialog() {
  if (!activeDialog) return false;
  activeDialog.cancel();
  return true;
}

/**
 * Closing a modal dialog once: by its cancel button, Escape, or the caller's result. Focus goes back to the
 * element that opened it, and the promise the dialog stands for resolves with the result (null = cancelled).
 */
function dialogFinisher(dialog, opener, cancel, resolve) {
  let finished = false;
  const finish = (result) => {
    if (finished) return;
    finished = true;
    activeDialog = null;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    resolve(result);
  };
  cancel.addEventListener('click', () => finish(null));
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    finish(null);
  });
  return finish;
}

/**
 * A modal dialog; `field` adds a text area, `check` a checkbox that must be ticked to confirm ({ label,
 * required: the message when it is not }). Resolves { value, checked } or null when cancelled.
 */
function openDialog({ title, body = [], confirmLabel, confirmClass = 'btn-primary', field = null, check = null }) {
  closeDialog();
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dlg-title');
    const descId = uid('dlg-desc');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': descId });
    const form = h('form', { novalidate: true });
    let input = null;
    let errorEl = null;
    form.append(h('h2', { id: titleId }, title), h('div', { id: descId, class: 'dialog-body' }, body));
    if (field) {
      const inputId = uid('dlg-field');
      const hintId = `${inputId}-hint`;
      const errorId = `${inputId}-error`;
      errorEl = h('p', { id: errorId, class: 'field-error', role: 'alert' });
      input = h('textarea', {
        id: inputId,
        rows: 3,
        maxlength: field.maxLength ?? 2000,
        required: field.required || undefined,
        'aria-required': field.required ? 'true' : undefined,
        'aria-describedby': [field.hint ? hintId : '', errorId].filter(Boolean).join(' '),
      });
      form.append(h('div', { class: 'field' }, h('label', { for: inputId }, field.label), field.hint ? h('p', { id: hintId, class: 'hint' }, field.hint) : null, input, errorEl));
    }
    let box = null;
    let checkError = null;
    if (check) {
      const boxId = uid('dlg-check');
      checkError = h('p', { id: `${boxId}-error`, class: 'field-error', role: 'alert' });
      box = h('input', { type: 'checkbox', id: boxId, required: true, 'aria-required': 'true', 'aria-describedby': `${boxId}-error` });
      form.append(h('div', { class: 'field field-check' }, h('label', { for: boxId }, box, ' ', check.label), checkError));
    }
    const cancel = h('button', { type: 'button', class: 'btn' }, t('dialog.cancel'));
    const confirm = h('button', { type: 'submit', class: ['btn', confirmClass] }, confirmLabel);
    form.append(h('div', { class: 'dialog-actions' }, cancel, confirm));
    dialog.append(form);

    const finish = dialogFinisher(dialog, opener, cancel, resolve);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = input ? input.value.trim() : '';
      if (field?.required && value === '') {
        errorEl.textContent = t('dialog.required');
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      if (box && !box.checked) {
        checkError.textContent = check.required;
        box.setAttribute('aria-invalid', 'true');
        box.focus();
        return;
      }
      finish({ value, checked: box ? box.checked : false });
    });
    activeDialog = { cancel: () => finish(null) };
    document.body.append(dialog);
    dialog.showModal();
    (input ?? cancel).focus();
  });
}

// ---------------------------------------------------------------------------------------------------
// Login

function renderLogin(ctx) {
  setTitle(t('login.title'));
  // Kept until the next successful login: a second render of this page (hash change racing the
  // start-up route) must still show why the user is here.
  const notice = loginNotice;
  const userId = uid('login-user');
  const passId = uid('login-pass');
  const message = h('p', { class: notice ? ['alert', `alert-${notice.kind}`] : 'alert', role: 'alert', hidden: notice ? undefined : true }, notice?.text ?? '');
  const user = h('input', { id: userId, name: 'username', autocomplete: 'username', required: true, 'data-autofocus': true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: passId, name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
  const showMessage = (kind, text) => {
    message.hidden = false;
    message.className = `alert alert-${kind}`;
    message.textContent = text;
  };
  const form = h(
    'form',
    { class: 'login-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: userId }, t('login.user')), user),
    h('div', { class: 'field' }, h('label', { for: passId }, t('login.password')), pass),
    submit,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const userName = user.value.trim();
      if (!userName || !pass.value) {
        showMessage('error', t('login.missing'));
        (userName ? pass : user).focus();
        return;
      }
      submit.disabled = true;
      submit.textContent = t('login.busy');
      try {
        const reply = await api('/api/auth/login', { method: 'POST', body: { userName, password: pass.value } });
        if (!ctx.alive()) return;
        saveSession({ token: reply.token, expiresAtUtcMs: reply.expiresAtUtcMs, user: reply.user });
        loginNotice = null;
        const target = returnTo && !returnTo.startsWith('#/login') ? returnTo : '#/overview';
        returnTo = null;
        location.hash = target;
      } catch (error) {
        if (!ctx.alive()) return;
        pass.value = '';
        showMessage('error', error instanceof ApiError && error.status === 401 ? t('login.failed') : error instanceof ApiError && error.status === 429 ? t('login.rateLimited') : errorText(error));
        pass.focus();
      } finally {
        submit.disabled = false;
        submit.textContent = t('login.submit');
      }
    })();
  });
  main.append(
    h(
      'section',
      { class: 'login-card panel', 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title', tabindex: -1 }, t('login.title')),
      h('p', { class: 'muted' }, t('login.intro')),
      message,
      form,
    ),
  );
}

async function logout() {
  if (session) {
    try {
      await api('/api/auth/logout', { method: 'POST', body: {} });
    } catch {
      // The session ends here either way.
    }
  }
  clearSession();
  loginNotice = { kind: 'info', text: t('login.loggedOut') };
  endPage();
  if (location.hash === '#/login') void route();
  else location.hash = '#/login';
}

// ---------------------------------------------------------------------------------------------------
// Levels, modes and live values

/** Where a level sits relative to the station's bands. */
function levelClass(level, levels) {
  if (typeof level !== 'number' || !Number.isFinite(level)) return 'unknown';
  if (level >= levels.overflowM) return 'overflow';
  if (level >= levels.highAlarmM) return 'high';
  if (level >= levels.pumpStartM) return 'above-start';
  return 'normal';
}

/** A glyph beside the colour so the state does not depend on colour alone. */
const BAND_GLYPH = { normal: '', 'above-start': '▲ ', high: '⚠ ', overflow: '✖ ', unknown: '? ' };
const BANDS = ['normal', 'above-start', 'high', 'overflow', 'unknown'];

function bandBadge(cls) {
  return badge(`band-${cls}`, `${BAND_GLYPH[cls]}${t(`band.${cls}`)}`);
}

function num(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Station control mode from live values (mode 0 LOCAL / 1 REMOTE, remoteActive) or a snapshot ('local'/'remote'). */
function modeOf(mode, remoteActive) {
  const m = mode === 1 || mode === 'remote' ? 'remote' : mode === 0 || mode === 'local' ? 'local' : null;
  if (m === 'remote' && remoteActive === false) return 'remoteInactive';
  return m ?? 'unknown';
}

function modeBadge(mode) {
  const kind = mode === 'local' ? 'local' : mode === 'remote' ? 'remote' : mode === 'remoteInactive' ? 'inactive' : 'muted';
  const title = mode === 'remoteInactive' ? t('mode.remoteInactiveTitle') : mode === 'local' ? t('mode.localNote') : undefined;
  return badge(`mode-${kind}`, t(`mode.${mode}`), title);
}

function indexLive(body) {
  const byKey = new Map();
  for (const o of body?.objects ?? []) byKey.set(`${o.objectKind}:${o.objectId}`, o);
  return byKey;
}

function staleAfterMs(network) {
  return 2 * (network.planning?.cycleMin ?? 15) * 60_000;
}

function systemName(network, systemId) {
  const system = network.systems.find((x) => x.id === systemId);
  return system ? localName(system.name) : systemId;
}

// ---------------------------------------------------------------------------------------------------
// Overview: schematic, component health, station table; refreshed every 10 s.

async function renderOverview(ctx) {
  setTitle(t('overview.title'));
  const network = await loadNetwork();
  if (!ctx.alive()) return;
  const layout = layoutNetwork(network);

  const updated = h('p', { class: 'muted small', role: 'status' }, t('common.loading'));
  const banner = h('div', { class: 'banner-slot' });
  const stateError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const schematic = h('div', { class: 'schematic' });
  const health = h('div', { class: 'health' });
  const table = h('div', { class: 'table-wrap' });

  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('overview.title')), h('p', { class: 'muted small' }, localName(network.name), ' · ', t('overview.refreshNote')), updated),
    banner,
    stateError,
    h(
      'div',
      { class: 'overview-grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'sch-h' }, h('h2', { id: 'sch-h' }, t('overview.schematic')), schematic, schematicLegend(network)),
      h('section', { class: 'panel', 'aria-labelledby': 'health-h' }, h('h2', { id: 'health-h' }, t('health.title')), health),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'st-h' }, h('h2', { id: 'st-h' }, t('overview.stations')), table),
  );

  let live = new Map();
  let liveAt = null;
  const markUpdated = freshness(ctx, updated, LIVE_REFRESH_MS);
  const refresh = async () => {
    const [stateResult, healthResult, plansResult] = await Promise.allSettled([
      api('/api/state'),
      api('/api/health', { accept: [503] }),
      api('/api/plans?limit=5'),
    ]);
    if (!ctx.alive()) return;
    if (stateResult.status === 'fulfilled') {
      live = indexLive(stateResult.value);
      liveAt = Date.now();
      stateError.hidden = true;
    } else {
      stateError.hidden = false;
      stateError.textContent = t('overview.stateError', { message: errorText(stateResult.reason) });
    }
    const now = Date.now();
    schematic.replaceChildren(buildSchematic(network, layout, live, now));
    table.replaceChildren(live.size === 0 && liveAt ? h('p', { class: 'muted' }, t('overview.noTelemetry')) : stationTable(network, live, now));
    health.replaceChildren(healthView(healthResult));
    banner.replaceChildren(...pendingBanner(plansResult));
    if (stateResult.status === 'fulfilled') markUpdated(liveAt);
  };
  await refresh();
  ctx.every(LIVE_REFRESH_MS, refresh);
}

function pendingBanner(result) {
  if (result.status !== 'fulfilled' || !Array.isArray(result.value)) return [];
  const pending = result.value.find((p) => p.status === 'proposed');
  if (!pending) return [];
  return [
    h(
      'div',
      { class: 'alert alert-action', role: 'status' },
      h('span', {}, t('overview.pending', { planId: pending.planId, time: fmtTime(pending.startedAtUtcMs) })),
      ' ',
      h('a', { class: 'btn btn-primary btn-small', href: `#/plans/${encodeURIComponent(pending.planId)}` }, t('overview.review')),
    ),
  ];
}

function healthView(result) {
  if (result.status !== 'fulfilled' || !result.value) {
    return h('p', { class: 'alert alert-error' }, t('health.error', { message: errorText(result.reason) }));
  }
  const body = result.value;
  const components = [...(body.components ?? [])].sort((a, b) => {
    const ia = COMPONENT_ORDER.indexOf(a.name);
    const ib = COMPONENT_ORDER.indexOf(b.name);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const statusKind = (status) => (status === 'up' ? 'ok' : status === 'degraded' ? 'warn' : 'error');
  return h(
    'div',
    {},
    h('p', { class: 'health-overall' }, t('health.overall'), ' ', badge(statusKind(body.status), tOr(`health.${body.status}`, body.status))),
    h(
      'ul',
      { class: 'health-list' },
      components.map((c) =>
        h(
          'li',
          { class: ['health-item', `health-${c.status}`] },
          h('span', { class: 'health-name' }, tOr(`component.${c.name}`, c.name)),
          badge(statusKind(c.status), tOr(`health.${c.status}`, c.status)),
          h('span', { class: 'health-latency muted' }, t('health.latency', { ms: withUnit(c.latencyMs, 0, 'ms') })),
          c.detail ? h('span', { class: 'health-detail muted small' }, c.detail) : null,
        ),
      ),
    ),
    h('p', { class: 'muted small' }, t('common.checkedAt', { time: fmtTime(body.checkedAtUtcMs, { seconds: true }) })),
  );
}

function stationTable(network, live, now) {
  const stale = staleAfterMs(network);
  const head = ['table.station', 'table.system', 'table.level', 'table.band', 'table.bands', 'table.pumps', 'table.mode', 'table.inflow', 'table.outflow', 'table.updated'];
  return h(
    'table',
    { class: 'data-table' },
    h('caption', { class: 'sr-only' }, t('overview.stations')),
    h('thead', {}, h('tr', {}, head.map((key) => h('th', { scope: 'col' }, t(key))))),
    h(
      'tbody',
      {},
      network.stations.map((st) => {
        const obj = live.get(`station:${st.id}`);
        const v = obj?.values ?? {};
        const level = num(v.levelM);
        const isStale = !obj || now - obj.timeUtcMs > stale;
        const cls = isStale && !obj ? 'unknown' : levelClass(level, st.levels);
        const L = st.levels;
        return h(
          'tr',
          { class: [`row-${cls}`, isStale ? 'row-stale' : ''] },
          h('th', { scope: 'row' }, h('span', { class: 'mono' }, st.id), ' ', localName(st.name)),
          h('td', {}, systemName(network, st.system)),
          h('td', { class: 'num' }, withUnit(level, 2, 'm')),
          h('td', {}, bandBadge(cls)),
          h('td', { class: 'num small' }, `${fmtNum(L.pumpStopM, 2)} / ${fmtNum(L.pumpStartM, 2)} / ${fmtNum(L.highAlarmM, 2)} / ${fmtNum(L.overflowM, 2)} m`),
          h('td', { class: 'num' }, `${fmtNum(num(v.pumpsRunning), 0)} / ${fmtNum(num(v.pumpsAvailable), 0)}`),
          h('td', {}, modeBadge(modeOf(v.mode, v.remoteActive))),
          h('td', { class: 'num' }, withUnit(num(v.inflowM3h), 0, UNIT_M3H)),
          h('td', { class: 'num' }, withUnit(num(v.outflowM3h), 0, UNIT_M3H)),
          h('td', { class: isStale ? 'stale-text' : 'muted' }, obj ? fmtAge(obj.timeUtcMs, now) : '—', isStale && obj ? h('span', { class: 'sr-only' }, ` (${t('common.stale')})`) : null),
        );
      }),
    ),
  );
}

// --- Schematic layout: plants at the right, upstream stations to the left, one block per system.

const G = { colW: 232, nodeW: 198, nodeH: 40, rowH: 46, marginX: 14, marginY: 6, labelH: 22, gap: 34 };

function layoutNetwork(network) {
  const kindOf = new Map();
  for (const x of network.stations) kindOf.set(x.id, 'station');
  for (const x of network.plants) kindOf.set(x.id, 'plant');
  for (const x of network.tanks) kindOf.set(x.id, 'tank');
  const downstream = new Map();
  const upstream = new Map();
  const link = (from, to) => {
    downstream.set(from, to);
    if (!upstream.has(to)) upstream.set(to, []);
    upstream.get(to).push(from);
  };
  for (const m of network.mains) if (kindOf.has(m.from) && kindOf.has(m.to)) link(m.from, m.to);
  // A tank with no main of its own is drawn beside the node it hangs off.
  for (const tank of network.tanks) if (!downstream.has(tank.id) && kindOf.has(tank.node)) link(tank.id, tank.node);

  const systemOf = (id, seen = new Set()) => {
    const station = network.stations.find((x) => x.id === id);
    if (station) return station.system;
    const plant = network.plants.find((x) => x.id === id);
    if (plant) return plant.system;
    const to = downstream.get(id);
    if (to && !seen.has(id)) return systemOf(to, seen.add(id));
    const tank = network.tanks.find((x) => x.id === id);
    return tank ? systemOf(tank.node, seen.add(id)) : null;
  };
  const depthOf = (id) => {
    let depth = 0;
    const seen = new Set();
    let at = id;
    while (kindOf.get(at) !== 'plant' && downstream.has(at) && !seen.has(at)) {
      seen.add(at);
      at = downstream.get(at);
      depth++;
    }
    return kindOf.get(at) === 'plant' ? depth : depth + 1;
  };
  const maxDepth = Math.max(1, ...[...kindOf.keys()].map(depthOf));
  const systemIndex = new Map(network.systems.map((x, i) => [x.id, i]));

  // Children leading to an interconnection are placed next to the neighbouring system, so the
  // interconnection crosses the gap between the blocks instead of the stations.
  const subtreeHas = (id, ids, seen = new Set()) => {
    if (ids.has(id)) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return (upstream.get(id) ?? []).some((k) => subtreeHas(k, ids, seen));
  };
  const towardLater = new Set();
  const towardEarlier = new Set();
  for (const x of network.interconnections) {
    const ia = systemIndex.get(systemOf(x.a)) ?? 0;
    const ib = systemIndex.get(systemOf(x.b)) ?? 0;
    if (ia < ib) {
      towardLater.add(x.a);
      towardEarlier.add(x.b);
    } else if (ib < ia) {
      towardLater.add(x.b);
      towardEarlier.add(x.a);
    }
  }
  const weight = (id) => (subtreeHas(id, towardLater) ? 1 : 0) - (subtreeHas(id, towardEarlier) ? 1 : 0);

  const positions = new Map();
  const blocks = [];
  let y = G.marginY;
  for (const system of network.systems) {
    const top = y;
    const rowsAt = new Map();
    let rows = 0;
    const seen = new Set();
    const visit = (id) => {
      if (seen.has(id)) return undefined;
      seen.add(id);
      const kids = [...(upstream.get(id) ?? [])].sort((a, b) => weight(a) - weight(b));
      const kidRows = kids.map(visit).filter((r) => r !== undefined);
      const row = kidRows.length ? kidRows.reduce((a, b) => a + b, 0) / kidRows.length : rows++;
      rowsAt.set(id, row);
      return row;
    };
    const roots = network.plants.filter((p) => p.system === system.id).map((p) => p.id);
    roots.sort((a, b) => weight(a) - weight(b));
    roots.forEach(visit);
    // Stations that reach no plant still get a place.
    for (const st of network.stations) if (st.system === system.id && !positions.has(st.id) && !rowsAt.has(st.id)) visit(st.id);
    const bodyTop = y + G.labelH;
    for (const [id, row] of rowsAt) {
      if (positions.has(id)) continue;
      positions.set(id, { id, kind: kindOf.get(id), x: G.marginX + (maxDepth - depthOf(id)) * G.colW, y: bodyTop + row * G.rowH });
    }
    y = bodyTop + Math.max(rows, 1) * G.rowH - (G.rowH - G.nodeH);
    blocks.push({ system, top, bottom: y });
    y += G.gap;
  }
  return { positions, blocks, width: G.marginX * 2 + maxDepth * G.colW + G.nodeW, height: y - G.gap + G.marginY, downstream };
}

/** Cut a label to about `maxPx` pixels at 12.5 px (CJK counts as a full em). */
function fitText(text, maxPx) {
  let width = 0;
  let out = '';
  for (const ch of text) {
    const w = ch.codePointAt(0) > 0x2e80 ? 13 : 7;
    if (width + w > maxPx) return `${out}…`;
    width += w;
    out += ch;
  }
  return out;
}

function buildSchematic(network, layout, live, now) {
  const stale = staleAfterMs(network);
  const { positions } = layout;
  const svg = s('svg', {
    class: 'schematic-svg',
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    role: 'img',
    'aria-label': t('schematic.aria', { systems: network.systems.map((x) => localName(x.name)).join(getLang() === 'zh' ? '、' : ', '), count: network.stations.length }),
    preserveAspectRatio: 'xMinYMin meet',
  });
  const arrowId = 'arrow-head';
  svg.append(
    s('defs', {}, s('marker', { id: arrowId, viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrow' }))),
  );

  for (const block of layout.blocks) {
    svg.append(
      s('rect', { class: 'system-bg', x: 2, y: block.top, width: layout.width - 4, height: block.bottom - block.top + 6, rx: 6 }),
      s('text', { class: 'system-label', x: G.marginX, y: block.top + 15 }, localName(block.system.name)),
    );
  }

  // Mains: right edge of the upstream node to the left edge of the downstream one, via a bus just
  // left of the downstream node.
  const mainsLayer = s('g', { class: 'mains' });
  for (const [from, to] of layout.downstream) {
    const a = positions.get(from);
    const b = positions.get(to);
    if (!a || !b) continue;
    const sx = a.x + G.nodeW;
    const sy = a.y + G.nodeH / 2;
    const ex = b.x;
    const ey = b.y + G.nodeH / 2;
    const d = ex > sx + 8 ? `M${sx},${sy} H${ex - (G.colW - G.nodeW) / 2} V${ey} H${ex}` : `M${a.x + G.nodeW / 2},${a.y + G.nodeH} L${b.x + G.nodeW / 2},${b.y}`;
    mainsLayer.append(s('path', { d, class: a.kind === 'tank' ? 'main main-tank' : 'main', 'marker-end': `url(#${arrowId})` }));
  }
  svg.append(mainsLayer);

  // Interconnections: down from one node into the gap between the blocks, across, and into the other.
  for (const x of network.interconnections) {
    const a = positions.get(x.a);
    const b = positions.get(x.b);
    if (!a || !b) continue;
    const upper = a.y <= b.y ? a : b;
    const lower = upper === a ? b : a;
    const gapBlock = layout.blocks.find((bl) => bl.bottom >= upper.y + G.nodeH && bl.bottom <= lower.y);
    const laneY = gapBlock ? gapBlock.bottom + G.gap / 2 : (upper.y + G.nodeH + lower.y) / 2;
    const ux = upper.x + G.nodeW / 2;
    const lx = lower.x + G.nodeW / 2;
    const flow = num(live.get(`interconnection:${x.id}`)?.values?.transferM3h);
    const dir = flow === null || Math.abs(flow) < 0.5 ? '' : flow > 0 ? ` ${x.a}→${x.b}` : ` ${x.b}→${x.a}`;
    const label = t('schematic.transfer', { id: x.id, name: localName(x.name), flow: `${withUnit(flow === null ? null : Math.abs(flow), 0, UNIT_M3H)}${dir}` });
    const midX = (ux + lx) / 2;
    svg.append(
      s(
        'g',
        { class: ['interconnection', flow !== null && Math.abs(flow) >= 0.5 ? 'interconnection-active' : ''] },
        s('title', {}, t('schematic.linkTitle', { id: x.id, name: localName(x.name), a: x.a, b: x.b, capacity: withUnit(x.capacityM3h, 0, UNIT_M3H) })),
        s('path', { class: 'x-link', d: `M${ux},${upper.y + G.nodeH} V${laneY} H${lx} V${lower.y}` }),
        s('rect', { class: 'x-label-bg', x: midX - 130, y: laneY - 10, width: 260, height: 20, rx: 4 }),
        s('text', { class: 'x-label', x: midX, y: laneY + 4.5, 'text-anchor': 'middle' }, fitText(label, 250)),
      ),
    );
  }

  for (const st of network.stations) {
    const pos = positions.get(st.id);
    if (pos) svg.append(stationNode(st, pos, live.get(`station:${st.id}`), now, stale));
  }
  for (const plant of network.plants) {
    const pos = positions.get(plant.id);
    if (!pos) continue;
    const obj = live.get(`plant:${plant.id}`);
    const inflow = num(obj?.values?.inflowM3h);
    const bypass = num(obj?.values?.bypassM3h);
    const cls = inflow === null ? 'unknown' : (bypass ?? 0) > 0 || inflow > plant.capacityM3h ? 'overflow' : inflow >= 0.9 * plant.capacityM3h ? 'high' : 'normal';
    const line = t('schematic.plant', { inflow: fmtNum(inflow, 0), capacity: withUnit(plant.capacityM3h, 0, UNIT_M3H) });
    const extra = bypass ? `, ${t('schematic.bypass', { flow: withUnit(bypass, 0, UNIT_M3H) })}` : '';
    svg.append(objectNode(pos, `${plant.id} ${localName(plant.name)}`, `${BAND_GLYPH[cls]}${line}`, ['plant', `node-${cls}`], obj, now, stale, `${line}${extra}`));
  }
  for (const tank of network.tanks) {
    const pos = positions.get(tank.id);
    if (!pos) continue;
    const obj = live.get(`tank:${tank.id}`);
    const volume = num(obj?.values?.volumeM3);
    const ratio = volume === null ? null : volume / tank.capacityM3;
    const cls = ratio === null ? 'unknown' : ratio >= 1 ? 'overflow' : ratio >= 0.8 ? 'high' : 'normal';
    const line = t('schematic.tank', { volume: fmtNum(volume, 0), capacity: withUnit(tank.capacityM3, 0, 'm³'), pct: ratio === null ? '—' : `${fmtNum(ratio * 100, 0)}%` });
    svg.append(objectNode(pos, `${tank.id} ${localName(tank.name)}`, `${BAND_GLYPH[cls]}${line}`, ['tank', `node-${cls}`], obj, now, stale, line));
  }
  return svg;
}

function objectNode(pos, title, line, classes, obj, now, stale, tooltip) {
  const isStale = !obj || now - obj.timeUtcMs > stale;
  return s(
    'g',
    { class: ['node', ...classes, isStale ? 'node-stale' : ''], transform: `translate(${pos.x},${pos.y})` },
    s('title', {}, `${title}\n${tooltip}${obj ? `\n${t('table.updated')}: ${fmtAge(obj.timeUtcMs, now)}` : ''}`),
    s('rect', { class: 'node-box', width: G.nodeW, height: G.nodeH, rx: 5 }),
    s('rect', { class: 'node-stripe', width: 6, height: G.nodeH, rx: 2 }),
    s('text', { class: 'node-title', x: 12, y: 16 }, fitText(title, G.nodeW - 18)),
    s('text', { class: 'node-line', x: 12, y: 32 }, fitText(line, G.nodeW - 18)),
  );
}

function stationNode(st, pos, obj, now, stale) {
  const v = obj?.values ?? {};
  const level = num(v.levelM);
  const cls = obj ? levelClass(level, st.levels) : 'unknown';
  const isStale = !obj || now - obj.timeUtcMs > stale;
  const mode = modeOf(v.mode, v.remoteActive);
  const pumps = t('node.pumps', { running: fmtNum(num(v.pumpsRunning), 0), available: fmtNum(num(v.pumpsAvailable), 0) });
  const modeText = t(`mode.${mode}`);
  const title = `${st.id} ${localName(st.name)}`;
  const tooltip = [
    title,
    `${t('table.level')}: ${withUnit(level, 2, 'm')} (${t(`band.${cls}`)})`,
    t('station.bands', { stop: fmtNum(st.levels.pumpStopM, 2), start: fmtNum(st.levels.pumpStartM, 2), high: fmtNum(st.levels.highAlarmM, 2), overflow: withUnit(st.levels.overflowM, 2, 'm') }),
    `${t('table.pumps')}: ${fmtNum(num(v.pumpsRunning), 0)} / ${fmtNum(num(v.pumpsAvailable), 0)}`,
    `${t('table.mode')}: ${modeText}`,
    `${t('table.inflow')}: ${withUnit(num(v.inflowM3h), 0, UNIT_M3H)} · ${t('table.outflow')}: ${withUnit(num(v.outflowM3h), 0, UNIT_M3H)}`,
    obj ? `${t('table.updated')}: ${fmtAge(obj.timeUtcMs, now)}${isStale ? ` (${t('common.stale')})` : ''}` : t('overview.noTelemetry'),
  ].join('\n');
  return s(
    'g',
    { class: ['node', 'station', `node-${cls}`, isStale ? 'node-stale' : '', `mode-${mode}`], transform: `translate(${pos.x},${pos.y})` },
    s('title', {}, tooltip),
    s('rect', { class: 'node-box', width: G.nodeW, height: G.nodeH, rx: 5 }),
    s('rect', { class: 'node-stripe', width: 6, height: G.nodeH, rx: 2 }),
    s('text', { class: 'node-title', x: 12, y: 16 }, s('tspan', { class: 'node-id' }, st.id), ' ', fitText(localName(st.name), G.nodeW - 40)),
    s(
      'text',
      { class: 'node-line', x: 12, y: 32 },
      s('tspan', { class: 'node-level' }, `${BAND_GLYPH[cls]}${withUnit(level, 2, 'm')}`),
      ` · ${pumps} · `,
      s('tspan', { class: `node-mode node-mode-${mode}` }, modeText),
    ),
  );
}

function schematicLegend(network) {
  const minutes = Math.round(staleAfterMs(network) / 60_000);
  return h(
    'div',
    { class: 'legend', role: 'group', 'aria-label': t('legend.title') },
    h('ul', { class: 'legend-list' }, BANDS.map((cls) => h('li', {}, h('span', { class: ['swatch', `swatch-${cls}`], 'aria-hidden': 'true' }, BAND_GLYPH[cls].trim()), t(`band.${cls}`)))),
    h('p', { class: 'muted small' }, t('schematic.remoteInactiveNote'), ' · ', t('schematic.staleNote', { minutes })),
  );
}

// ---------------------------------------------------------------------------------------------------
// Plans list

/** Final status of closed plans, read once from their workflow; it cannot change any more. */
const closedPlanCache = new Map();

function statusBadge(status) {
  return badge(`status-${status}`, tOr(`status.${status}`, status));
}

async function renderPlans(ctx) {
  setTitle(t('plans.title'));
  const limitId = uid('plans-limit');
  const limit = h('select', { id: limitId }, [20, 50, 100].map((n) => h('option', { value: n }, String(n))));
  const updated = h('p', { class: 'muted small', role: 'status' });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, t('common.loading')));
  const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const refreshButton = h('button', { type: 'button', class: 'btn' }, t('common.refresh'));
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('plans.title')), updated),
    h('div', { class: 'toolbar' }, h('label', { for: limitId }, t('plans.limit')), limit, refreshButton),
    error,
    h('section', { class: 'panel' }, list),
  );

  const markUpdated = freshness(ctx, updated, PLANS_REFRESH_MS);
  const load = async () => {
    let plans;
    try {
      plans = await api(`/api/plans?limit=${encodeURIComponent(limit.value)}`);
    } catch (err) {
      if (!ctx.alive()) return;
      error.hidden = false;
      error.replaceChildren(errorView(err, { cls: '', role: null }));
      return;
    }
    if (!ctx.alive()) return;
    error.hidden = true;
    list.replaceChildren(plansTable(plans));
    markUpdated();
    await fillClosedStatuses(ctx, plans, () => list.replaceChildren(plansTable(plans)));
  };
  limit.addEventListener('change', () => void load());
  refreshButton.addEventListener('click', () => void load());
  await load();
  ctx.every(PLANS_REFRESH_MS, load);
}

/** Closed plans carry only the workflow status in the list: read their final plan status, a few at a time. */
async function fillClosedStatuses(ctx, plans, redraw) {
  const missing = plans.filter((p) => p.workflowStatus !== 'RUNNING' && !closedPlanCache.has(p.planId)).slice(0, 20);
  if (missing.length === 0) return;
  const queue = [...missing];
  const worker = async () => {
    while (queue.length && ctx.alive()) {
      const p = queue.shift();
      try {
        const state = await api(`/api/plans/${encodeURIComponent(p.planId)}`);
        closedPlanCache.set(p.planId, { status: state.status, decision: state.decision ?? null });
      } catch {
        closedPlanCache.set(p.planId, null);
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  if (ctx.alive()) redraw();
}

function plansTable(plans) {
  if (!plans.length) return h('p', { class: 'muted' }, t('plans.empty'));
  const now = Date.now();
  return h(
    'table',
    { class: 'data-table' },
    h('caption', { class: 'sr-only' }, t('plans.caption')),
    h('thead', {}, h('tr', {}, ['plans.colPlan', 'plans.colCreated', 'plans.colStatus', 'plans.colDecidedBy'].map((key) => h('th', { scope: 'col' }, t(key))))),
    h(
      'tbody',
      {},
      plans.map((p) => {
        const closed = closedPlanCache.get(p.planId);
        const status = p.status ?? closed?.status;
        const decision = closed?.decision;
        return h(
          'tr',
          { class: status === 'proposed' ? 'row-action' : undefined },
          h('th', { scope: 'row' }, h('a', { href: `#/plans/${encodeURIComponent(p.planId)}`, class: 'mono' }, p.planId)),
          h('td', {}, fmtTime(p.startedAtUtcMs), h('span', { class: 'muted small' }, ` (${fmtAge(p.startedAtUtcMs, now)})`)),
          h('td', {}, status ? statusBadge(status) : badge('muted', tOr(`wf.${p.workflowStatus}`, p.workflowStatus))),
          h('td', {}, decision ? `${decision.userName} · ${t(`decision.kind.${decision.kind === 'reject' ? 'reject' : 'approve'}`)}` : '—'),
        );
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------
// Plan review

async function renderPlan(ctx, planId) {
  setTitle(planId);
  const network = await loadNetwork();
  if (!ctx.alive()) return;
  const checked = h('p', { class: 'muted small', role: 'status' });
  const pollError = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  // Decision results and errors live here, outside the part that is redrawn when the plan changes.
  const noticeSlot = h('div', { class: 'notice-slot', hidden: true });
  const body = h('div', { class: 'plan-body' }, h('p', { class: 'muted' }, t('common.loading')));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/plans' }, t('plans.back'))),
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('plan.title'), ' ', h('code', { class: 'plan-id' }, planId)), checked),
    pollError,
    noticeSlot,
    body,
  );

  // What survives a redraw: the filter, forecasts, the diff, and the decision in flight (its buttons stay
  // disabled until it ends, whatever the poll redraws meanwhile).
  const view = { attentionOnly: false, forecast: null, diff: null, busy: null };
  let current = null;
  let signature = '';
  let diffFor = '';
  const live = () => current !== null && LIVE_STATUSES.has(current.status);
  const markChecked = freshness(ctx, checked, PLAN_POLL_MS, {
    text: (ms) => `${t('common.checkedAt', { time: fmtTime(ms, { seconds: true }) })}${live() ? ` · ${t('plan.polling', { s: PLAN_POLL_MS / 1000 })}` : ''}`,
    isLive: live,
  });
  const notify = (notice) => {
    showNotice(noticeSlot, notice);
    // Errors and warnings are role="alert" and speak for themselves; the rest goes to the polite announcer.
    if (notice && (notice.kind === 'ok' || notice.kind === 'info')) announce(notice.text);
  };
  // Forecasts are read once per visit; the comparison with the live plan whenever the plan changes.
  view.forecast = await api('/api/forecasts').catch(() => null);
  if (!ctx.alive()) return;
  const redraw = () => {
    if (current) redrawKeeping(body, () => planView(network, current, view, decide));
    updateDeadlines(body);
  };
  /** Show a state read from the API; `own`: the answer to this page's own decision (no "changed" notice). */
  const show = (state, { own = false } = {}) => {
    const previous = current;
    current = state;
    markChecked();
    const change = planChange(previous, state);
    // While a decision of ours is in flight, a change is most likely ours; its answer will tell.
    if (previous && !own && view.busy === null) {
      if (change.revision) {
        // Re-planned after someone's modification: whatever dialog was open was about the old revision.
        closeDialog();
        notify({ kind: 'warn', text: t('plan.revisionChanged', { revision: state.revision ?? 1 }) });
      } else if (change.leftProposed) {
        const status = tOr(`status.${state.status}`, state.status);
        notify({ kind: 'info', text: closeDialog() ? t('plan.statusChangedClosed', { status }) : t('plan.statusChanged', { status }) });
      }
    } else if (change.leftProposed || change.revision) closeDialog();
    const next = JSON.stringify([
      state.status,
      Boolean(state.plan),
      state.revision ?? 1,
      state.decision?.decidedAtUtcMs ?? null,
      state.outcome?.appliedAtUtcMs ?? null,
      state.steps?.length ?? 0,
      state.handedBack?.length ?? 0,
      state.error ?? null,
      state.deadlineUtcMs ?? null,
      state.escalatedAtUtcMs ?? null,
      state.autonomy ?? null,
      state.supersededBy ?? null,
      state.replacedBy ?? null,
      state.keptPlanId ?? null,
    ]);
    const diffKey = JSON.stringify([state.status, state.revision ?? 0, Boolean(state.plan)]);
    if (diffKey !== diffFor && state.plan) {
      diffFor = diffKey;
      void api(`/api/plans/${encodeURIComponent(planId)}/diff`)
        .then((diff) => {
          if (!ctx.alive()) return;
          view.diff = diff;
          signature = '';
          show(current, { own: true });
        })
        .catch(() => undefined);
    }
    const nextWithDiff = `${next}|${view.diff ? JSON.stringify([view.diff.livePlanId, view.diff.changedStations, view.diff.changedTransfers]) : ''}`;
    if (nextWithDiff === signature) {
      updateDeadlines(body);
      return;
    }
    signature = nextWithDiff;
    if (change.status) announce(t('plan.statusChanged', { status: tOr(`status.${state.status}`, state.status) }));
    redraw();
  };
  const reload = async (options) => {
    const state = await api(`/api/plans/${encodeURIComponent(planId)}`);
    if (!ctx.alive()) return;
    pollError.hidden = true;
    show(state, options);
  };
  /** Approve, reject or modify, one at a time; the result or the error stays in the notice slot. */
  const decide = async (kind, requestBody) => {
    if (view.busy !== null) return;
    view.busy = kind;
    notify(null);
    redraw();
    try {
      const next = await api(`/api/plans/${encodeURIComponent(planId)}/${kind}`, { method: 'POST', body: requestBody, timeoutMs: kind === 'modify' ? REPLAN_TIMEOUT_MS : REQUEST_TIMEOUT_MS });
      if (!ctx.alive()) return;
      view.busy = null;
      notify({ kind: 'ok', text: kind === 'approve' ? t('decision.approved') : kind === 'reject' ? t('decision.rejected') : t('modify.done', { revision: next.revision ?? '' }) });
      signature = '';
      show(next, { own: true });
    } catch (error) {
      if (!ctx.alive()) return;
      view.busy = null;
      notify(errorNotice(error));
      redraw();
      // The plan moved on (decided elsewhere, re-planned, expired), or no answer came (a network failure, or
      // a 5xx: the decision may have been taken): show where it is now, keeping the error in the notice.
      if (error instanceof ApiError && (error.status === 409 || error.status === 0 || error.status >= 500)) await reload({ own: true }).catch(() => undefined);
    } finally {
      if (view.busy === kind) view.busy = null;
    }
  };
  await reload();
  ctx.every(PLAN_POLL_MS, async () => {
    if (current && !LIVE_STATUSES.has(current.status)) return false;
    try {
      await reload();
    } catch (error) {
      if (!ctx.alive()) return false;
      pollError.hidden = false;
      pollError.replaceChildren(errorView(error, { cls: '', role: null }));
    }
    return true;
  });
}

/** The deadline countdowns of a plan header, brought up to date without a redraw. */
function updateDeadlines(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('[data-deadline]')) {
    const left = Math.ceil((Number(el.dataset.deadline) - now) / 60_000);
    el.textContent = left > 0 ? t('plan.deadlineLeft', { min: left }) : t('plan.deadlinePassed');
  }
}

function snapshotOf(state, stationId) {
  return state.snapshot?.stations?.find((x) => x.stationId === stationId) ?? null;
}

/** What needs the dispatcher's eye at one station, computed once for the summary, filter and cards. */
function stationFacts(state, station) {
  const plan = state.plan;
  const first = plan.steps[0];
  const sp = first?.stations.find((x) => x.stationId === station.id) ?? null;
  const snap = snapshotOf(state, station.id);
  const level = num(snap?.levelM);
  const cls = levelClass(level, station.levels);
  const mode = modeOf(snap?.mode ?? null, snap?.remoteActive ?? null);
  const clamps = plan.clamped.filter((c) => c.objectId === station.id);
  const differs = (a, b) => a === null || b === null || Math.abs(a - b) > 0.005;
  const changed = sp !== null && (differs(num(snap?.startLevelSpM), sp.startLevelM) || differs(num(snap?.stopLevelSpM), sp.stopLevelM));
  const writes = state.outcome?.writes.filter((w) => w.objectId === station.id) ?? [];
  const writeFailed = writes.some((w) => w.status === 'failed' || w.status === 'mismatch');
  const attention = changed || clamps.length > 0 || mode === 'local' || mode === 'remoteInactive' || cls === 'high' || cls === 'overflow' || cls === 'unknown' || writeFailed;
  return { sp, snap, level, cls, mode, clamps, changed, writes, writeFailed, attention };
}

function planView(network, state, view, decide) {
  const plan = state.plan;
  const parts = [planHeader(state)];
  if (state.status === 'proposed' && plan) parts.push(decisionPanel(network, state, view, decide));
  if (plan) parts.push(predictionPanel(network, plan), diffPanel(network, view.diff), modificationsPanel(state));
  if (state.status === 'expired') parts.push(h('p', { class: 'alert alert-info' }, t('plan.expiredNote')));
  if (state.status === 'rejected') parts.push(h('p', { class: 'alert alert-info' }, t('plan.rejectedNote')));
  // The workflow's error is English: a translated label, its text folded under 详情 / Details.
  if (state.error) parts.push(h('div', { class: 'alert alert-error plan-error', role: 'alert' }, h('span', {}, keyedText(planErrorInfo(state.error))), detailsOf(state.error)));
  if (state.outcome) parts.push(outcomeSummary(state.outcome));
  if (!plan) {
    parts.push(h('p', { class: 'alert alert-info' }, state.status === 'gathering' ? t('plan.gathering') : t('plan.noPlan')));
    return h('div', {}, parts);
  }

  const facts = new Map(network.stations.map((st) => [st.id, stationFacts(state, st)]));
  const all = [...facts.values()];
  const summary = t('plan.summary', {
    total: network.stations.length,
    changed: all.filter((f) => f.changed).length,
    clamped: all.filter((f) => f.clamps.length > 0).length,
    local: all.filter((f) => f.mode === 'local').length,
    high: all.filter((f) => f.cls === 'high' || f.cls === 'overflow').length,
  });
  const filterId = uid('attention');
  const filter = h('input', { type: 'checkbox', id: filterId, checked: view.attentionOnly || undefined });
  const cards = h('div', { class: 'station-cards' });
  const horizonH = (plan.steps.length * plan.stepMin) / 60;
  const drawCards = () => {
    const shown = network.stations.filter((st) => !view.attentionOnly || facts.get(st.id).attention);
    cards.replaceChildren(...shown.map((st) => stationCard(network, state, st, facts.get(st.id), horizonH, view.forecast)));
    if (shown.length === 0) cards.append(h('p', { class: 'muted' }, t('common.none')));
  };
  filter.addEventListener('change', () => {
    view.attentionOnly = filter.checked;
    drawCards();
  });
  drawCards();

  parts.push(
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'stations-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'stations-h' }, t('plan.stations')), h('label', { class: 'check', for: filterId }, filter, ' ', t('plan.attentionOnly', { n: all.filter((f) => f.attention).length }))),
      h('p', { class: 'plan-summary' }, summary),
      h('p', { class: 'muted small' }, t('plan.chartLegend')),
      cards,
    ),
    transfersPanel(network, plan),
  );
  return h('div', {}, parts);
}

/** t() with some parameters as DOM nodes (links, live counters): the text split around their placeholders. */
function tWith(key, params, nodes) {
  const marks = Object.fromEntries(Object.keys(nodes).map((name) => [name, `\uE000${name}\uE000`]));
  return t(key, { ...params, ...marks })
    .split(/\uE000(\w+)\uE000/)
    .map((part, i) => (i % 2 === 1 ? nodes[part] : part))
    .filter((part) => part !== '');
}

/** A link to another plan's page. */
function planLink(planId) {
  return h('a', { href: `#/plans/${encodeURIComponent(planId)}`, class: 'mono' }, planId);
}

/** The plan's forecastSource in translated parts; the raw value goes in a title. */
function forecastSourceText(source) {
  const p = parseForecastSource(source);
  const parts = [];
  if (p.kind === 'inflow') parts.push(t('forecastSource.inflow'));
  else if (p.kind === 'dwf') parts.push(t('forecastSource.dwf'));
  else if (p.kind === 'rain') parts.push(t('forecastSource.rain', { provider: p.provider }));
  else if (p.kind === 'fallback') parts.push(t('forecastSource.fallback', { provider: tOr(`fallbackKind.${p.provider}`, p.provider) }));
  else if (p.kind === 'none') parts.push(t('forecastSource.none'));
  else parts.push(t('forecastSource.other'));
  if (p.rain) parts.push(t('forecastSource.rainOf', { provider: p.rain }));
  if (p.quality) parts.push(t('forecastSource.quality', { quality: tOr(`rainQuality.${p.quality}`, p.quality) }));
  if (p.ageMin !== null) parts.push(t('forecastSource.age', { n: p.ageMin }));
  return parts.join(getLang() === 'zh' ? '，' : ', ');
}

/** Parameters holding codes, by name (the convention of logic.js): the family of their labels. */
const PARAM_FAMILY = {
  role: 'role',
  audience: 'audience',
  warning: 'warning',
  fromWarning: 'warning',
  toWarning: 'warning',
  observed: 'warning',
  forecast: 'warning',
  response: 'response',
  crewKind: 'crew',
  opMode: 'opMode',
  from: 'opMode',
  to: 'opMode',
};

/** One parameter of a logic.js { key, params } in words, by its name (see the convention in logic.js). */
function paramInWords(name, value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) {
    const sentences = value.some((v) => v && typeof v === 'object' && 'key' in v);
    return value.map((v) => paramInWords(name, v)).join(sentences ? (getLang() === 'zh' ? '；' : '; ') : getLang() === 'zh' ? '、' : ', ');
  }
  if (typeof value === 'object') return 'key' in value ? keyedText(value) : localName(value);
  if (name.endsWith('UtcMs')) return fmtTime(value);
  if (name.endsWith('LevelM')) return fmtNum(value, 2);
  if (name.endsWith('M3h')) return fmtNum(value, 0);
  const family = PARAM_FAMILY[name];
  return family ? tOr(`${family}.${value}`, value) : String(value);
}

/** A logic.js { key, params } as a sentence in the current language. */
function keyedText({ key, params }) {
  return t(key, Object.fromEntries(Object.entries(params ?? {}).map(([name, value]) => [name, paramInWords(name, value)])));
}

/** Workflow text: the translated sentence when `known` ({ key, params }), the server's text in a title; else the text as sent. */
function workflowText(known, text) {
  if (known) return h('span', { title: t('plan.rawText', { text }) }, keyedText(known));
  return h('span', { lang: 'en' }, String(text ?? ''));
}

/** An autonomy reason or automatic decision: translated when known, the server's English in a title and, if unknown, shown as sent. */
function autonomyText(text) {
  const known = autonomyReason(text);
  if (known?.key) return workflowText(known, text);
  const raw = known?.mode ? String(text).slice(known.mode.length + 2) : String(text);
  return h('span', { lang: 'en', title: t('plan.rawText', { text }) }, raw);
}

function planHeader(state) {
  const plan = state.plan;
  const now = Date.now();
  const rows = [[t('plan.status'), [statusBadge(state.status), (state.revision ?? 1) > 1 ? h('span', { class: 'muted' }, ` · ${t('plan.revision', { revision: state.revision })}`) : null]]];
  if (state.status === 'proposed' && typeof state.deadlineUtcMs === 'number') {
    rows.push([t('plan.deadline'), tWith('plan.deadlineValue', { time: fmtTime(state.deadlineUtcMs) }, { left: h('span', { 'data-deadline': state.deadlineUtcMs }) })]);
  }
  if (typeof state.escalatedAtUtcMs === 'number') rows.push([t('plan.escalated'), [h('span', { class: 'warn-text' }, `⚠ ${t('plan.escalatedValue', { time: fmtTime(state.escalatedAtUtcMs) })}`)]]);
  if (state.autonomy) {
    const a = state.autonomy;
    rows.push([t('plan.autonomy'), [`${tOr(`autonomy.${a.mode}`, a.mode)} · ${a.autoApproved ? t('plan.autonomyAuto') : t('plan.autonomyManual')}`, h('div', { class: 'small muted' }, autonomyText(a.reason))]]);
  }
  if (state.decision) {
    const d = state.decision;
    const kind = t(`decision.kind.${d.kind === 'reject' ? 'reject' : 'approve'}`);
    const time = fmtTime(d.decidedAtUtcMs, { seconds: true });
    const automatic = d.role === 'system' || d.automatic;
    const mode = automatic ? autonomyReason(d.automatic ?? '')?.mode : null;
    rows.push([
      t('decision.title'),
      [
        automatic
          ? mode
            ? t('plan.decisionAuto', { kind, mode: tOr(`autonomy.${mode}`, mode), time })
            : t('plan.decisionSystem', { kind, role: t('role.system'), time })
          : t('plan.decision', { kind, user: d.userName, role: tOr(`role.${d.role}`, d.role), time }),
        automatic && d.automatic ? h('div', { class: 'small muted' }, autonomyText(d.automatic)) : null,
        d.comment ? h('div', { class: 'decision-comment' }, t('plan.decisionComment', { comment: d.comment })) : null,
      ],
    ]);
  }
  if (state.supersededBy) rows.push([t('plan.supersededBy'), [planLink(state.supersededBy)]]);
  if (state.replacedBy) rows.push([t('plan.replacedBy'), [planLink(state.replacedBy)]]);
  if (state.keptPlanId !== undefined) {
    rows.push([t('plan.kept'), state.keptPlanId ? tWith('plan.keptValue', {}, { planId: planLink(state.keptPlanId) }) : [t('plan.keptNone')]]);
  }
  if (plan) {
    const issued = plan.basis.forecastIssuedAtUtcMs;
    const forecast =
      issued === null || plan.basis.forecastSource === 'none'
        ? [h('span', { class: 'warn-text' }, `⚠ ${t('plan.forecastNone')}`)]
        : [
            h('span', { title: plan.basis.forecastSource }, t('plan.forecastValue', { source: forecastSourceText(plan.basis.forecastSource), time: fmtTime(issued), age: fmtAge(issued, now) })),
            plan.createdAtUtcMs - issued > FORECAST_OLD_MS ? h('span', { class: 'warn-text' }, ` ⚠ ${t('plan.forecastOld')}`) : null,
          ];
    const badTags = state.snapshot?.badTagCount ?? 0;
    rows.push(
      [t('plan.created'), [fmtTime(plan.createdAtUtcMs, { seconds: true }), h('span', { class: 'muted' }, ` (${fmtAge(plan.createdAtUtcMs, now)})`)]],
      [t('plan.operatingMode'), [h('span', { class: plan.operatingMode === 'normal' ? '' : 'mode-flood' }, tOr(`opMode.${plan.operatingMode}`, plan.operatingMode))]],
      [t('plan.forecast'), forecast],
      [
        t('plan.telemetry'),
        [fmtTime(plan.basis.telemetryAtUtcMs, { seconds: true }), badTags > 0 ? h('span', { class: 'warn-text' }, ` ⚠ ${t('plan.badTags', { n: badTags })}`) : null],
      ],
      [t('plan.planner'), [tOr(`planner.${plan.planner}`, plan.planner)]],
      [t('plan.horizon'), [t('plan.horizonValue', { hours: fmtNum((plan.steps.length * plan.stepMin) / 60, 0), step: plan.stepMin })]],
    );
  }
  return h('section', { class: 'panel plan-header' }, h('dl', { class: 'facts' }, rows.map(([term, value]) => h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, value)))));
}

function decisionPanel(network, state, view, decide) {
  const plan = state.plan;
  // The plan's own required role (emergency plans by level), never below dispatcher: a user below it sees
  // why before clicking, instead of the workflow's 409.
  const access = decisionAccess(session?.user.role, state.requiredRole);
  const canDecide = access.allowed;
  const requiredName = tOr(`role.${access.required}`, access.required);
  const viewerOnly = access.required === 'dispatcher';
  const busy = view.busy !== null;
  const noteId = uid('decision-note');
  const status = h('p', { class: 'decision-status', role: 'status' }, busy ? t(view.busy === 'modify' ? 'modify.busy' : 'decision.busy') : '');
  const approve = h('button', { type: 'button', class: 'btn btn-primary btn-large' }, `✔ ${t('decision.approve')}`);
  const reject = h('button', { type: 'button', class: 'btn btn-danger btn-large' }, `✖ ${t('decision.reject')}`);
  const modify = h('button', { type: 'button', class: 'btn btn-large' }, `✎ ${t('modify.open')}`);
  for (const button of [approve, reject, modify]) {
    button.setAttribute('aria-describedby', noteId);
    // A decision in flight keeps all three disabled, through every redraw, until its answer.
    button.disabled = busy;
    if (!canDecide) {
      // aria-disabled keeps the button focusable, so keyboard and screen-reader users learn why.
      button.setAttribute('aria-disabled', 'true');
      button.setAttribute('title', viewerOnly ? t('decision.viewerTooltip') : t('decision.needsRoleTooltip', { role: requiredName }));
    }
  }
  const may = (button) => canDecide && !button.disabled && view.busy === null;
  // Approving replaces the emergency plan in force: only with that plan's role, and confirmed in the dialog.
  const replace = emergencyReplace(session?.user.role, state);
  const replaceRoleName = replace ? tOr(`role.${replace.required}`, replace.required) : '';
  if (replace && canDecide && !replace.allowed) {
    approve.setAttribute('aria-disabled', 'true');
    approve.setAttribute('title', t('decision.replaceEmergencyTooltip', { role: replaceRoleName }));
  }

  // Which stations the approval writes, by the server's rule (every station in REMOTE mode).
  const counts = dispatchCounts(plan.steps[0]?.stations.map((x) => x.stationId) ?? [], state.snapshot?.stations ?? []);
  const basisAt = state.snapshot?.readAtUtcMs ?? plan.basis.telemetryAtUtcMs;

  modify.addEventListener('click', () => {
    if (!may(modify)) return;
    void (async () => {
      const body = await openModifyDialog(network, state);
      if (body) await decide('modify', withRevision(body, state.revision));
    })();
  });
  approve.addEventListener('click', () => {
    if (!may(approve) || (replace && !replace.allowed)) return;
    void (async () => {
      const result = await openDialog({
        title: t('decision.approveTitle'),
        body: [
          replace ? h('p', { class: 'alert alert-warn', 'data-replaces-emergency': replace.planId }, t('decision.replacesEmergency', { planId: replace.planId, role: replaceRoleName })) : null,
          h('p', {}, t('decision.approveBody', { planId: state.planId })),
          h(
            'ul',
            { class: 'approve-facts' },
            state.revision ? h('li', {}, t('decision.approveRevision', { revision: state.revision })) : null,
            h('li', {}, t('decision.approveMode', { mode: tOr(`opMode.${plan.operatingMode}`, plan.operatingMode) })),
            h('li', { 'data-count': 'written' }, t('decision.approveRemote', { n: counts.written })),
            counts.inactive ? h('li', { class: 'warn-text', 'data-count': 'inactive' }, t('decision.approveInactive', { n: counts.inactive })) : null,
            counts.local ? h('li', { 'data-count': 'local' }, t('decision.approveLocal', { n: counts.local })) : null,
            counts.unknown ? h('li', { class: 'warn-text', 'data-count': 'unknown' }, t('decision.approveUnknown', { n: counts.unknown })) : null,
            plan.clamped.length ? h('li', { class: 'warn-text' }, t('decision.approveClamped', { n: plan.clamped.length })) : null,
          ),
          h('p', { class: 'muted small' }, t('decision.approveBasis', { time: fmtTime(basisAt, { seconds: true }) })),
        ],
        confirmLabel: t('decision.approve'),
        field: { label: t('decision.comment'), required: false, maxLength: 2000 },
        check: replace ? { label: t('decision.replaceEmergencyConfirm', { planId: replace.planId }), required: t('decision.replaceEmergencyRequired') } : null,
      });
      if (result) await decide('approve', withRevision({ ...(result.value ? { comment: result.value } : {}), ...(replace ? { replaceEmergencyPlan: result.checked } : {}) }, state.revision));
    })();
  });
  reject.addEventListener('click', () => {
    if (!may(reject)) return;
    void (async () => {
      const result = await openDialog({
        title: t('decision.rejectTitle'),
        body: [h('p', {}, t('decision.rejectBody', { planId: state.planId }))],
        confirmLabel: t('decision.reject'),
        confirmClass: 'btn-danger',
        field: { label: t('decision.reason'), hint: t('decision.reasonHint'), required: true, maxLength: 2000 },
      });
      if (result) await decide('reject', withRevision({ reason: result.value }, state.revision));
    })();
  });

  return h(
    'section',
    { class: 'panel decision-panel', 'aria-labelledby': 'decision-h', 'aria-busy': busy ? 'true' : undefined },
    h('h2', { id: 'decision-h' }, t('decision.title')),
    h(
      'p',
      { id: noteId, class: canDecide ? 'muted' : 'alert alert-info', 'data-required-role': access.required },
      canDecide ? t('decision.hint') : viewerOnly ? t('decision.viewerOnly') : t('decision.needsRole', { role: requiredName, own: tOr(`role.${session?.user.role}`, session?.user.role ?? '—') }),
    ),
    // Seen before clicking: approving replaces the emergency plan in force (and who may).
    replace ? h('p', { class: 'alert alert-warn', 'data-replaces-emergency': replace.planId }, t('decision.replacesEmergency', { planId: replace.planId, role: replaceRoleName })) : null,
    h('div', { class: 'decision-actions' }, approve, modify, reject),
    status,
  );
}

function outcomeSummary(outcome) {
  const kind = outcome.failed > 0 ? 'error' : 'ok';
  return h(
    'section',
    { class: ['panel', 'outcome', `outcome-${kind}`], 'aria-labelledby': 'outcome-h' },
    h('h2', { id: 'outcome-h' }, t('outcome.title')),
    h(
      'p',
      {},
      t('outcome.summary', { step: outcome.stepIndex + 1, time: fmtTime(outcome.appliedAtUtcMs, { seconds: true }), verified: outcome.verified, skipped: outcome.skipped, failed: outcome.failed }),
    ),
  );
}

function unitOf(name) {
  if (/M3h$/.test(name) || /SpM3h$/.test(name)) return UNIT_M3H;
  if (/M$/.test(name) || /SpM$/.test(name)) return 'm';
  return '';
}

function valueWithUnit(value, name) {
  const unit = unitOf(name);
  if (unit === 'm') return withUnit(value, 2, 'm');
  if (unit === UNIT_M3H) return withUnit(value, 0, UNIT_M3H);
  return fmtNum(value, Number.isInteger(value) ? 0 : 2);
}

function stationCard(network, state, station, f, horizonH, forecast) {
  const plan = state.plan;
  const headingId = uid('station');
  const reason = plan.reasons.find((r) => r.objectId === station.id)?.reason;
  const L = station.levels;
  const firstStart = plan.steps[0]?.startUtcMs;

  const change = (current, next) => {
    if (current === null) return [withUnit(next, 2, 'm'), h('span', { class: 'muted small' }, ` (${t('station.currentUnknown')})`)];
    if (Math.abs(current - next) <= 0.005) return [withUnit(next, 2, 'm'), h('span', { class: 'muted small' }, ` (${t('station.unchanged')})`)];
    return [h('span', { class: 'sp-old' }, fmtNum(current, 2)), ' → ', h('strong', { class: 'sp-new' }, withUnit(next, 2, 'm'))];
  };
  const clampedOf = (name) => f.clamps.some((c) => c.setpoint === name);
  const clampMark = (name) => (clampedOf(name) ? h('span', { class: 'clamp-mark', title: t('station.clamped') }, ' ⛉', h('span', { class: 'sr-only' }, ` ${t('station.clamped')}`)) : null);

  const badges = [bandBadge(f.cls), modeBadge(f.mode)];
  if (f.clamps.length) badges.push(badge('warn', t('station.clamped')));
  if (state.outcome) badges.push(stationOutcomeBadge(f.writes));

  let setpoints;
  if (!f.sp) {
    setpoints = h('p', { class: 'muted' }, t('station.noSetpoint'));
  } else {
    const duty = station.pumps.length - station.standbyPumps;
    setpoints = h(
      'dl',
      { class: 'sp-list' },
      h('div', { class: clampedOf('startLevelM') ? 'sp clamped' : 'sp' }, h('dt', {}, t('station.startLevel')), h('dd', {}, change(num(f.snap?.startLevelSpM), f.sp.startLevelM), clampMark('startLevelM'))),
      h('div', { class: clampedOf('stopLevelM') ? 'sp clamped' : 'sp' }, h('dt', {}, t('station.stopLevel')), h('dd', {}, change(num(f.snap?.stopLevelSpM), f.sp.stopLevelM), clampMark('stopLevelM'))),
      h(
        'div',
        { class: 'sp' },
        h('dt', {}, t('station.pumpsAllowed')),
        h('dd', {}, t('station.pumpsAllowedValue', { allowed: f.sp.pumpsAllowed, total: station.pumps.length }), f.sp.pumpsAllowed > duty ? h('span', { class: 'note' }, ` · ${t('station.standbyReleased')}`) : null),
      ),
      h(
        'div',
        { class: 'sp' },
        h('dt', {}, t('station.control')),
        h('dd', {}, f.sp.remoteControl === 'flow' ? t('station.control.flow', { flow: withUnit(f.sp.flowM3h, 0, UNIT_M3H) }) : t('station.control.levelBand')),
      ),
    );
  }

  return h(
    'article',
    { class: ['station-card', `card-${f.cls}`, f.attention ? 'attention' : '', f.clamps.length ? 'clamped' : '', f.writeFailed ? 'failed' : ''], 'aria-labelledby': headingId },
    h('header', { class: 'sc-head' }, h('h3', { id: headingId }, h('span', { class: 'mono' }, station.id), ' ', localName(station.name)), h('span', { class: 'muted small' }, systemName(network, station.system)), h('span', { class: 'sc-badges' }, badges)),
    h(
      'div',
      { class: 'sc-grid' },
      h(
        'div',
        { class: 'sc-level' },
        h('div', { class: 'label' }, t('station.currentLevel')),
        h('div', { class: 'big-value' }, `${BAND_GLYPH[f.cls]}${withUnit(f.level, 2, 'm')}`),
        levelGauge(f.level, L),
        h('div', { class: 'small muted' }, t('station.bands', { stop: fmtNum(L.pumpStopM, 2), start: fmtNum(L.pumpStartM, 2), high: fmtNum(L.highAlarmM, 2), overflow: withUnit(L.overflowM, 2, 'm') })),
        h('div', { class: 'small' }, t('station.pumps', { running: fmtNum(num(f.snap?.pumpsRunning), 0), available: fmtNum(num(f.snap?.pumpsAvailable), 0) })),
        f.mode === 'local' ? h('div', { class: 'small warn-text' }, t('mode.localNote')) : null,
      ),
      h('div', { class: 'sc-setpoints' }, h('div', { class: 'label' }, t('station.firstStep', { time: fmtClock(firstStart) })), setpoints),
      h('figure', { class: 'sc-chart' }, setpointChart(plan, station, horizonH), h('figcaption', { class: 'sr-only' }, t('station.chartTitle'))),
    ),
    stationForecastRow(network, plan, station, forecast),
    h('p', { class: 'sc-reason' }, h('span', { class: 'label' }, `${t('station.reason')}:`), ' ', reason ? localName(reason) : h('span', { class: 'muted' }, t('station.noReason'))),
    f.clamps.length
      ? h(
          'ul',
          { class: 'clamp-list' },
          f.clamps.map((c) =>
            h('li', {}, `⛉ ${t('station.clampLine', { setpoint: tOr(`setpoint.${c.setpoint}`, c.setpoint), wanted: valueWithUnit(c.wanted, c.setpoint), sent: valueWithUnit(c.sent, c.setpoint) })}`),
          ),
        )
      : null,
    state.outcome ? writesDetails(f.writes) : null,
  );
}

function stationOutcomeBadge(writes) {
  if (writes.length === 0) return badge('muted', t('outcome.station.none'));
  if (writes.some((w) => w.status === 'failed' || w.status === 'mismatch')) return badge('error', `✖ ${t('outcome.station.failed')}`);
  if (writes.every((w) => w.status === 'skipped-local')) return badge('local', t('outcome.station.skipped'));
  return badge('ok', `✔ ${t('outcome.station.verified')}`);
}

function writesDetails(writes) {
  if (writes.length === 0) return null;
  const failed = writes.some((w) => w.status === 'failed' || w.status === 'mismatch');
  const statusKind = (st) => (st === 'verified' ? 'ok' : st === 'skipped-local' ? 'local' : 'error');
  return h(
    'details',
    { class: 'writes', open: failed || undefined, 'data-key': `writes-${writes[0].objectId}` },
    h('summary', {}, `${t('station.outcome')} · ${t('station.writes', { n: writes.length })}`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data-table compact' },
        h('thead', {}, h('tr', {}, ['write.colTag', 'write.colValue', 'write.colReadBack', 'write.colStatus', 'write.colDetail'].map((key) => h('th', { scope: 'col' }, t(key))))),
        h(
          'tbody',
          {},
          writes.map((w) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, tOr(`tag.${w.tag}`, w.tag), h('div', { class: 'mono small muted' }, w.nodeId)),
              h('td', { class: 'num' }, valueWithUnit(w.value, w.tag)),
              h('td', { class: 'num' }, w.readBack === null ? '—' : valueWithUnit(w.readBack, w.tag)),
              h('td', {}, badge(statusKind(w.status), tOr(`write.${w.status}`, w.status))),
              h('td', { class: 'small' }, w.detail ?? ''),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A horizontal bar of the station's bands with a marker at the level. */
function levelGauge(level, L) {
  const W = 180;
  const H = 14;
  const max = Math.max(L.overflowM * 1.1, level ?? 0);
  const x = (v) => Math.max(0, Math.min(W, (v / max) * W));
  const segments = [
    ['normal', 0, L.pumpStartM],
    ['above-start', L.pumpStartM, L.highAlarmM],
    ['high', L.highAlarmM, L.overflowM],
    ['overflow', L.overflowM, max],
  ];
  return s(
    'svg',
    { class: 'gauge', viewBox: `0 0 ${W} ${H + 4}`, width: W, height: H + 4, 'aria-hidden': 'true', focusable: 'false' },
    segments.map(([cls, a, b]) => s('rect', { class: `gauge-${cls}`, x: x(a), y: 2, width: Math.max(0, x(b) - x(a)), height: H })),
    s('line', { class: 'gauge-stop', x1: x(L.pumpStopM), x2: x(L.pumpStopM), y1: 2, y2: H + 2 }),
    typeof level === 'number' ? s('path', { class: 'gauge-marker', d: `M${x(level) - 5},0 L${x(level) + 5},0 L${x(level)},${H / 2 + 2} z` }) : null,
    typeof level === 'number' ? s('line', { class: 'gauge-level', x1: x(level), x2: x(level), y1: 0, y2: H + 4 }) : null,
  );
}

/** Start and stop level setpoints over the horizon as step lines, with the station's bands. */
function setpointChart(plan, station, horizonH) {
  const W = 280;
  const H = 96;
  const pad = { l: 34, r: 8, t: 8, b: 18 };
  const points = plan.steps
    .map((step) => ({ t: step.startUtcMs, sp: step.stations.find((x) => x.stationId === station.id) }))
    .filter((p) => p.sp);
  const L = station.levels;
  const name = `${station.id} ${localName(station.name)}`;
  if (points.length === 0) return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('station.noSetpoint') });
  const t0 = points[0].t;
  const t1 = points[points.length - 1].t + plan.stepMin * 60_000;
  const predictedLevels = plan.predicted?.stations.find((x) => x.stationId === station.id)?.levelM ?? [];
  const yMax = Math.max(L.overflowM, ...points.map((p) => p.sp.startLevelM), ...predictedLevels.filter(Number.isFinite)) * 1.05;
  const x = (ms) => pad.l + ((ms - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (m) => pad.t + (1 - m / yMax) * (H - pad.t - pad.b);
  const stepPath = (pick) => {
    let d = '';
    points.forEach((p, i) => {
      const px = x(p.t);
      const py = y(pick(p.sp));
      d += i === 0 ? `M${px},${py}` : ` H${px} V${py}`;
    });
    return `${d} H${x(t1)}`;
  };
  const starts = points.map((p) => p.sp.startLevelM);
  const stops = points.map((p) => p.sp.stopLevelM);
  const label = t('station.chartAria', {
    name,
    hours: fmtNum(horizonH, 0),
    startMin: fmtNum(Math.min(...starts), 2),
    startMax: withUnit(Math.max(...starts), 2, 'm'),
    stopMin: fmtNum(Math.min(...stops), 2),
    stopMax: withUnit(Math.max(...stops), 2, 'm'),
  });
  const hline = (value, cls) => s('line', { class: cls, x1: pad.l, x2: W - pad.r, y1: y(value), y2: y(value) });
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label },
    s('title', {}, label),
    s('rect', { class: 'chart-bg', x: pad.l, y: pad.t, width: W - pad.l - pad.r, height: H - pad.t - pad.b }),
    hline(L.overflowM, 'ref-overflow'),
    hline(L.highAlarmM, 'ref-high'),
    hline(L.pumpStartM, 'ref-start'),
    s('path', { class: 'line-stop', d: stepPath((sp) => sp.stopLevelM) }),
    s('path', { class: 'line-start', d: stepPath((sp) => sp.startLevelM) }),
    predictedLevelPath(plan, station, x, y),
    s('text', { class: 'axis', x: pad.l - 4, y: y(L.overflowM) + 4, 'text-anchor': 'end' }, fmtNum(L.overflowM, 1)),
    s('text', { class: 'axis', x: pad.l - 4, y: y(0), 'text-anchor': 'end' }, '0 m'),
    s('text', { class: 'axis', x: pad.l, y: H - 4 }, fmtClock(t0)),
    s('text', { class: 'axis', x: W - pad.r, y: H - 4, 'text-anchor': 'end' }, `+${fmtNum(horizonH, 0)} h`),
  );
}

function transfersPanel(network, plan) {
  const first = plan.steps[0];
  if (!first || (first.transfers.length === 0 && first.tanks.length === 0)) return null;
  const rows = [];
  for (const tr of first.transfers) {
    const x = network.interconnections.find((i) => i.id === tr.interconnectionId);
    const flow = tr.transferM3h;
    const dir = !x || Math.abs(flow) < 0.5 ? '' : flow > 0 ? `${x.a} → ${x.b}` : `${x.b} → ${x.a}`;
    rows.push([`${tr.interconnectionId} ${x ? localName(x.name) : ''}`, Math.abs(flow) < 0.5 ? t('plan.noFlow') : t('plan.transferValue', { flow: withUnit(Math.abs(flow), 0, UNIT_M3H), dir })]);
  }
  for (const tk of first.tanks) {
    const tank = network.tanks.find((x) => x.id === tk.tankId);
    rows.push([`${tk.tankId} ${tank ? localName(tank.name) : ''}`, t('plan.tankValue', { inlet: withUnit(tk.inletM3h, 0, UNIT_M3H), outlet: withUnit(tk.outletM3h, 0, UNIT_M3H) })]);
  }
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'transfers-h' },
    h('h2', { id: 'transfers-h' }, t('plan.transfers')),
    h('dl', { class: 'facts' }, rows.map(([term, value]) => h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, value)))),
  );
}

/** The optimiser's predicted level (end of each step) as a line over the setpoint chart. */
function predictedLevelPath(plan, station, x, y) {
  const levels = plan.predicted?.stations.find((p) => p.stationId === station.id)?.levelM;
  if (!levels || levels.length === 0) return null;
  let d = '';
  levels.forEach((level, i) => {
    const step = plan.steps[i];
    if (!step || !Number.isFinite(level)) return;
    d += `${d ? ' L' : 'M'}${x(step.startUtcMs + plan.stepMin * 60_000)},${y(level)}`;
  });
  return d ? s('path', { class: 'line-predicted', d }) : null;
}

/** Inflow forecast (p10–p90 band, deterministic line), the plan's pumped flow and the catchment's rain, for one station. */
function stationForecastRow(network, plan, station, forecast) {
  const inflow = forecast?.inflow?.stations?.find((x) => x.stationId === station.id) ?? null;
  const catchment = network.catchments.find((c) => c.node === station.id);
  const rain = catchment ? (forecast?.rain?.catchments?.find((x) => x.catchmentId === catchment.id) ?? null) : null;
  const predicted = plan.predicted?.stations.find((x) => x.stationId === station.id) ?? null;
  const risk = plan.predicted?.risk?.find((r) => r.objectId === station.id) ?? null;
  const pumped = predicted ? predicted.pumpedM3h.map((flow, i) => ({ t: plan.steps[i]?.startUtcMs, v: flow })).filter((p) => typeof p.t === 'number') : [];
  const facts = [];
  if (predicted) {
    const stepH = plan.stepMin / 60;
    const volume = predicted.pumpedM3h.reduce((a, q) => a + q * stepH, 0);
    facts.push(t('station.pumpedVolume', { volume: withUnit(volume, 0, 'm³'), peak: withUnit(Math.max(...predicted.pumpedM3h), 0, UNIT_M3H) }));
    const maxLevel = Math.max(...predicted.levelM);
    facts.push(t('station.predictedMax', { level: withUnit(maxLevel, 2, 'm'), margin: withUnit(station.levels.overflowM - maxLevel, 2, 'm') }));
  } else facts.push(t('station.noPrediction'));
  if (risk && risk.probability > 0) facts.push(t('station.overflowRisk', { pct: fmtNum(risk.probability * 100, 0), volume: withUnit(risk.expectedVolumeM3, 0, 'm³') }));
  if (inflow) {
    const peakP90 = Math.max(...inflow.p90M3h.filter((v) => v !== null));
    const peakDet = Math.max(...inflow.detM3h.filter((v) => v !== null));
    facts.push(t('station.inflowForecast', { det: withUnit(Number.isFinite(peakDet) ? peakDet : null, 0, UNIT_M3H), p90: withUnit(Number.isFinite(peakP90) ? peakP90 : null, 0, UNIT_M3H) }));
  } else facts.push(t('station.noInflowForecast'));
  if (rain) facts.push(t('station.rainForecast', { total: withUnit(rain.totalMm, 1, 'mm'), hours: fmtNum((rain.mm.length * (rain.stepMin ?? 60)) / 60, 0), catchment: rain.catchmentId }));
  return h(
    'div',
    { class: 'sc-forecast' },
    h('figure', { class: 'sc-chart' }, flowChart(station, plan, inflow, pumped, rain), h('figcaption', { class: 'small muted' }, t('station.flowLegend'))),
    h('ul', { class: 'sc-facts small' }, facts.map((f) => h('li', {}, f))),
  );
}

function flowChart(station, plan, inflow, pumped, rain) {
  const W = 280;
  const H = 96;
  const pad = { l: 40, r: 8, t: 8, b: 18 };
  const t0 = plan.steps[0]?.startUtcMs;
  const t1 = (plan.steps.at(-1)?.startUtcMs ?? t0) + plan.stepMin * 60_000;
  const label = t('station.flowChartAria', { name: `${station.id} ${localName(station.name)}` });
  if (typeof t0 !== 'number' || (!inflow && pumped.length === 0 && !rain)) return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('station.noInflowForecast') });
  const within = (ms) => ms >= t0 && ms <= t1;
  const values = [...pumped.map((p) => p.v)];
  if (inflow) inflow.timeUtcMs.forEach((ms, i) => within(ms) && values.push(inflow.p90M3h[i] ?? 0, inflow.detM3h[i] ?? 0));
  const yMax = Math.max(1, ...values.filter(Number.isFinite)) * 1.1;
  const x = (ms) => pad.l + ((Math.min(Math.max(ms, t0), t1) - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (q) => pad.t + (1 - q / yMax) * (H - pad.t - pad.b);
  const parts = [s('title', {}, label), s('rect', { class: 'chart-bg', x: pad.l, y: pad.t, width: W - pad.l - pad.r, height: H - pad.t - pad.b })];
  if (rain) {
    // Rain hangs from the top, on its own scale in mm/h (the largest rate fills a third of the chart);
    // rates, because the ensemble's step may differ from the deterministic one.
    const stepMs = (rain.stepMin ?? 60) * 60_000;
    const ens = rain.ensemble ?? null;
    const ensStepMs = (ens?.stepMin ?? 60) * 60_000;
    const rate = (mm, ms) => (mm * 3_600_000) / ms;
    const maxRate = Math.max(0.1, ...rain.mm.filter((v) => v !== null).map((v) => rate(v, stepMs)), ...(ens ? ens.p90Mm.filter((v) => v !== null).map((v) => rate(v, ensStepMs)) : []));
    const depth = (mmH) => pad.t + (mmH / maxRate) * (H - pad.t - pad.b) * 0.33;
    rain.timeUtcMs.forEach((ms, i) => {
      const mm = rain.mm[i];
      if (!within(ms) || mm === null || mm <= 0) return;
      parts.push(s('rect', { class: 'rain-bar', x: x(ms), y: pad.t, width: Math.max(1, x(ms + stepMs) - x(ms) - 0.5), height: depth(rate(mm, stepMs)) - pad.t }));
    });
    if (ens) {
      // The ensemble's P10–P90 as a stepped band and P50 as a dashed step line, like the inflow band;
      // a step where every member has a gap breaks the band (a gap is not dry).
      const runs = [[]];
      ens.timeUtcMs.forEach((ms, i) => {
        const lo = ens.p10Mm[i];
        const hi = ens.p90Mm[i];
        if (!within(ms) || lo === null || hi === null) {
          if (runs.at(-1).length) runs.push([]);
          return;
        }
        runs.at(-1).push({ x0: x(ms), x1: x(ms + ensStepMs), lo: depth(rate(lo, ensStepMs)), hi: depth(rate(hi, ensStepMs)), mid: ens.p50Mm[i] === null ? null : depth(rate(ens.p50Mm[i], ensStepMs)) });
      });
      for (const run of runs.filter((r) => r.length)) {
        const top = run.flatMap((p) => [`${p.x0},${p.lo}`, `${p.x1},${p.lo}`]);
        const bottom = [...run].reverse().flatMap((p) => [`${p.x1},${p.hi}`, `${p.x0},${p.hi}`]);
        parts.push(s('path', { class: 'band-rain', d: `M${top.join(' L')} L${bottom.join(' L')} Z` }));
        const mids = run.filter((p) => p.mid !== null);
        if (mids.length) parts.push(s('path', { class: 'line-rain-p50', d: mids.map((p) => `M${p.x0},${p.mid} H${p.x1}`).join(' ') }));
      }
    }
    parts.push(s('text', { class: 'axis', x: W - pad.r - 2, y: pad.t + 9, 'text-anchor': 'end' }, `${t('station.rainMax')} ${withUnit(maxRate, 1, 'mm/h')}`));
  }
  if (inflow) {
    const pts = inflow.timeUtcMs.map((ms, i) => ({ ms, lo: inflow.p10M3h[i], hi: inflow.p90M3h[i], det: inflow.detM3h[i] })).filter((p) => within(p.ms));
    const band = pts.filter((p) => p.lo !== null && p.hi !== null);
    if (band.length > 1) {
      const d = `M${band.map((p) => `${x(p.ms)},${y(p.hi)}`).join(' L')} L${[...band].reverse().map((p) => `${x(p.ms)},${y(p.lo)}`).join(' L')} Z`;
      parts.push(s('path', { class: 'band-inflow', d }));
    }
    const det = pts.filter((p) => p.det !== null);
    if (det.length > 1) parts.push(s('path', { class: 'line-inflow', d: `M${det.map((p) => `${x(p.ms)},${y(p.det)}`).join(' L')}` }));
  }
  if (pumped.length > 1) {
    let d = '';
    pumped.forEach((p, i) => {
      d += i === 0 ? `M${x(p.t)},${y(p.v)}` : ` H${x(p.t)} V${y(p.v)}`;
    });
    parts.push(s('path', { class: 'line-pumped', d: `${d} H${x(t1)}` }));
  }
  parts.push(
    s('text', { class: 'axis', x: pad.l - 4, y: pad.t + 8, 'text-anchor': 'end' }, fmtNum(yMax, 0)),
    s('text', { class: 'axis', x: pad.l - 4, y: y(0), 'text-anchor': 'end' }, 'm³/h'),
    s('text', { class: 'axis', x: pad.l, y: H - 4 }, fmtClock(t0)),
  );
  return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label }, parts);
}

/** Transfers, tanks and overflow order of the emergency plan in force (from the flood-season workflow's state). */
function inForcePanel(b, stationName) {
  const p = b.inForce;
  const table = (heads, rows) =>
    h('table', { class: 'data-table compact' }, h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows));
  const span = (from, until) => (from === null && until === null ? '—' : `${from === null ? '…' : fmtTime(from)} – ${until === null ? '…' : fmtTime(until)}`);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'inforce-h' },
    h('h2', { id: 'inforce-h' }, t('flood.inForce')),
    !p
      ? h('p', { class: 'muted' }, t('flood.inForceUnknown'))
      : [
          h('p', { class: 'muted small' }, t('flood.inForcePlan', { planId: p.emergencyPlanId })),
          h('h3', {}, t('flood.transfers')),
          p.transfers.length
            ? table(
                ['flood.colInterconnection', 'flood.colTransfer', 'flood.colToward', 'flood.colWhen'],
                p.transfers.map((x) =>
                  h('tr', {}, h('th', { scope: 'row' }, x.interconnectionId, h('div', { class: 'small muted' }, localName(x.reason))), h('td', { class: 'num' }, withUnit(x.transferM3h, 0, UNIT_M3H)), h('td', {}, x.towardPlantId ?? '—'), h('td', {}, span(x.fromUtcMs, x.untilUtcMs))),
                ),
              )
            : h('p', { class: 'muted' }, t('flood.noTransfers')),
          h('h3', {}, t('flood.tanks')),
          p.tanks.length
            ? table(
                ['flood.colTank', 'flood.colEmptyUntil', 'flood.colFill'],
                p.tanks.map((x) => h('tr', {}, h('th', { scope: 'row' }, x.tankId, h('div', { class: 'small muted' }, localName(x.reason))), h('td', {}, x.emptyUntilUtcMs === null ? '—' : fmtTime(x.emptyUntilUtcMs)), h('td', {}, span(x.fillFromUtcMs, x.fillUntilUtcMs)))),
              )
            : h('p', { class: 'muted' }, t('flood.noTanks')),
          p.overflowPriority.length
            ? [
                h('h3', {}, t('flood.overflowOrder')),
                table(
                  ['flood.colRank', 'table.station', 'flood.colReceiving'],
                  [...p.overflowPriority].sort((x, y) => x.rank - y.rank).map((x) => h('tr', {}, h('td', { class: 'num' }, String(x.rank)), h('th', { scope: 'row' }, stationName(x.stationId), h('div', { class: 'small muted' }, localName(x.reason))), h('td', {}, tOr(`water.${x.receivingWater}`, x.receivingWater)))),
                ),
              ]
            : null,
        ],
  );
}

/** What the optimiser expects over the horizon: energy, cost, overflow and bypass, and which objects are at risk. */
function predictionPanel(network, plan) {
  const p = plan.predicted;
  const rows = [];
  if (!p) {
    rows.push([t('prediction.none'), [plan.planner === 'rule-based' ? t('prediction.ruleBased') : '—']]);
  } else {
    rows.push(
      [t('prediction.cost'), [withUnit(p.costCny, 0, t('unit.cny'))]],
      [t('prediction.energy'), [withUnit(p.energyKwh, 0, 'kWh')]],
      [t('prediction.overflow'), [p.overflowM3 > 0.5 ? h('span', { class: 'warn-text' }, `⚠ ${withUnit(p.overflowM3, 0, 'm³')}`) : withUnit(0, 0, 'm³')]],
      [t('prediction.bypass'), [p.bypassM3 > 0.5 ? h('span', { class: 'warn-text' }, `⚠ ${withUnit(p.bypassM3, 0, 'm³')}`) : withUnit(0, 0, 'm³')]],
      [t('prediction.scenarios'), [t('prediction.scenarioCount', { n: p.scenarioCount })]],
    );
    const risky = (p.risk ?? []).filter((r) => r.probability > 0).sort((a, b) => b.probability - a.probability);
    rows.push([t('prediction.risk'), [risky.length ? risky.map((r) => `${r.objectId} ${fmtNum(r.probability * 100, 0)}%`).join(' · ') : t('prediction.noRisk')]]);
  }
  if (plan.fallback) rows.push([t('prediction.fallback'), [h('span', { class: 'warn-text' }, `⚠ ${JSON.stringify(plan.fallback).slice(0, 200)}`)]]);
  for (const a of plan.assumptions ?? []) rows.push([t('prediction.assumption'), [localName(a)]]);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'prediction-h' },
    h('h2', { id: 'prediction-h' }, t('prediction.title')),
    h('dl', { class: 'facts' }, rows.map(([term, value]) => h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, value)))),
  );
}

/** The plan's first step against the live plan (or SCADA's setpoints when no plan is live): only what changes. */
function diffPanel(network, diff) {
  const head = h('h2', { id: 'diff-h' }, t('diff.title'));
  if (!diff) return h('section', { class: 'panel', 'aria-labelledby': 'diff-h' }, head, h('p', { class: 'muted' }, t('common.loading')));
  const basis = diff.baseline === 'live-plan' ? t('diff.againstLive', { planId: diff.livePlanId }) : t('diff.againstScada');
  const changed = diff.stations.filter((x) => x.changed);
  const cell = (c, digits, unit) => {
    if (c.live === null) return [withUnit(c.proposed, digits, unit), h('span', { class: 'muted small' }, ` (${t('station.currentUnknown')})`)];
    if (c.live === c.proposed || (c.proposed !== null && Math.abs(c.live - c.proposed) < 10 ** -digits / 2)) return withUnit(c.proposed, digits, unit);
    return [h('span', { class: 'sp-old' }, c.live === null ? '—' : fmtNum(c.live, digits)), ' → ', h('strong', { class: 'sp-new' }, withUnit(c.proposed, digits, unit))];
  };
  const table = changed.length
    ? h(
        'table',
        { class: 'data-table compact diff-table' },
        h('caption', { class: 'sr-only' }, t('diff.title')),
        h('thead', {}, h('tr', {}, ['diff.colStation', 'station.startLevel', 'station.stopLevel', 'station.pumpsAllowed', 'diff.colFlow'].map((k, i) => h('th', { scope: 'col', class: i > 0 ? 'num' : undefined }, t(k))))),
        h(
          'tbody',
          {},
          changed.map((x) => {
            const st = network.stations.find((y) => y.id === x.stationId);
            return h(
              'tr',
              {},
              h('th', { scope: 'row' }, h('span', { class: 'mono' }, x.stationId), ' ', st ? localName(st.name) : ''),
              h('td', { class: 'num' }, cell(x.startLevelM, 2, 'm')),
              h('td', { class: 'num' }, cell(x.stopLevelM, 2, 'm')),
              h('td', { class: 'num' }, cell(x.pumpsAllowed, 0, '')),
              h('td', { class: 'num' }, x.remoteControl.proposed === 'flow' ? cell(x.flowM3h, 0, UNIT_M3H) : '—'),
            );
          }),
        ),
      )
    : h('p', { class: 'muted' }, t('diff.noChange'));
  const transfers = diff.transfers.filter((x) => x.changed);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'diff-h' },
    head,
    h('p', { class: 'muted small' }, basis, ' · ', t('diff.summary', { stations: diff.changedStations, transfers: diff.changedTransfers }), diff.atUtcMs ? ` · ${fmtTime(diff.atUtcMs)}` : ''),
    h('div', { class: 'table-wrap' }, table),
    transfers.length
      ? h('ul', {}, transfers.map((x) => h('li', {}, `${x.interconnectionId}: ${withUnit(x.transferM3h.live, 0, UNIT_M3H)} → ${withUnit(x.transferM3h.proposed, 0, UNIT_M3H)}`)))
      : null,
  );
}

function modificationsPanel(state) {
  const mods = state.modifications ?? [];
  if (mods.length === 0) return null;
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'mods-h' },
    h('h2', { id: 'mods-h' }, t('modify.history')),
    h(
      'ul',
      {},
      mods.map((m) =>
        h(
          'li',
          { class: 'modification' },
          t('modify.entry', { revision: m.revision, user: m.userName, role: tOr(`role.${m.role}`, m.role), time: fmtTime(m.atUtcMs, { seconds: true }) }),
          modificationChanges(m.constraints),
          m.comment ? h('div', { class: 'decision-comment' }, m.comment) : null,
        ),
      ),
    ),
  );
}

/** What one modification asked for, a sentence per band, lock and cap; the constraints as sent on hover. */
function modificationChanges(constraints) {
  if (!constraints) return null;
  const items = constraintItems(constraints);
  const raw = JSON.stringify(constraints);
  if (items.length === 0) return h('div', { class: 'mono small muted', lang: 'en' }, raw);
  return h('ul', { class: 'modification-changes', title: t('plan.rawText', { text: raw }) }, items.map((item) => h('li', {}, keyedText(item))));
}

/** The modify form: a level band for one station, stations locked to local control, a transfer cap. Resolves the request body or null. */
function openModifyDialog(network, state) {
  closeDialog();
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dlg-title');
    const dialog = h('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': titleId });
    const field = (label, input, hint) => {
      const id = uid('mod');
      input.id = id;
      return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
    };
    const bandStation = h('select', { name: 'bandStation' }, h('option', { value: '' }, t('modify.noBand')), network.stations.map((st) => h('option', { value: st.id }, `${st.id} ${localName(st.name)}`)));
    const bandMin = h('input', { type: 'number', step: '0.05', min: '0', name: 'minLevelM', inputmode: 'decimal' });
    const bandMax = h('input', { type: 'number', step: '0.05', min: '0', name: 'maxLevelM', inputmode: 'decimal' });
    const bandHint = h('p', { class: 'hint' });
    bandStation.addEventListener('change', () => {
      const st = network.stations.find((x) => x.id === bandStation.value);
      bandHint.textContent = st ? t('station.bands', { stop: fmtNum(st.levels.pumpStopM, 2), start: fmtNum(st.levels.pumpStartM, 2), high: fmtNum(st.levels.highAlarmM, 2), overflow: withUnit(st.levels.overflowM, 2, 'm') }) : '';
      // The browser's own range check follows the station: 0 to its overflow level.
      for (const input of [bandMin, bandMax]) {
        if (st) input.max = String(st.levels.overflowM);
        else input.removeAttribute('max');
      }
    });
    // A lock cannot be released by a modification (constraints only add up): those boxes are ticked and disabled.
    const already = new Set(state.constraints?.lockedStations ?? []);
    const locks = network.stations.map((st) => {
      const id = uid('lock');
      const locked = already.has(st.id);
      const box = h('input', { type: 'checkbox', id, value: st.id, checked: locked || undefined, disabled: locked || undefined, title: locked ? t('modify.lockedAlready') : undefined });
      return { box, el: h('label', { class: ['check', locked ? 'check-locked' : ''], for: id, title: locked ? t('modify.lockedAlready') : undefined }, box, ` ${st.id} ${localName(st.name)}`) };
    });
    const capLink = h('select', { name: 'capLink' }, h('option', { value: '' }, t('modify.noCap')), network.interconnections.map((x) => h('option', { value: x.id }, `${x.id} ${localName(x.name)} (≤ ${withUnit(x.capacityM3h, 0, UNIT_M3H)})`)));
    const capValue = h('input', { type: 'number', step: '10', min: '0', name: 'maxAbsM3h', inputmode: 'decimal' });
    const comment = h('textarea', { rows: 2, maxlength: 2000, name: 'comment' });
    const errorEl = h('p', { class: 'field-error', role: 'alert' });
    const form = h(
      'form',
      { novalidate: true },
      h('h2', { id: titleId }, t('modify.title')),
      h('p', { class: 'muted' }, t('modify.intro')),
      h('fieldset', {}, h('legend', {}, t('modify.band')), field(t('modify.station'), bandStation), bandHint, h('div', { class: 'field-row' }, field(t('modify.minLevel'), bandMin), field(t('modify.maxLevel'), bandMax))),
      h('fieldset', {}, h('legend', {}, t('modify.lock')), h('p', { class: 'hint' }, t('modify.lockHint')), h('div', { class: 'check-grid' }, locks.map((l) => l.el))),
      h('fieldset', {}, h('legend', {}, t('modify.cap')), h('div', { class: 'field-row' }, field(t('modify.link'), capLink), field(t('modify.capValue'), capValue))),
      field(t('decision.comment'), comment),
      errorEl,
    );
    const cancel = h('button', { type: 'button', class: 'btn' }, t('dialog.cancel'));
    const confirm = h('button', { type: 'submit', class: 'btn btn-primary' }, t('modify.submit'));
    form.append(h('div', { class: 'dialog-actions' }, cancel, confirm));
    dialog.append(form);
    const finish = dialogFinisher(dialog, opener, cancel, resolve);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = {};
      for (const input of [bandMin, bandMax, capValue, bandStation]) input.removeAttribute('aria-invalid');
      const fail = (message, input) => {
        errorEl.textContent = message;
        if (input) {
          input.setAttribute('aria-invalid', 'true');
          input.focus();
        }
      };
      if (bandStation.value) {
        const station = network.stations.find((x) => x.id === bandStation.value);
        // A number input holding text that is not a number reads as '' but fails validity.badInput.
        const read = (input) => (input.validity.badInput ? Number.NaN : input.value === '' ? undefined : Number(input.value));
        const min = read(bandMin);
        const max = read(bandMax);
        const problem = bandProblem(min, max, station.levels);
        if (problem) return fail(t(problem.key, { ...problem.params, overflow: fmtNum(station.levels.overflowM, 2) }), problem.field === 'max' ? bandMax : bandMin);
        body.stationBands = [{ stationId: bandStation.value, ...(min === undefined ? {} : { minLevelM: min }), ...(max === undefined ? {} : { maxLevelM: max }) }];
      }
      const locked = locks.filter((l) => l.box.checked).map((l) => l.box.value);
      const newLocks = locked.filter((id) => !already.has(id));
      if (newLocks.length) body.lockedStations = newLocks;
      if (capLink.value) {
        if (capValue.value === '' || Number(capValue.value) < 0) return fail(t('modify.errCap'), capValue);
        body.transferCaps = [{ interconnectionId: capLink.value, maxAbsM3h: Number(capValue.value) }];
      }
      if (!body.stationBands && !body.lockedStations && !body.transferCaps) return fail(t('modify.errEmpty'), bandStation);
      if (comment.value.trim()) body.comment = comment.value.trim();
      finish(body);
      return undefined;
    });
    activeDialog = { cancel: () => finish(null) };
    document.body.append(dialog);
    dialog.showModal();
    bandStation.focus();
  });
}

// ---------------------------------------------------------------------------------------------------
// Flood season board

const WARNING_GLYPH = { none: '', blue: '🔵 ', yellow: '🟡 ', orange: '🟠 ', red: '🔴 ' };

function warningBadge(level) {
  return h('span', { class: ['badge', `badge-warning-${level}`] }, `${WARNING_GLYPH[level] ?? ''}${tOr(`warning.${level}`, level)}`);
}

/** Time to rain onset, counted from now (the board's onset is an absolute time from the assessment); no forecast is not "no rain". */
function countdownText(board, now = Date.now()) {
  const c = floodRainOutlook(board, now);
  if (c.kind === 'unavailable') return t('flood.forecastUnavailable');
  if (c.kind === 'none') return t('flood.noRain');
  if (c.kind === 'ended') return t('flood.rainEnded');
  if (c.kind === 'raining') return t('flood.raining', { h: fmtNum(c.minutes / 60, 1) });
  return t('flood.onsetIn', { h: c.h, m: c.m });
}

/**
 * Replace `container`'s content with build() and keep what the user had: which <details data-key> were
 * open, and the focus (the focusable element at the same place, if it reads the same).
 */
function redrawKeeping(container, build) {
  const focusables = () => [...container.querySelectorAll('a[href], button, summary, input, select, textarea, [tabindex]')];
  const open = new Map([...container.querySelectorAll('details[data-key]')].map((d) => [d.dataset.key, d.open]));
  const active = document.activeElement;
  const at = active && container.contains(active) ? focusables().indexOf(active) : -1;
  const activeText = at >= 0 ? active.textContent : null;
  container.replaceChildren(build());
  for (const d of container.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = open.get(d.dataset.key);
  if (at >= 0) {
    const el = focusables()[at];
    if (el && el.textContent === activeText) el.focus({ preventScroll: true });
  }
}

async function renderFlood(ctx) {
  setTitle(t('flood.title'));
  const network = await loadNetwork();
  if (!ctx.alive()) return;
  const updated = h('p', { class: 'muted small', role: 'status' });
  const loadError = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  // Decision results and errors: outside the board, which is redrawn every 10 s.
  const noticeSlot = h('div', { class: 'notice-slot', hidden: true });
  const body = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('flood.title')), updated), loadError, noticeSlot, body);
  const markUpdated = freshness(ctx, updated, LIVE_REFRESH_MS);
  const notify = (notice) => {
    showNotice(noticeSlot, notice);
    // Errors and warnings are role="alert" and speak for themselves; the rest goes to the polite announcer.
    if (notice && (notice.kind === 'ok' || notice.kind === 'info')) announce(notice.text);
  };
  /** The decision in flight (its buttons stay disabled through redraws) and the emergency plan waiting. */
  const view = { busy: null, pendingId: null };
  let board = null;
  let status = null;
  let signature = '';
  const redraw = () => {
    if (board) redrawKeeping(body, () => floodBoard(network, board, status, view, decide, replan));
  };
  const load = async () => {
    let nextBoard;
    let nextStatus = null;
    try {
      [nextBoard, nextStatus] = await Promise.all([api('/api/flood/board'), api('/api/flood/status').catch(() => null)]);
    } catch (error) {
      if (!ctx.alive()) return;
      if (error instanceof ApiError && error.status === 404) {
        board = null;
        signature = '';
        loadError.hidden = true;
        body.replaceChildren(h('p', { class: 'alert alert-info', role: 'status' }, t('flood.notRunning')));
      } else if (!board) {
        body.replaceChildren(errorView(error));
      } else {
        // Keep the last board (the "updated at" line turns stale) and say why it is not newer.
        loadError.hidden = false;
        loadError.replaceChildren(errorView(error, { cls: '', role: null }));
      }
      return;
    }
    if (!ctx.alive()) return;
    loadError.hidden = true;
    markUpdated();
    const pendingId = nextBoard.pending?.emergencyPlanId ?? null;
    if (view.pendingId !== null && pendingId !== view.pendingId && view.busy === null && closeDialog()) {
      // The dialog was about a plan that is no longer the one waiting.
      notify({ kind: 'warn', text: pendingId ? t('flood.pendingChanged', { planId: pendingId }) : t('flood.pendingGone', { planId: view.pendingId }) });
    }
    view.pendingId = pendingId;
    board = nextBoard;
    status = nextStatus;
    const next = JSON.stringify([board, status?.pending ?? null]);
    if (next === signature) {
      // Nothing new: only the countdown moves, and nothing the user opened or focused is touched.
      for (const el of body.querySelectorAll('[data-countdown]')) el.textContent = countdownText(board);
      return;
    }
    signature = next;
    redraw();
  };
  /** Approve or reject the emergency plan waiting, one decision at a time. */
  const decide = async (kind, p) => {
    if (view.busy !== null || !hasRole(p.requiredRole)) return;
    const result = await openDialog({
      title: kind === 'approve' ? t('flood.approveTitle') : t('decision.rejectTitle'),
      body: [h('p', {}, localName(p.summary))],
      confirmLabel: kind === 'approve' ? t('flood.approve') : t('decision.reject'),
      confirmClass: kind === 'approve' ? 'btn-primary' : 'btn-danger',
      field: kind === 'approve' ? { label: t('decision.comment'), required: false } : { label: t('decision.reason'), required: true },
    });
    if (!result || !ctx.alive() || view.busy !== null) return;
    if (board?.pending?.emergencyPlanId !== p.emergencyPlanId) {
      notify({ kind: 'warn', text: board?.pending ? t('flood.pendingChanged', { planId: board.pending.emergencyPlanId }) : t('flood.pendingGone', { planId: p.emergencyPlanId }) });
      return;
    }
    view.busy = kind;
    notify(null);
    redraw();
    try {
      const requestBody = kind === 'approve' ? { emergencyPlanId: p.emergencyPlanId, ...(result.value ? { comment: result.value } : {}) } : { emergencyPlanId: p.emergencyPlanId, reason: result.value };
      await api(`/api/flood/${kind}`, { method: 'POST', body: requestBody });
      if (!ctx.alive()) return;
      notify({ kind: 'ok', text: kind === 'approve' ? t('decision.approved') : t('decision.rejected') });
    } catch (error) {
      if (!ctx.alive()) return;
      notify(errorNotice(error));
    } finally {
      view.busy = null;
    }
    signature = '';
    await load().catch(() => undefined);
    redraw();
  };
  /** Ask for a new emergency plan revision (POST /api/flood/replan): a warning in force, nothing waiting. */
  const replan = async () => {
    if (view.busy !== null || !hasRole('dispatcher')) return;
    const result = await openDialog({
      title: t('flood.replan.dialogTitle'),
      body: [h('p', {}, t('flood.replan.lead'))],
      confirmLabel: t('flood.replan.button'),
      field: { label: t('flood.replan.reason'), required: false },
    });
    if (!result || !ctx.alive() || view.busy !== null) return;
    view.busy = 'replan';
    notify(null);
    redraw();
    try {
      await api('/api/flood/replan', { method: 'POST', body: result.value ? { reason: result.value } : {} });
      if (!ctx.alive()) return;
      notify({ kind: 'ok', text: t('flood.replan.sent') });
    } catch (error) {
      if (!ctx.alive()) return;
      notify(errorNotice(error));
    } finally {
      view.busy = null;
    }
    signature = '';
    await load().catch(() => undefined);
    redraw();
  };
  await load();
  ctx.every(LIVE_REFRESH_MS, load);
}

/** Formats the params of a floodDataMissing item: times in Beijing time, the warning and yes/no translated. */
function missingText(item) {
  const p = { ...item.params };
  if ('since' in p) p.since = fmtTime(p.since);
  if ('warning' in p) p.warning = tOr(`warning.${p.warning}`, p.warning);
  if ('alarmed' in p) p.alarmed = t(p.alarmed === 'yes' ? 'flood.yes' : 'flood.no');
  return t(item.key, p);
}

/** The "数据缺失 / data missing" banner (F12): what the board's figures lack, the assessment's notes folded under it. */
function dataMissingBanner(b) {
  const items = floodDataMissing(b);
  if (!items.length) return null;
  const notes = items.flatMap((i) => i.notes);
  return h(
    'section',
    { class: 'alert alert-error data-missing', role: 'alert', 'aria-labelledby': 'dm-h' },
    h('h2', { id: 'dm-h' }, `⚠ ${t('flood.missing.title')}`),
    h('p', {}, t('flood.missing.lead')),
    h('ul', {}, items.map((i) => h('li', {}, missingText(i)))),
    notes.length ? h('details', { 'data-key': 'dm-notes' }, h('summary', {}, t('flood.missing.details')), h('ul', { class: 'small mono', lang: 'en' }, notes.map((n) => h('li', {}, n)))) : null,
  );
}

/** Notifications the season could not deliver: someone was not told and must be reached another way. */
function notificationFailuresPanel(b) {
  const failures = b.notificationFailures ?? [];
  if (!failures.length) return null;
  // A title is "中文 / English" (workflows write both): show the current language's half, the whole on hover.
  const titleOf = (title) => {
    const cut = title.indexOf(' / ');
    return cut < 0 ? title : getLang() === 'en' ? title.slice(cut + 3) : title.slice(0, cut);
  };
  return h(
    'section',
    { class: 'alert alert-warn', role: 'alert', 'aria-labelledby': 'nf-h' },
    h('h2', { id: 'nf-h' }, `⚠ ${t('flood.notifyFailed.title', { n: failures.length })}`),
    h('p', {}, t('flood.notifyFailed.lead')),
    h(
      'ul',
      {},
      [...failures].reverse().map((f) =>
        h('li', { title: `${f.title}\n${f.error}` }, t('flood.notifyFailed.line', { time: fmtTime(f.atUtcMs), audience: tOr(`audience.${f.audience}`, f.audience), title: titleOf(f.title) }), h('div', { class: 'small muted', lang: 'en' }, f.error)),
      ),
    ),
  );
}

/** Re-plan: offered while a warning is in force and nothing waits; once asked (or after an expiry or rejection), says a revision is coming. */
function replanPanel(b, view, replan) {
  const offer = floodReplanOffer(b);
  if (offer.due) return h('p', { class: 'alert alert-info', role: 'status' }, t(`flood.replan.due.${offer.due}`));
  if (!offer.show) return null;
  const allowed = hasRole('dispatcher');
  const busy = view.busy !== null;
  const button = h('button', { type: 'button', class: ['btn', 'btn-primary'], disabled: busy || !allowed || undefined }, `↻ ${t('flood.replan.button')}`);
  button.addEventListener('click', () => {
    if (!button.disabled && view.busy === null) void replan();
  });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'rp-h', 'aria-busy': busy ? 'true' : undefined },
    h('h2', { id: 'rp-h' }, t('flood.replan.title')),
    h('p', {}, t('flood.replan.lead')),
    allowed ? null : h('p', { class: 'alert alert-info' }, t('flood.replan.needsRole', { role: tOr('role.dispatcher', 'dispatcher') })),
    h('div', { class: 'decision-actions' }, button),
  );
}

function floodBoard(network, b, status, view, decide, replan) {
  const stationName = (id) => {
    const st = network.stations.find((x) => x.id === id);
    return st ? `${id} ${localName(st.name)}` : id;
  };
  const head = h(
    'section',
    { class: 'panel flood-head' },
    h(
      'dl',
      { class: 'facts' },
      h('div', { class: 'fact' }, h('dt', {}, t('flood.warning')), h('dd', {}, warningBadge(b.warning))),
      h('div', { class: 'fact' }, h('dt', {}, t('flood.response')), h('dd', {}, b.response ? tOr(`response.${b.response}`, b.response) : t('flood.noResponse'))),
      h(
        'div',
        { class: 'fact' },
        h('dt', {}, t('flood.onset')),
        h('dd', { class: ['big-value', b.inputs?.forecastMissing ? 'warn-text' : ''], 'data-countdown': '' }, countdownText(b)),
        h('dd', { class: 'small muted' }, b.rain.onsetUtcMs ? t('flood.onsetAt', { time: fmtTime(b.rain.onsetUtcMs), end: fmtTime(b.rain.endUtcMs) }) : b.inputs?.forecastMissing ? t('flood.forecastUnavailableHint') : ''),
        // The source in words, as on the forecasts page; the stored value on hover.
        h('dd', { class: 'small muted', title: b.inputs?.forecastSource ?? undefined }, b.inputs?.forecastIssuedAtUtcMs ? t('flood.forecastIssued', { time: fmtTime(b.inputs.forecastIssuedAtUtcMs), source: forecastSourceText(b.inputs.forecastSource) }) : t('flood.forecastNone')),
      ),
      h('div', { class: 'fact' }, h('dt', {}, t('flood.season')), h('dd', {}, tOr(`floodStatus.${b.status}`, b.status), h('span', { class: 'muted small' }, ` · ${t('flood.assessed', { time: fmtTime(b.assessedAtUtcMs) })}`))),
    ),
  );
  // What is missing comes first: the figures below read as facts otherwise.
  const parts = [dataMissingBanner(b), head, notificationFailuresPanel(b)];
  if (b.pending) parts.push(floodPendingPanel(b, view, decide), emergencyPlanDetails(network, status?.pending ?? null));
  parts.push(replanPanel(b, view, replan));
  if (b.live) parts.push(h('p', { class: 'alert alert-info' }, t('flood.live', { planId: b.live.emergencyPlanId, response: tOr(`response.${b.live.response}`, b.live.response), user: b.live.approvedBy }), ' ', h('a', { href: `#/plans/${encodeURIComponent(b.live.planWorkflowId)}` }, t('flood.openPlan'))));

  parts.push(
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'risk-h' },
      h('h2', { id: 'risk-h' }, t('flood.atRisk', { n: b.stationsAtRisk.length })),
      b.stationsAtRisk.length
        ? h(
            'table',
            { class: 'data-table' },
            h('thead', {}, h('tr', {}, ['table.station', 'flood.colRisk', 'table.level', 'flood.colMargin', 'flood.colRain'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h(
              'tbody',
              {},
              b.stationsAtRisk.map((r) =>
                h(
                  'tr',
                  { class: `row-${r.risk === 'overflow' ? 'overflow' : r.risk === 'high' ? 'high' : 'above-start'}` },
                  h('th', { scope: 'row' }, stationName(r.stationId)),
                  h('td', {}, tOr(`risk.${r.risk}`, r.risk)),
                  h('td', { class: 'num' }, withUnit(r.levelM, 2, 'm')),
                  h('td', { class: 'num' }, withUnit(r.marginToOverflowM, 2, 'm')),
                  h('td', {}, warningBadge(r.catchmentWarning)),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('flood.noneAtRisk')),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'dd-h' },
      h('h2', { id: 'dd-h' }, t('flood.drawdown')),
      b.drawdown.source
        ? [
            h('p', { class: 'muted small' }, t(b.drawdown.source === 'live' ? 'flood.drawdownLive' : 'flood.drawdownPending', { planId: b.drawdown.emergencyPlanId })),
            h(
              'ul',
              { class: 'progress-list' },
              b.drawdown.stations.map((d) =>
                h(
                  'li',
                  {},
                  h('span', { class: 'progress-name' }, stationName(d.stationId)),
                  h('progress', { max: 100, value: d.progressPct ?? 0, 'aria-label': t('flood.progressAria', { name: stationName(d.stationId), pct: d.progressPct ?? '—' }) }),
                  h(
                    'span',
                    { class: 'small' },
                    d.reached ? `✔ ${t('flood.reached')}` : t('flood.progressText', { level: withUnit(d.levelM, 2, 'm'), target: withUnit(d.targetStartLevelM, 2, 'm'), pct: d.progressPct === null ? '—' : `${d.progressPct}%` }),
                    d.startByUtcMs ? h('span', { class: 'muted' }, ` · ${t('flood.startBy', { time: fmtClock(d.startByUtcMs) })}`) : null,
                  ),
                ),
              ),
            ),
          ]
        : h('p', { class: 'muted' }, t('flood.noDrawdown')),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'crew-h' },
      h('h2', { id: 'crew-h' }, t('flood.crew')),
      b.crewTasks.length
        ? h(
            'table',
            { class: 'data-table' },
            h('thead', {}, h('tr', {}, ['flood.colTask', 'table.station', 'flood.colDue', 'flood.colWhere', 'flood.colState'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h(
              'tbody',
              {},
              b.crewTasks.map((c) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, tOr(`crew.${c.kind}`, c.kind), c.reason ? h('div', { class: 'small muted' }, localName(c.reason)) : null),
                  h('td', {}, stationName(c.stationId)),
                  h('td', {}, fmtTime(c.dueUtcMs)),
                  h('td', { class: 'mono small' }, c.latDeg === null ? '—' : `${fmtNum(c.latDeg, 4)}, ${fmtNum(c.lonDeg, 4)}`),
                  h('td', {}, badge(c.state === 'dispatched' ? 'ok' : 'warn', t(`crewState.${c.state}`))),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('flood.noCrew')),
    ),
    b.live ? inForcePanel(b, stationName) : null,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'rain-h' },
      h('h2', { id: 'rain-h' }, t('flood.rain')),
      h(
        'table',
        { class: 'data-table compact' },
        h('thead', {}, h('tr', {}, ['flood.colCatchment', 'flood.warning', 'flood.colOnset', 'flood.colMax3h', 'flood.colMax12h', 'flood.colObserved3h'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h(
          'tbody',
          {},
          b.rain.catchments.map((c) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, `${c.catchmentId} → ${c.stationId}`),
              h('td', {}, warningBadge(c.warning)),
              h('td', {}, fmtTime(c.onsetUtcMs)),
              h('td', { class: 'num' }, withUnit(c.forecastMax3hMm, 1, 'mm')),
              h('td', { class: 'num' }, withUnit(c.forecastMax12hMm, 1, 'mm')),
              h('td', { class: 'num' }, withUnit(c.observed3hMm, 1, 'mm')),
            ),
          ),
        ),
      ),
    ),
  );
  return h('div', {}, parts);
}

/** What the waiting emergency plan does besides drawdown: operating mode, transfers, tanks, least harmful overflows. */
function emergencyPlanDetails(network, p) {
  if (!p) return null;
  const reason = (x) => (x.reason ? h('div', { class: 'small muted' }, localName(x.reason)) : null);
  const list = (titleKey, items, line) =>
    items.length ? h('div', {}, h('h3', {}, t(titleKey)), h('ul', { class: 'plan-items' }, items.map((x) => h('li', {}, line(x), reason(x))))) : null;
  const nameOf = (collection, id) => {
    const x = network[collection].find((y) => y.id === id);
    return x ? `${id} ${localName(x.name)}` : id;
  };
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'ep-h' },
    h('h2', { id: 'ep-h' }, t('emergency.title')),
    h('p', {}, t('emergency.flowMode', { mode: tOr(`flowMode.${p.flowMode}`, p.flowMode), steps: p.setpointSteps })),
    list('emergency.transfers', p.transfers, (x) =>
      t('emergency.transfer', { link: nameOf('interconnections', x.interconnectionId), flow: withUnit(Math.abs(x.transferM3h), 0, UNIT_M3H), plant: x.towardPlantId ? nameOf('plants', x.towardPlantId) : '—', from: fmtTime(x.fromUtcMs), until: fmtTime(x.untilUtcMs) }),
    ),
    list('emergency.tanks', p.tanks, (x) => t('emergency.tank', { tank: nameOf('tanks', x.tankId), empty: fmtTime(x.emptyUntilUtcMs), from: fmtTime(x.fillFromUtcMs), until: fmtTime(x.fillUntilUtcMs) })),
    // Long (every station) and only needed if overflow cannot be avoided: folded by default.
    p.overflowPriority.length
      ? h(
          'details',
          { 'data-key': 'ep-overflow' },
          h('summary', {}, t('emergency.overflowSummary', { n: p.overflowPriority.length })),
          list('emergency.overflow', [...p.overflowPriority].sort((a, b) => a.rank - b.rank), (x) => t('emergency.overflowLine', { rank: x.rank, station: nameOf('stations', x.stationId), water: tOr(`water.${x.receivingWater}`, x.receivingWater) })),
        )
      : null,
  );
}

function floodPendingPanel(b, view, decide) {
  const p = b.pending;
  const canDecide = hasRole(p.requiredRole);
  const busy = view.busy !== null;
  const status = h('p', { class: 'decision-status', role: 'status' }, busy ? t('decision.busy') : '');
  // Disabled while a decision is in flight, through every redraw, so it cannot be sent twice.
  const button = (kind, cls, label) => {
    const el = h('button', { type: 'button', class: ['btn', cls, 'btn-large'], disabled: busy || undefined, 'aria-disabled': canDecide ? undefined : 'true' }, label);
    el.addEventListener('click', () => {
      if (!el.disabled && view.busy === null) void decide(kind, p);
    });
    return el;
  };
  const approve = button('approve', 'btn-primary', `✔ ${t('flood.approve')}`);
  const reject = button('reject', 'btn-danger', `✖ ${t('decision.reject')}`);
  return h(
    'section',
    { class: 'panel decision-panel', 'aria-labelledby': 'fp-h', 'aria-busy': busy ? 'true' : undefined },
    h('h2', { id: 'fp-h' }, t('flood.pending', { planId: p.emergencyPlanId })),
    h('p', {}, localName(p.summary)),
    h(
      'p',
      { class: 'small' },
      t('flood.pendingFacts', { response: tOr(`response.${p.response}`, p.response), role: tOr(`role.${p.requiredRole}`, p.requiredRole), deadline: fmtTime(p.deadlineUtcMs) }),
      p.escalatedAtUtcMs ? h('span', { class: 'warn-text' }, ` ⚠ ${t('flood.escalated', { time: fmtTime(p.escalatedAtUtcMs) })}`) : null,
    ),
    canDecide ? null : h('p', { class: 'alert alert-info' }, t('flood.needsRole', { role: tOr(`role.${p.requiredRole}`, p.requiredRole) })),
    h('div', { class: 'decision-actions' }, approve, reject),
    status,
  );
}

// ---------------------------------------------------------------------------------------------------
// Alerts

/** An alert's text: built here where the alert carries the values (times in Beijing time), else as the server wrote it. */
function alertMessage(a) {
  if (a.kind === 'plan-escalated' && typeof a.deadlineUtcMs === 'number') return t('alerts.planEscalated', { planId: a.objectId, deadline: fmtTime(a.deadlineUtcMs) });
  return localName(a.message);
}

async function renderAlerts(ctx) {
  setTitle(t('alerts.title'));
  const updated = h('p', { class: 'muted small', role: 'status' });
  const list = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('alerts.title')), h('p', { class: 'muted small' }, t('overview.refreshNote')), updated), list);
  let known = null;
  const markUpdated = freshness(ctx, updated, LIVE_REFRESH_MS);
  const load = async () => {
    let body;
    try {
      body = await api('/api/alerts');
    } catch (error) {
      if (ctx.alive()) list.replaceChildren(errorView(error));
      return;
    }
    if (!ctx.alive()) return;
    // Tell screen-reader users about alerts that were not there at the last refresh.
    const ids = new Set(body.alerts.map((a) => a.alertId));
    if (known) {
      const fresh = body.alerts.filter((a) => !known.has(a.alertId));
      if (fresh.length) announce(t('alerts.new', { n: fresh.length }));
    }
    known = ids;
    markUpdated(Date.now(), body.checkedAtUtcMs);
    const failed = body.sources.filter((x) => !x.ok);
    list.replaceChildren(
      failed.length ? h('p', { class: 'alert alert-warn' }, t('alerts.sourceFailed', { sources: failed.map((x) => `${tOr(`alertSource.${x.source}`, x.source)} (${x.detail ?? ''})`).join('; ') })) : '',
      body.alerts.length
        ? h(
            'table',
            { class: 'data-table' },
            h('caption', { class: 'sr-only' }, t('alerts.title')),
            h('thead', {}, h('tr', {}, ['alerts.colSeverity', 'alerts.colKind', 'alerts.colMessage', 'alerts.colTime'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h(
              'tbody',
              {},
              body.alerts.map((a) =>
                h(
                  'tr',
                  { class: a.severity === 'critical' ? 'row-overflow' : a.severity === 'warning' ? 'row-high' : undefined },
                  h('td', {}, badge(a.severity === 'critical' ? 'error' : a.severity === 'warning' ? 'warn' : 'muted', t(`severity.${a.severity}`))),
                  h('td', {}, tOr(`alert.${a.kind}`, a.kind)),
                  h('td', {}, alertMessage(a), a.link ? [' ', h('a', { href: a.link }, t('alerts.open'))] : null),
                  h('td', { class: 'nowrap' }, a.atUtcMs ? fmtTime(a.atUtcMs) : '—', h('div', { class: 'small muted' }, a.atUtcMs ? fmtAge(a.atUtcMs) : '')),
                ),
              ),
            ),
          )
        : h('p', { class: 'alert alert-info' }, `✔ ${t('alerts.none')}`),
    );
  };
  await load();
  ctx.every(LIVE_REFRESH_MS, load);
}

// ---------------------------------------------------------------------------------------------------
// Forecasts

async function renderForecasts(ctx) {
  setTitle(t('forecasts.title'));
  const network = await loadNetwork();
  if (!ctx.alive()) return;
  const body = await api('/api/forecasts');
  if (!ctx.alive()) return;
  // The source in words (as on the plan page), the stored value on hover.
  const rainSource = body.rain.source ? h('span', { class: 'forecast-source', title: body.rain.source }, forecastSourceText(body.rain.source)) : '—';
  const rainInfo = body.rain.issuedAtUtcMs
    ? tWith('forecasts.rainIssued', { time: fmtTime(body.rain.issuedAtUtcMs), age: fmtAge(body.rain.issuedAtUtcMs) }, { source: rainSource })
    : t('forecasts.noRain');
  const ensembleInfo = body.rain.ensemble
    ? t('forecasts.rainEnsemble', { time: fmtTime(body.rain.ensemble.issuedAtUtcMs), members: body.rain.ensemble.members, source: body.rain.ensemble.source })
    : t('forecasts.noEnsemble');
  const inflowInfo = body.inflow.issuedAtUtcMs
    ? t('forecasts.inflowIssued', { time: fmtTime(body.inflow.issuedAtUtcMs), age: fmtAge(body.inflow.issuedAtUtcMs), quality: tOr(`rainQuality.${body.inflow.rainQuality}`, body.inflow.rainQuality ?? '—') })
    : t('forecasts.noInflow');
  const pseudoPlan = (timeUtcMs) => ({ steps: timeUtcMs.map((ms) => ({ startUtcMs: ms })), stepMin: timeUtcMs.length > 1 ? (timeUtcMs[1] - timeUtcMs[0]) / 60_000 : 60 });
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('forecasts.title'))),
    h('p', { class: 'muted' }, t('forecasts.intro')),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'fr-h' },
      h('h2', { id: 'fr-h' }, t('forecasts.rain')),
      h('p', { class: 'muted small' }, rainInfo),
      body.rain.issuedAtUtcMs ? h('p', { class: 'muted small' }, ensembleInfo) : null,
      h(
        'div',
        { class: 'forecast-grid' },
        body.rain.catchments.map((c) =>
          h(
            'figure',
            { class: 'forecast-card' },
            h('figcaption', {}, h('strong', {}, c.catchmentId), ` → ${c.stationId} · ${t('forecasts.total', { total: withUnit(c.totalMm, 1, 'mm') })}`, c.gaps ? h('span', { class: 'warn-text' }, ` ⚠ ${t('forecasts.gaps', { n: c.gaps })}`) : null),
            flowChart({ id: c.catchmentId, name: { zh: c.catchmentId, en: c.catchmentId } }, pseudoPlan(c.timeUtcMs), null, [], c),
          ),
        ),
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'fi-h' },
      h('h2', { id: 'fi-h' }, t('forecasts.inflow')),
      h('p', { class: 'muted small' }, inflowInfo, ' · ', t('forecasts.bandNote')),
      h(
        'div',
        { class: 'forecast-grid' },
        body.inflow.stations.map((x) => {
          const st = network.stations.find((y) => y.id === x.stationId);
          const p90 = Math.max(...x.p90M3h.filter((v) => v !== null));
          return h(
            'figure',
            { class: 'forecast-card' },
            h('figcaption', {}, h('strong', {}, x.stationId), ` ${st ? localName(st.name) : ''} · ${t('forecasts.peakP90', { flow: withUnit(Number.isFinite(p90) ? p90 : null, 0, UNIT_M3H) })}`),
            flowChart(st ?? { id: x.stationId, name: {} }, pseudoPlan(x.timeUtcMs), x, [], null),
          );
        }),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------
// History of plan events

async function renderHistory(ctx) {
  setTitle(t('history.title'));
  const days = h('select', { id: uid('days') }, [1, 7, 30].map((n) => h('option', { value: n, selected: n === 7 || undefined }, t('history.days', { n }))));
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, t('common.loading')));
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('history.title'))),
    h('p', { class: 'muted' }, t('history.intro')),
    h('div', { class: 'toolbar' }, h('label', { for: days.id }, t('history.period')), days),
    h('section', { class: 'panel' }, list),
  );
  const load = async () => {
    const toUtcMs = Date.now();
    const fromUtcMs = toUtcMs - Number(days.value) * 86_400_000;
    let body;
    try {
      body = await api(`/api/history?fromUtcMs=${fromUtcMs}&toUtcMs=${toUtcMs}&limit=500`);
    } catch (error) {
      if (ctx.alive()) list.replaceChildren(errorView(error));
      return;
    }
    if (!ctx.alive()) return;
    list.replaceChildren(
      body.events.length
        ? h(
            'table',
            { class: 'data-table' },
            h('caption', { class: 'sr-only' }, t('history.title')),
            h('thead', {}, h('tr', {}, ['audit.colTime', 'plans.colPlan', 'plans.colStatus', 'plans.colDecidedBy', 'history.colWrites', 'history.colDetail'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h(
              'tbody',
              {},
              body.events.map((e) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'nowrap' }, fmtTime(e.atUtcMs, { seconds: true })),
                  h('th', { scope: 'row' }, h('a', { class: 'mono', href: `#/plans/${encodeURIComponent(e.planId)}` }, e.planId)),
                  h('td', {}, statusBadge(e.status)),
                  h('td', {}, e.decidedBy ?? '—'),
                  h('td', { class: 'num' }, e.verified + e.failed + e.skipped > 0 ? t('history.writes', { verified: e.verified, failed: e.failed, skipped: e.skipped }) : '—'),
                  h('td', { class: 'small event-detail' }, e.detail ? workflowText(planEventDetail(e.status, e.detail), e.detail) : ''),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('history.empty')),
    );
  };
  days.addEventListener('change', () => void load());
  await load();
  ctx.every(PLANS_REFRESH_MS * 3, load);
}

// ---------------------------------------------------------------------------------------------------
// Post-event reports

async function renderReports(ctx) {
  setTitle(t('reports.title'));
  const body = await api('/api/flood/reports');
  if (!ctx.alive()) return;
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('reports.title'))),
    h(
      'section',
      { class: 'panel' },
      body.reports.length
        ? h(
            'table',
            { class: 'data-table' },
            h('thead', {}, h('tr', {}, ['reports.colEvent', 'flood.warning', 'reports.colPeriod', 'reports.colOverflow', 'reports.colSummary'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h(
              'tbody',
              {},
              body.reports.map((r) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, h('a', { class: 'mono', href: `#/reports/${encodeURIComponent(r.eventId)}` }, r.eventId)),
                  h('td', {}, warningBadge(r.peakWarning)),
                  h('td', { class: 'nowrap' }, `${fmtTime(r.startedAtUtcMs)} – ${fmtTime(r.endedAtUtcMs)}`),
                  h('td', { class: 'num' }, withUnit(r.overflowM3, 0, 'm³')),
                  h('td', { class: 'small' }, r.summary ? localName(r.summary) : '—'),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('reports.empty')),
    ),
  );
}

async function renderReport(ctx, eventId) {
  setTitle(eventId);
  const r = await api(`/api/flood/report?eventId=${encodeURIComponent(eventId)}`);
  if (!ctx.alive()) return;
  const pa = r.planAgainstActual;
  const rows = (items, cols) => h('table', { class: 'data-table compact' }, h('thead', {}, h('tr', {}, cols.map(([key]) => h('th', { scope: 'col' }, t(key))))), h('tbody', {}, items.map((item) => h('tr', {}, cols.map(([, get]) => h('td', {}, get(item)))))));
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/reports' }, t('reports.back'))),
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('reports.report'), ' ', h('code', {}, r.eventId))),
    h('section', { class: 'panel' }, h('p', {}, localName(r.summary)), h('p', { class: 'muted small' }, `${fmtTime(r.startedAtUtcMs)} – ${fmtTime(r.endedAtUtcMs)} · ${t('reports.duration', { h: fmtNum(r.durationH, 1) })}`)),
    // What the report had to fall back on or could not know ({zh, en} each): before the figures it qualifies.
    r.notes?.length ? h('section', { class: 'alert alert-warn', 'aria-labelledby': 'rn-h' }, h('h2', { id: 'rn-h' }, t('reports.notes')), h('ul', {}, r.notes.map((n) => h('li', {}, localName(n))))) : null,
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, t('reports.onset')),
      h('p', {}, t('reports.onsetText', { forecast: fmtTime(pa.onset.forecastUtcMs), observed: fmtTime(pa.onset.observedUtcMs), error: pa.onset.errorMin === null ? '—' : pa.onset.errorMin })),
      h('h2', {}, t('reports.rain')),
      rows(pa.rain, [
        ['flood.colCatchment', (x) => x.catchmentId],
        ['reports.colForecast3h', (x) => withUnit(x.forecastMax3hMm, 1, 'mm')],
        ['reports.colObserved3h', (x) => withUnit(x.observedMax3hMm, 1, 'mm')],
        ['reports.colForecastTotal', (x) => withUnit(x.forecastTotalMm, 1, 'mm')],
        ['reports.colObservedTotal', (x) => withUnit(x.observedTotalMm, 1, 'mm')],
      ]),
      h('h2', {}, t('reports.drawdown')),
      rows(pa.drawdown, [
        ['table.station', (x) => x.stationId],
        ['reports.colTarget', (x) => withUnit(x.targetStartLevelM, 2, 'm')],
        ['reports.colMinBefore', (x) => withUnit(x.minLevelBeforeOnsetM, 2, 'm')],
        ['reports.colReached', (x) => (x.reachedTarget === null ? '—' : x.reachedTarget ? `✔ ${t('reports.yes')}` : `✖ ${t('reports.no')}`)],
      ]),
      h('h2', {}, t('reports.overflow')),
      h('p', {}, t('reports.overflowText', { total: withUnit(r.overflows.totalM3, 0, 'm³'), stations: r.overflows.stations.map((x) => `${x.stationId} ${fmtNum(x.overflowM3, 0)} m³`).join(' · ') || t('common.none') })),
      r.overflows.source ? h('p', { class: ['small', r.overflows.source === 'telemetry' ? 'muted' : 'warn-text'] }, tOr(`reports.source.${r.overflows.source}`, r.overflows.source)) : null,
      // plannedM3 null: no dispatched plan predicted an overflow (not a prediction of 0).
      h('p', {}, t('reports.planned', { planned: withUnit(pa.overflow.plannedM3, 0, 'm³'), planId: pa.overflow.plannedByPlanId ?? '—', actual: withUnit(pa.overflow.actualM3, 0, 'm³') })),
      r.levels?.source ? h('p', { class: ['small', r.levels.source === 'telemetry' ? 'muted' : 'warn-text'] }, `${t('reports.levels')}: ${tOr(`reports.source.${r.levels.source}`, r.levels.source)}`) : null,
      r.dispatch !== undefined
        ? [
            h('h2', {}, t('reports.dispatch')),
            h(
              'ul',
              { class: 'plan-items' },
              reportDispatchLines(r.dispatch).map((line) => {
                const p = { ...line.params };
                if ('atUtcMs' in p) p.time = fmtTime(p.atUtcMs);
                const indent = line.key !== 'reports.dispatchPlan' && line.key !== 'reports.dispatchClean' && line.key !== 'reports.dispatchUnknown';
                return h('li', { class: indent ? 'warn-text small' : '' }, t(line.key, p));
              }),
            ),
          ]
        : null,
      h('h2', {}, t('reports.actions')),
      rows(r.actions, [
        ['audit.colTime', (x) => fmtTime(x.atUtcMs, { seconds: true })],
        ['reports.colAction', (x) => tOr(`floodAction.${x.kind}`, x.kind)],
        ['plans.colDecidedBy', (x) => x.by ?? '—'],
        ['history.colDetail', (x) => (x.detail ? workflowText(floodActionDetail(x.kind, x.detail), x.detail) : '')],
      ]),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------
// Account: change one's own password (POST /api/auth/password; the other sessions end, this one stays)

function renderAccount() {
  setTitle(t('account.title'));
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('account.title'))));
  const input = (autocomplete) => h('input', { type: 'password', autocomplete, required: true, maxlength: 1024 });
  const inputs = { current: input('current-password'), next: input('new-password'), repeat: input('new-password') };
  const field = (key, el, hint) => {
    el.id = uid('account');
    const hintId = hint ? `${el.id}-hint` : null;
    if (hintId) el.setAttribute('aria-describedby', hintId);
    return h('div', { class: 'field' }, h('label', { for: el.id }, t(key)), el, hint ? h('p', { id: hintId, class: 'hint' }, hint) : null);
  };
  const status = h('div', { role: 'status' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, t('account.submit'));
  const form = h(
    'form',
    { novalidate: true },
    h('h2', {}, t('account.password')),
    field('account.current', inputs.current),
    field('account.new', inputs.next, t('account.policy')),
    field('account.repeat', inputs.repeat),
    button,
    status,
  );
  const say = (kind, text) => status.replaceChildren(h('p', { class: `alert alert-${kind}` }, text));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if ([...inputs.next.value].length < 12) return say('error', t('account.tooShort'));
    if (inputs.next.value !== inputs.repeat.value) return say('error', t('account.mismatch'));
    button.disabled = true;
    try {
      await api('/api/auth/password', { method: 'POST', body: { currentPassword: inputs.current.value, newPassword: inputs.next.value } });
      for (const el of Object.values(inputs)) el.value = '';
      say('ok', t('account.changed'));
    } catch (error) {
      // A wrong current password is its own sentence; any other refusal (too weak) keeps the server's words folded.
      if (error instanceof ApiError && error.status === 400 && /currentPassword/.test(error.message)) say('error', t('account.wrongCurrent'));
      else status.replaceChildren(errorView(error));
    } finally {
      button.disabled = false;
    }
  });
  main.append(h('p', {}, t('account.intro')), form);
}

// ---------------------------------------------------------------------------------------------------
// Users and API tokens (admin): enable or disable a user, revoke a token. Creating users, resetting passwords
// and issuing tokens stay with the API and `npm run admin` (a password or token is never typed or shown here).

async function renderUsers(ctx) {
  setTitle(t('users.title'));
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('users.title'))));
  if (!hasRole('admin')) {
    main.append(h('p', { class: 'alert alert-info' }, t('users.forbidden')));
    return;
  }
  const status = h('div', { role: 'status' });
  const usersBox = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, t('common.loading')));
  const tokensBox = h('div', { class: 'table-wrap' });
  main.append(h('p', { class: 'muted' }, t('users.intro')), status, h('section', { class: 'panel' }, h('h2', {}, t('users.users')), usersBox), h('section', { class: 'panel' }, h('h2', {}, t('users.tokens')), tokensBox));
  const when = (ms) => (ms === null || ms === undefined ? '—' : fmtTime(ms));
  // Disabling and revoking ask first (a revoked token cannot be restored: a new one must be issued).
  const act = async (request, done, confirmText) => {
    if (confirmText) {
      const answer = await openDialog({ title: confirmText, body: [h('p', {}, t('users.confirmBody'))], confirmLabel: t('users.confirm'), confirmClass: 'btn-danger' });
      if (!answer || !ctx.alive()) return;
    }
    try {
      await request();
      if (!ctx.alive()) return;
      status.replaceChildren(h('p', { class: 'alert alert-ok' }, done));
    } catch (error) {
      if (ctx.alive()) status.replaceChildren(errorView(error));
    }
    await load();
  };
  const load = async () => {
    let users;
    let tokens;
    try {
      [users, tokens] = await Promise.all([api('/api/users'), api('/api/tokens')]);
    } catch (error) {
      if (ctx.alive()) usersBox.replaceChildren(errorView(error));
      return;
    }
    if (!ctx.alive()) return;
    usersBox.replaceChildren(
      h(
        'table',
        { class: 'data-table' },
        h('caption', { class: 'sr-only' }, t('users.users')),
        h('thead', {}, h('tr', {}, ['users.colUser', 'users.colName', 'users.colRole', 'users.colState', 'users.colCreated', 'users.colAction'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h(
          'tbody',
          {},
          users.users.map((u) => {
            const self = u.userName.toLowerCase() === session.user.userName.toLowerCase();
            const button = u.disabled
              ? h('button', { type: 'button', class: 'btn', onclick: () => void act(() => api(`/api/users/${encodeURIComponent(u.userName)}/enable`, { method: 'POST' }), t('users.enabled', { user: u.userName })) }, t('users.enable'))
              : h('button', { type: 'button', class: 'btn btn-danger', disabled: self || undefined, title: self ? t('users.notSelf') : undefined, onclick: () => void act(() => api(`/api/users/${encodeURIComponent(u.userName)}/disable`, { method: 'POST' }), t('users.disabled', { user: u.userName }), t('users.confirmDisable', { user: u.userName })) }, t('users.disable'));
            return h(
              'tr',
              { class: u.disabled ? 'row-warn' : undefined },
              h('td', { class: 'mono' }, u.userName),
              h('td', {}, u.displayName),
              h('td', {}, tOr(`role.${u.role}`, u.role)),
              h('td', {}, u.disabled ? t('users.stateDisabled') : t('users.stateActive')),
              h('td', { class: 'nowrap' }, when(u.createdAtUtcMs)),
              h('td', {}, button),
            );
          }),
        ),
      ),
    );
    tokensBox.replaceChildren(
      tokens.tokens.length
        ? h(
            'table',
            { class: 'data-table' },
            h('caption', { class: 'sr-only' }, t('users.tokens')),
            h('thead', {}, h('tr', {}, ['users.colToken', 'users.colUser', 'users.colCreated', 'users.colExpires', 'users.colLastUsed', 'users.colState', 'users.colAction'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h(
              'tbody',
              {},
              tokens.tokens.map((tk) => {
                const expired = tk.expiresAtUtcMs !== null && tk.expiresAtUtcMs <= Date.now();
                const state = tk.revokedAtUtcMs !== null ? t('users.tokenRevoked', { time: when(tk.revokedAtUtcMs) }) : expired ? t('users.tokenExpired') : t('users.stateActive');
                const live = tk.revokedAtUtcMs === null && !expired;
                return h(
                  'tr',
                  { class: live ? undefined : 'muted' },
                  h('td', {}, tk.name, h('div', { class: 'mono small muted' }, tk.id)),
                  h('td', { class: 'mono' }, tk.userName, ' ', badge('role', tOr(`role.${tk.role}`, tk.role))),
                  h('td', { class: 'nowrap' }, when(tk.createdAtUtcMs)),
                  h('td', { class: 'nowrap' }, tk.expiresAtUtcMs === null ? t('users.never') : when(tk.expiresAtUtcMs)),
                  h('td', { class: 'nowrap' }, when(tk.lastUsedAtUtcMs)),
                  h('td', {}, state),
                  h(
                    'td',
                    {},
                    live
                      ? h('button', { type: 'button', class: 'btn btn-danger', 'aria-label': t('users.revokeNamed', { name: tk.name }), onclick: () => void act(() => api(`/api/tokens/${tk.id}`, { method: 'DELETE' }), t('users.revoked', { name: tk.name }), t('users.confirmRevoke', { name: tk.name, user: tk.userName })) }, t('users.revoke'))
                      : '',
                  ),
                );
              }),
            ),
          )
        : h('p', { class: 'muted' }, t('users.noTokens')),
    );
  };
  await load();
}

// ---------------------------------------------------------------------------------------------------
// Audit log (supervisor and admin)

/** "YYYY-MM-DDTHH:MM" typed as China time (UTC+8, no DST) to UTC milliseconds. */
function chinaLocalToUtcMs(value) {
  if (!value) return undefined;
  const ms = Date.parse(`${value.length === 16 ? `${value}:00` : value}+08:00`);
  return Number.isFinite(ms) ? ms : undefined;
}

function renderAudit(ctx) {
  setTitle(t('audit.title'));
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, t('audit.title'))));
  if (!hasRole('supervisor')) {
    main.append(h('p', { class: 'alert alert-info' }, t('audit.forbidden')));
    return;
  }
  const field = (key, input, hint) => {
    const id = uid('audit');
    input.id = id;
    const hintId = hint ? `${id}-hint` : null;
    if (hintId) input.setAttribute('aria-describedby', hintId);
    return h('div', { class: 'field' }, h('label', { for: id }, t(key)), input, hint ? h('p', { id: hintId, class: 'hint' }, hint) : null);
  };
  const listId = uid('audit-actions');
  const inputs = {
    userName: h('input', { type: 'text', autocomplete: 'off', maxlength: 200 }),
    action: h('input', { type: 'text', list: listId, autocomplete: 'off', maxlength: 100 }),
    target: h('input', { type: 'text', autocomplete: 'off', maxlength: 500 }),
    text: h('input', { type: 'search', autocomplete: 'off', maxlength: 200 }),
    from: h('input', { type: 'datetime-local' }),
    to: h('input', { type: 'datetime-local' }),
    limit: h('select', {}, [50, 100, 200, 500].map((n) => h('option', { value: n, selected: n === 100 || undefined }, String(n)))),
  };
  const results = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  let offset = 0;

  const search = async () => {
    const limit = Number(inputs.limit.value);
    const params = new URLSearchParams();
    for (const key of ['userName', 'action', 'target', 'text']) {
      const value = inputs[key].value.trim();
      if (value) params.set(key, value);
    }
    const from = chinaLocalToUtcMs(inputs.from.value);
    const to = chinaLocalToUtcMs(inputs.to.value);
    // An empty range would read as "nothing happened" (the API refuses it too).
    if (from !== undefined && to !== undefined && from >= to) {
      error.hidden = false;
      error.replaceChildren(t('audit.badRange'));
      results.replaceChildren();
      pager.replaceChildren();
      return;
    }
    if (from !== undefined) params.set('fromUtcMs', String(from));
    if (to !== undefined) params.set('toUtcMs', String(to));
    params.set('limit', String(limit));
    params.set('offset', String(offset));
    results.setAttribute('aria-busy', 'true');
    try {
      const reply = await api(`/api/audit?${params.toString()}`);
      if (!ctx.alive()) return;
      error.hidden = true;
      results.replaceChildren(auditTable(reply.entries));
      const prev = h('button', { type: 'button', class: 'btn', disabled: offset === 0 || undefined }, `← ${t('audit.prev')}`);
      const next = h('button', { type: 'button', class: 'btn', disabled: reply.entries.length < limit || undefined }, `${t('audit.next')} →`);
      prev.addEventListener('click', () => {
        offset = Math.max(0, offset - limit);
        void search();
      });
      next.addEventListener('click', () => {
        offset += limit;
        void search();
      });
      pager.replaceChildren(
        prev,
        h('span', { class: 'muted', role: 'status' }, reply.entries.length ? t('audit.range', { from: offset + 1, to: offset + reply.entries.length }) : ''),
        next,
      );
    } catch (err) {
      if (!ctx.alive()) return;
      error.hidden = false;
      error.replaceChildren(errorView(err, { cls: '', role: null }));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };

  const form = h(
    'form',
    { class: 'filters', 'aria-label': t('audit.filters') },
    field('audit.userName', inputs.userName),
    field('audit.action', inputs.action, t('audit.actionHint')),
    h('datalist', { id: listId }, AUDIT_ACTIONS.map((a) => h('option', { value: a }, tOr(`action.${a}`, a)))),
    field('audit.target', inputs.target),
    field('audit.text', inputs.text),
    field('audit.from', inputs.from),
    field('audit.to', inputs.to),
    field('audit.limit', inputs.limit),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('audit.search')), h('button', { type: 'reset', class: 'btn' }, t('audit.reset'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    offset = 0;
    void search();
  });
  form.addEventListener('reset', () => {
    setTimeout(() => {
      offset = 0;
      void search();
    }, 0);
  });
  main.append(h('section', { class: 'panel', 'aria-label': t('audit.filters') }, form), error, h('section', { class: 'panel' }, results, pager));
  return search();
}

function auditTable(entries) {
  if (!entries.length) return h('p', { class: 'muted' }, t('audit.empty'));
  const cols = ['audit.colTime', 'audit.colUser', 'audit.colRole', 'audit.colAction', 'audit.colTarget', 'audit.colDetail', 'audit.colIp'];
  return h(
    'table',
    { class: 'data-table audit-table' },
    h('caption', { class: 'sr-only' }, t('audit.caption')),
    h('thead', {}, h('tr', {}, cols.map((key) => h('th', { scope: 'col' }, t(key))))),
    h(
      'tbody',
      {},
      entries.map((e) => {
        const detail = e.detail === null || e.detail === undefined ? '' : JSON.stringify(e.detail);
        const short = detail.length > 160 ? `${detail.slice(0, 160)}…` : detail;
        const failed = /failed|refused|locked|throttled|forbidden|unknown/.test(e.action);
        return h(
          'tr',
          { class: failed ? 'row-warn' : undefined },
          h('td', { class: 'nowrap' }, fmtTime(e.atUtcMs, { seconds: true })),
          h('td', {}, e.userName),
          h('td', {}, e.role ? tOr(`role.${e.role}`, e.role) : '—'),
          h('td', {}, tOr(`action.${e.action}`, e.action), h('div', { class: 'mono small muted' }, e.action)),
          h('td', { class: 'mono small' }, e.target ?? '—'),
          h('td', { class: 'mono small detail', title: detail.length > 160 ? detail : undefined }, short),
          h('td', { class: 'mono small' }, e.ip ?? '—'),
        );
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------
// Start

function boot() {
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
    void route();
  });
  document.getElementById('logout').addEventListener('click', () => void logout());
  document.querySelector('.skip-link')?.addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  window.addEventListener('hashchange', () => void route());
  renderChrome(location.hash.slice(1));
  void (async () => {
    // Refresh the user's role from the server: it may have changed since the session began.
    if (session) {
      try {
        const me = await api('/api/auth/me');
        if (session && me) saveSession({ ...session, user: { ...session.user, ...me } });
      } catch {
        // 401 already sent us to the login page; other failures keep the stored user.
      }
    }
    await route();
  })();
}

boot();
