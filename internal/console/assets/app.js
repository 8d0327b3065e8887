// Elevate console: one ES module, no build step. It calls the public API
// with the signed-in person's own credential, kept in sessionStorage (this
// tab only, never a cookie), and shows the API's own messages and notices.

const SESSION = 'elevate.session';
const PENDING = 'elevate.oidc';
const AGAIN = 'elevate.again';
// Each page renders into its own view inside <main>: a page still loading
// when another is shown renders into a detached view.
const root = document.getElementById('main');
let main = root;
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const alertBox = document.getElementById('alert');
let session = load(SESSION);
let timer = null;

// ---- small helpers --------------------------------------------------------

function load(key) {
  try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch { return null; }
}
function save(key, v) { sessionStorage.setItem(key, JSON.stringify(v)); }

// h builds an element: h('p', {class: 'x', onclick: f}, 'text', child).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}
// fill replaces an element's children, leaving out null, undefined and
// false as h does (replaceChildren would show them as text).
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter(k => k !== undefined && k !== null && k !== false));
}
let ids = 0;
function field(label, input, hint) {
  const id = input.id || ('f' + (++ids));
  input.id = id;
  const kids = [h('label', { for: id }, label), input];
  if (hint) {
    const hid = id + '-hint';
    input.setAttribute('aria-describedby', hid);
    kids.push(h('div', { id: hid, class: 'muted' }, hint));
  }
  return h('div', {}, kids);
}
function status(s) { return h('span', { class: 'status s-' + s }, s); }
function when(t) { return t ? new Date(t).toLocaleString() : '–'; }
function target(r) {
  const x = r.resource || {};
  return [x.type, x.id, x.account_id, x.region, x.db_user].filter(Boolean).join(' · ');
}
function duration(s) {
  if (s <= 0) return '0 min';
  const m = Math.round(s / 60);
  return m >= 120 ? (m / 60).toFixed(1).replace(/\.0$/, '') + ' h' : m + ' min';
}
function left(expires) {
  if (!expires) return '–';
  const s = (new Date(expires) - Date.now()) / 1000;
  return s > 0 ? duration(s) + ' left' : 'ended';
}
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function randomString() { return b64url(crypto.getRandomValues(new Uint8Array(32))); }
function claims(jwt) {
  try { return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))); } catch { return {}; }
}

// showError puts an API error (code, message, details, notices) or any other
// failure in the page's alert region.
function showError(e) {
  fill(alertBox, );
  if (!e) return;
  const a = e.api || { message: e.message || String(e) };
  const box = h('div', { class: 'error' }, h('strong', {}, a.code ? a.code + ': ' : 'Error: '), a.message || '');
  if (a.details && Object.keys(a.details).length) {
    box.append(h('ul', {}, Object.entries(a.details).map(([k, v]) => h('li', {}, k + ': ' + (typeof v === 'string' ? v : JSON.stringify(v))))));
  }
  if (a.notices && a.notices.length) box.append(h('ul', { class: 'notices' }, a.notices.map(n => h('li', {}, n))));
  alertBox.append(box);
}
function showOK(text) { fill(alertBox, h('div', { class: 'ok', role: 'status' }, text)); }

// api calls the API as the signed-in person and throws the API's error.
async function api(method, path, body, headers) {
  const hd = { Accept: 'application/json', 'X-Tenant-ID': session.tenant };
  if (session.kind === 'key') hd['X-API-Key'] = session.secret;
  else hd.Authorization = 'Bearer ' + session.secret;
  if (body !== undefined) hd['Content-Type'] = 'application/json';
  Object.assign(hd, headers || {});
  const res = await fetch(path, { method, headers: hd, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = { code: 'bad_response', message: text.slice(0, 200) }; } }
  if (!res.ok) {
    const e = new Error((data && data.message) || res.statusText);
    e.api = data || { code: String(res.status), message: res.statusText };
    e.status = res.status;
    if (res.status === 401) {
      // The token expired or the key was revoked: start again.
      signOut();
      e.api = { ...e.api, message: 'Your sign-in is no longer valid (' + e.api.message + '): sign in again.' };
    }
    throw e;
  }
  return { data, headers: res.headers };
}
const idem = () => ({ 'Idempotency-Key': crypto.randomUUID() });

// pager renders a list page by page with the API's cursors.
function pager(path, render, empty) {
  const box = h('div', {});
  const more = h('button', { type: 'button' }, 'Load more');
  let cursor = null;
  async function next() {
    const sep = path.includes('?') ? '&' : '?';
    const { data } = await api('GET', path + (cursor ? sep + 'cursor=' + encodeURIComponent(cursor) : ''));
    if (!cursor && data.data.length === 0) box.append(h('p', { class: 'empty' }, empty));
    for (const item of data.data) box.append(render(item));
    cursor = data.next_cursor;
    more.hidden = !data.has_more;
  }
  more.addEventListener('click', () => next().catch(showError));
  const wrap = h('div', {}, box, more);
  wrap.ready = next();
  return wrap;
}

// ---- routing ----------------------------------------------------------------

const pages = {
  request: { title: 'Request access', min: 'requester', render: requestPage },
  mine: { title: 'My access', min: 'requester', render: minePage },
  inbox: { title: 'Approvals', min: 'approver', render: inboxPage },
  reviews: { title: 'Reviews', min: 'approver', render: reviewsPage },
  policies: { title: 'Policies', min: 'admin', render: policiesPage },
  audit: { title: 'Audit trail', min: 'admin', render: auditPage },
  settings: { title: 'Settings', min: 'admin', render: settingsPage },
};
const rank = { requester: 1, approver: 2, admin: 3 };

function route() {
  clearInterval(timer);
  timer = null;
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1];
  main = h('div', {});
  fill(root, main);
  if (!session) { renderNav(); return signInPage(main); }
  const page = pages[name] && rank[session.role] >= rank[pages[name].min] ? name : 'mine';
  renderNav(page);
  document.title = pages[page].title + ' · Elevate';
  fill(main, h('h1', {}, pages[page].title));
  pages[page].render(main).catch(showError);
}

function renderNav(current) {
  fill(nav, );
  fill(who, );
  if (!session) return;
  for (const [name, p] of Object.entries(pages)) {
    if (rank[session.role] < rank[p.min]) continue;
    nav.append(h('a', { href: '#/' + name, 'aria-current': name === current ? 'page' : null }, p.title));
  }
  who.append(h('span', {}, (session.principal || 'API key') + ' · ' + session.role),
    h('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out'));
}

function signOut() {
  sessionStorage.clear();
  session = null;
  fill(alertBox, );
  if (location.hash) history.replaceState(null, '', location.pathname);
  route();
}

// ---- sign-in --------------------------------------------------------------

// main is the view this page renders into (a later page has its own).
async function signInPage(main) {
  document.title = 'Sign in · Elevate';
  const tenant = h('input', { id: 'tenant', autocomplete: 'organization', required: true, value: localStorage.getItem('elevate.tenant') || '' });
  const methods = h('div', {});
  const form = h('form', { class: 'panel', onsubmit: async (ev) => {
    ev.preventDefault();
    showError(null);
    try {
      const { data } = await fetchJSON('/v1/tenants/' + encodeURIComponent(tenant.value.trim()) + '/sign-in');
      localStorage.setItem('elevate.tenant', data.tenant_id);
      fill(methods, signInMethods(data));
    } catch (e) { showError(e); }
  } }, field('Tenant ID', tenant, 'The UUID your Elevate administrator gave you.'), h('button', { class: 'primary', type: 'submit' }, 'Continue'));
  fill(main, h('h1', {}, 'Sign in to Elevate'), form, methods);
  tenant.focus();
}

async function fetchJSON(url, init) {
  const res = await fetch(url, init);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { const e = new Error(data.message || res.statusText); e.api = data; throw e; }
  return { data };
}

function signInMethods(si) {
  const out = h('div', {});
  if (si.oidc) {
    out.append(h('div', { class: 'panel' }, h('h2', {}, 'Single sign-on'),
      h('p', {}, 'Sign in with your identity provider (' + si.oidc.issuer + ').'),
      h('button', { class: 'primary', type: 'button', id: 'sso', onclick: () => startOIDC(si).catch(showError) }, 'Sign in with your identity provider')));
  } else {
    out.append(h('p', { class: 'muted' }, 'This tenant has no single sign-on client for the console: an admin sets jwt.client_id in the tenant settings. Use an API key.'));
  }
  const key = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true });
  out.append(h('form', { class: 'panel', onsubmit: (ev) => { ev.preventDefault(); finishSignIn(si.tenant_id, 'key', key.value.trim(), null).catch(showError); } },
    h('h2', {}, 'API key'), field('API key', key, 'For local mode and service users. It stays in this browser tab only.'),
    h('button', { type: 'submit', id: 'key-sign-in' }, 'Sign in with the API key')));
  return out;
}

async function discover(issuer) {
  const { data } = await fetchJSON(issuer.replace(/\/$/, '') + '/.well-known/openid-configuration');
  return data;
}

async function startOIDC(si) {
  const conf = await discover(si.oidc.issuer);
  const verifier = randomString();
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = randomString();
  const nonce = randomString();
  save(PENDING, { state, verifier, nonce, tenant: si.tenant_id, token: conf.token_endpoint, client: si.oidc.client_id, audience: si.oidc.audience });
  const u = new URL(si.oidc.authorization_endpoint || conf.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: si.oidc.client_id, redirect_uri: location.origin + '/console/callback',
    scope: 'openid profile email', state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  location.assign(u.toString());
}

async function finishOIDC() {
  const q = new URLSearchParams(location.search);
  const p = load(PENDING);
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', '/console/');
  if (q.get('error')) throw new Error('The identity provider refused the sign-in: ' + q.get('error') + ' ' + (q.get('error_description') || ''));
  if (!p || q.get('state') !== p.state) throw new Error('The sign-in answer does not match a sign-in started in this tab; start again.');
  const { data } = await fetchJSON(p.token, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), redirect_uri: location.origin + '/console/callback', client_id: p.client, code_verifier: p.verifier }),
  });
  const id = claims(data.id_token || '');
  if (data.id_token && id.nonce !== p.nonce) throw new Error('The ID token does not carry this sign-in\'s nonce; start again.');
  // The API takes the token whose audience the tenant names: the ID token's
  // is the client id.
  const token = p.audience === p.client ? data.id_token : data.access_token;
  await finishSignIn(p.tenant, 'oidc', token, id.sub || null);
}

async function finishSignIn(tenant, kind, secret, principal) {
  session = { tenant, kind, secret, principal, role: 'requester' };
  try {
    await api('GET', '/v1/catalog');
  } catch (e) { session = null; throw e; }
  // The highest role the credential holds decides what the console shows;
  // the API checks every call again.
  try { await api('GET', '/v1/tenant'); session.role = 'admin'; } catch {
    try { await api('GET', '/v1/approvals/pending?limit=1'); session.role = 'approver'; } catch { /* requester */ }
  }
  save(SESSION, session);
  fill(alertBox, );
  const next = session.role === 'approver' ? '#/inbox' : '#/request';
  if (location.hash === next) route(); else location.hash = next; // hashchange routes
}

// ---- requester: request form with a live preview ---------------------------

const resourceFields = {
  aws_account: ['id'],
  aws_permission_set: ['id', 'account_id'],
  aws_organizational_unit: ['id'],
  aws_s3_bucket: ['id', 'account_id'],
  aws_rds_instance: ['id', 'db_user'],
  aws_ec2_instance: ['id', 'account_id', 'region'],
};
const fieldLabels = { id: 'Resource ID', account_id: 'Account ID', region: 'Region', db_user: 'Database user' };

async function requestPage(main) {
  const { data: catalog } = await api('GET', '/v1/catalog');
  const again = load(AGAIN);
  sessionStorage.removeItem(AGAIN);
  const types = Object.keys(catalog.actions).filter(t => catalog.actions[t].length);
  if (!types.length) {
    main.append(h('p', { class: 'empty' }, 'The catalog offers nothing to request yet: ask an admin to add actions to the catalog (Settings).'));
    return;
  }
  const type = h('select', { id: 'type' }, types.map(t => h('option', { value: t }, t)));
  const fields = h('div', {});
  const action = h('select', { id: 'action' });
  const minutes = h('input', { id: 'minutes', type: 'number', min: '1', value: '60', inputmode: 'numeric' });
  const why = h('textarea', { id: 'justification', rows: '3' });
  const grantee = h('input', { id: 'grantee', autocomplete: 'off' });
  const glass = h('input', { id: 'break-glass', type: 'checkbox' });
  const start = h('input', { id: 'starts-at', type: 'datetime-local' });
  const preview = h('section', { class: 'panel', id: 'preview', 'aria-live': 'polite', 'aria-labelledby': 'preview-h' });
  const inputs = {};

  function drawFields() {
    fill(fields, );
    for (const f of resourceFields[type.value] || ['id']) {
      inputs[f] = h('input', { id: 'res-' + f, autocomplete: 'off' });
      fields.append(field(fieldLabels[f], inputs[f]));
    }
    for (const k of Object.keys(inputs)) if (!(resourceFields[type.value] || ['id']).includes(k)) delete inputs[k];
    fill(action, ...catalog.actions[type.value].map(a => h('option', { value: a.name }, a.name + (a.description ? ' — ' + a.description : ''))));
  }
  function body() {
    const resource = { type: type.value };
    for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) resource[k] = el.value.trim();
    const b = { resource, action: action.value, duration_seconds: Math.round(Number(minutes.value) * 60), justification: why.value };
    if (grantee.value.trim()) b.grantee_id = grantee.value.trim();
    if (glass.checked) b.break_glass = true;
    if (start.value) b.starts_at = new Date(start.value).toISOString();
    return b;
  }
  let seq = 0;
  let debounce = null;
  async function runPreview() {
    const mine = ++seq;
    const b = body();
    if (!b.resource.id || !b.justification.trim()) {
      fill(preview, h('h2', { id: 'preview-h' }, 'What the policies will do'), h('p', { class: 'muted' }, 'Fill in the resource and a justification to see what the policies will do.'));
      return;
    }
    try {
      const { data } = await api('POST', '/v1/requests/preview', b);
      if (mine !== seq) return;
      const says = { approved: 'Approved at once', pending: 'Needs approval', denied: 'Denied by policy' }[data.status];
      fill(preview, h('h2', { id: 'preview-h' }, 'What the policies will do'),
        h('p', { id: 'preview-status' }, status(data.status), ' ', says),
        h('dl', { class: 'facts' }, h('dt', {}, 'Approval mode'), h('dd', {}, data.approval_mode || '–'),
          h('dt', {}, 'Approvals needed'), h('dd', {}, String(data.approvals_required)),
          h('dt', {}, 'Policy version'), h('dd', {}, String(data.policy_version))),
        data.notices.length ? h('ul', { class: 'notices' }, data.notices.map(n => h('li', {}, n))) : null);
    } catch (e) {
      if (mine !== seq) return;
      const a = e.api || {};
      fill(preview, h('h2', { id: 'preview-h' }, 'What the policies will do'),
        h('p', { class: 'error' }, (a.code ? a.code + ': ' : '') + (a.message || e.message)),
        a.details ? h('ul', {}, Object.entries(a.details).map(([k, v]) => h('li', {}, k + ': ' + v))) : null);
    }
  }
  const schedule = () => { clearTimeout(debounce); debounce = setTimeout(runPreview, 300); };
  type.addEventListener('change', () => { drawFields(); schedule(); });
  const form = h('form', { class: 'panel', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const { data } = await api('POST', '/v1/requests', body(), idem());
      showOK('Request ' + data.id + ' is ' + data.status + (data.status === 'pending' ? ': it waits for approval.' : data.starts_at ? ': access starts ' + when(data.starts_at) + '.' : ': access is being provisioned.'));
      location.hash = '#/mine';
    } catch (e) { showError(e); }
  } },
  field('Resource type', type), fields, field('Action', action),
  field('Duration (minutes)', minutes), field('Justification', why, 'Why you need it: a ticket or incident helps approvers.'),
  field('Grantee (optional)', grantee, 'Leave empty to request for yourself.'),
  field('Start (optional)', start, 'Leave empty to start as soon as it is approved; the duration counts from the start.'),
  h('label', { class: 'check' }, glass, 'Break glass (emergency; flagged for review)'),
  h('button', { class: 'primary', type: 'submit', id: 'submit-request' }, 'Submit request'));
  form.addEventListener('input', schedule);
  form.addEventListener('change', schedule);
  main.append(h('div', { class: 'grid' }, form, preview));
  drawFields();
  if (again) {
    type.value = again.resource.type; drawFields();
    for (const [k, el] of Object.entries(inputs)) el.value = again.resource[k] || '';
    action.value = again.action; minutes.value = String(Math.round(again.duration_seconds / 60)); why.value = again.justification || '';
  }
  runPreview();
}

// ---- requester: my requests and grants, live -------------------------------

async function minePage(main) {
  const grantsBox = h('div', { id: 'grants' });
  const reqBox = h('div', { id: 'requests' });
  const scope = session.principal && session.role !== 'requester' ? '&grantee_id=' + encodeURIComponent(session.principal) : '';
  const reqScope = session.principal && session.role !== 'requester' ? '&requester_id=' + encodeURIComponent(session.principal) : '';
  main.append(h('p', { class: 'muted' }, 'Statuses refresh every few seconds. A scheduled grant starts at its start time; revoking it before then never touches AWS.'),
    h('h2', {}, 'Grants'), grantsBox, h('h2', {}, 'Requests'), reqBox);
  async function refresh() {
    const [g, r] = await Promise.all([api('GET', '/v1/grants?limit=50' + scope), api('GET', '/v1/requests?limit=50' + reqScope)]);
    fill(grantsBox, g.data.data.length ? grantTable(g.data.data) : h('p', { class: 'empty' }, 'No grants yet: request access and it appears here.'),
      g.data.has_more ? h('p', { class: 'muted' }, 'Showing the 50 newest.') : '');
    fill(reqBox, r.data.data.length ? requestTable(r.data.data) : h('p', { class: 'empty' }, 'No requests yet: use Request access.'),
      r.data.has_more ? h('p', { class: 'muted' }, 'Showing the 50 newest.') : '');
  }
  const view = main;
  await refresh();
  if (view.isConnected) timer = setInterval(() => refresh().catch(showError), 2000);
}

function grantTable(list) {
  return h('table', {}, h('caption', { class: 'muted' }, 'Your grants'),
    h('thead', {}, h('tr', {}, ['Target', 'Action', 'Status', 'Expires', 'Time left', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map(g => h('tr', { 'data-grant': g.id },
      h('td', {}, target(g)), h('td', {}, g.action), h('td', {}, status(g.status)),
      h('td', {}, g.status === 'scheduled' ? 'starts ' + when(g.starts_at) : when(g.expires_at)), h('td', {}, g.status === 'active' ? left(g.expires_at) : '–'),
      h('td', {}, ['active', 'provisioning', 'scheduled'].includes(g.status) ? [
        h('button', { type: 'button', class: 'danger', 'aria-label': 'Revoke ' + target(g), onclick: () => act('POST', '/v1/grants/' + g.id + '/revoke', { reasoning: 'Revoked from the console' }, 'Revoking the grant.') }, 'Revoke'),
        g.status === 'active' ? h('button', { type: 'button', 'aria-label': 'Extend ' + target(g), onclick: () => extend(g) }, 'Extend') : null,
      ] : null)))));
}

function requestTable(list) {
  return h('table', {}, h('caption', { class: 'muted' }, 'Your requests'),
    h('thead', {}, h('tr', {}, ['Target', 'Action', 'Duration', 'Status', 'Created', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map(r => h('tr', { 'data-request': r.id },
      h('td', {}, target(r), r.extends_grant_id ? h('div', { class: 'muted' }, 'extension') : null), h('td', {}, r.action), h('td', {}, duration(r.duration_seconds)),
      h('td', {}, status(r.status), r.status === 'pending' ? h('div', { class: 'muted' }, r.approvals.length + ' of ' + r.approvals_required + ' approvals') : null),
      h('td', {}, when(r.created_at)),
      h('td', {}, r.status === 'pending' || (r.status === 'approved' && r.starts_at && new Date(r.starts_at) > new Date()) ? h('button', { type: 'button', class: 'danger', onclick: () => act('POST', '/v1/requests/' + r.id + '/cancel', undefined, 'Request cancelled.') }, 'Cancel') : null,
        r.extends_grant_id ? null : h('button', { type: 'button', onclick: () => { save(AGAIN, r); location.hash = '#/request'; } }, 'Request again'))))));
}

async function act(method, path, body, ok) {
  try { await api(method, path, body, idem()); showOK(ok); route(); } catch (e) { showError(e); }
}

function extend(g) {
  const mins = h('input', { type: 'number', min: '1', value: String(Math.round(g.duration_seconds / 60)), id: 'extend-minutes' });
  const why = h('input', { id: 'extend-why', value: '' });
  const dlg = h('form', { class: 'panel', 'aria-label': 'Extend grant', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const { data } = await api('POST', '/v1/grants/' + g.id + '/extend', { duration_seconds: Math.round(Number(mins.value) * 60), justification: why.value }, idem());
      showOK('Extension ' + data.status + (data.status === 'pending' ? ': it waits for approval.' : '.'));
      route();
    } catch (e) { showError(e); }
  } }, h('h2', {}, 'Extend ' + target(g)), field('More minutes', mins), field('Justification', why),
  h('button', { class: 'primary', type: 'submit' }, 'Ask to extend'), h('button', { type: 'button', onclick: () => dlg.remove() }, 'Close'));
  main.insertBefore(dlg, main.children[1]);
  mins.focus();
}

// ---- approver: the inbox ---------------------------------------------------

async function inboxPage(main) {
  main.append(h('p', { class: 'muted' }, 'Oldest first. Approving or denying needs your reasoning.'));
  const list = pager('/v1/approvals/pending?limit=20', inboxCard, 'Nothing waits for you: requests that need your approval appear here.');
  main.append(list);
  await list.ready;
}

function inboxCard(r) {
  const reasoning = h('textarea', { rows: '2', id: 'reason-' + r.id });
  const forwardTo = h('input', { id: 'forward-' + r.id, autocomplete: 'off' });
  const forward = async () => {
    try {
      await api('POST', '/v1/requests/' + r.id + '/forward', { to: forwardTo.value.trim(), comment: reasoning.value }, idem());
      showOK('Request ' + r.id + ' forwarded to ' + forwardTo.value.trim() + '.');
      route();
    } catch (e) { showError(e); }
  };
  const history = h('div', { class: 'muted' }, 'Loading history…');
  api('GET', '/v1/requests?limit=5&requester_id=' + encodeURIComponent(r.requester_id)).then(({ data }) => {
    const past = data.data.filter(x => x.id !== r.id);
    fill(history, past.length ? h('ul', {}, past.map(x => h('li', {}, when(x.created_at) + ': ' + x.action + ' on ' + target(x) + ' — ' + x.status))) : 'No earlier requests.');
  }).catch(() => fill(history, 'History not available.'));
  const decide = (verb) => async () => {
    try {
      const { data } = await api('POST', '/v1/requests/' + r.id + '/' + verb, { reasoning: reasoning.value }, idem());
      showOK('Request ' + r.id + ' is ' + data.status + (data.status === 'pending' ? ' (' + data.approvals.length + ' of ' + data.approvals_required + ' approvals)' : '') + '.');
      route();
    } catch (e) { showError(e); }
  };
  return h('article', { class: 'card', 'data-request': r.id, 'aria-labelledby': 'h-' + r.id },
    h('h3', { id: 'h-' + r.id }, r.action + ' on ' + target(r)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Requester'), h('dd', {}, r.requester_id), h('dt', {}, 'Grantee'), h('dd', {}, r.grantee_id),
      h('dt', {}, 'Duration'), h('dd', {}, duration(r.duration_seconds)), h('dt', {}, 'Justification'), h('dd', {}, r.justification),
      h('dt', {}, 'Asked'), h('dd', {}, when(r.created_at)), h('dt', {}, 'Decide by'), h('dd', {}, when(r.approval_expires_at)),
      h('dt', {}, 'Quorum'), h('dd', {}, r.approvals.length + ' of ' + r.approvals_required + ' approvals'),
      r.starts_at ? [h('dt', {}, 'Starts'), h('dd', {}, when(r.starts_at))] : null,
      r.escalate_at ? [h('dt', {}, 'Escalates'), h('dd', {}, when(r.escalate_at) + ' to ' + r.escalate_to)] : null,
      r.break_glass ? [h('dt', {}, 'Break glass'), h('dd', {}, 'yes')] : null),
    r.notices.length ? h('ul', { class: 'notices' }, r.notices.map(n => h('li', {}, n))) : null,
    (r.conflicts || []).length ? [h('h4', {}, 'Separation-of-duties conflicts'),
      h('ul', { class: 'notices' }, r.conflicts.map(c => h('li', {}, c.name + ' (' + c.policy_id + ', ' + c.enforce + '): grants ' + c.grant_ids.join(', '))))] : null,
    r.approvals.length ? [h('h4', {}, 'Earlier approvals'),
      h('ul', {}, r.approvals.map(a => h('li', {}, a.approver_id + ' at ' + when(a.approved_at) + (a.reasoning ? ': ' + a.reasoning : ''))))] : null,
    (r.forward_history || []).length ? [h('h4', {}, 'Forwarded'),
      h('ul', {}, r.forward_history.map(f => h('li', {}, (f.from || '–') + ' → ' + f.to + ' by ' + f.by + ' at ' + when(f.at) + (f.comment ? ': ' + f.comment : ''))))] : null,
    h('h4', {}, 'Recent requests by ' + r.requester_id), history,
    field('Reasoning', reasoning),
    h('button', { class: 'primary', type: 'button', onclick: decide('approve') }, 'Approve'),
    h('button', { class: 'danger', type: 'button', onclick: decide('deny') }, 'Deny'),
    field('Forward to (user id)', forwardTo, 'Hand it to another approver the policies allow; the reasoning goes with it as the comment.'),
    h('button', { type: 'button', onclick: forward }, 'Forward'));
}

// ---- approver: break-glass reviews -------------------------------------------

async function reviewsPage(main) {
  main.append(h('p', { class: 'muted' }, 'Break-glass grants wait here for your judgement, earliest due first. ' +
    'An unjustified outcome suspends the grantee\'s break-glass until an admin lifts it.'));
  const list = pager('/v1/reviews/pending?limit=20', reviewCard, 'No break-glass grant waits for your review.');
  main.append(list);
  const waits = [list.ready];
  if (session.role === 'admin') {
    main.append(h('h2', {}, 'Suspended break-glass'));
    const susp = pager('/v1/break-glass/suspensions?limit=20', suspensionCard, 'Nobody\'s break-glass is suspended.');
    main.append(susp);
    waits.push(susp.ready);
  }
  await Promise.all(waits);
}

function reviewCard(g) {
  const rv = g.review || {};
  const reasoning = h('textarea', { rows: '2', id: 'review-reason-' + g.id });
  const record = (outcome) => async () => {
    try {
      const { data } = await api('POST', '/v1/grants/' + g.id + '/review', { outcome, reasoning: reasoning.value }, idem());
      showOK('Break-glass grant ' + g.id + ' reviewed: ' + data.review.status + '.');
      route();
    } catch (e) { showError(e); }
  };
  return h('article', { class: 'card', 'data-review': g.id, 'aria-labelledby': 'rh-' + g.id },
    h('h3', { id: 'rh-' + g.id }, g.action + ' on ' + target(g)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Grantee'), h('dd', {}, g.grantee_id), h('dt', {}, 'Requested by'), h('dd', {}, g.created_by),
      h('dt', {}, 'Granted'), h('dd', {}, when(g.created_at)), h('dt', {}, 'Duration'), h('dd', {}, duration(g.duration_seconds)),
      h('dt', {}, 'Status'), h('dd', {}, status(g.status)),
      h('dt', {}, 'Review due'), h('dd', {}, when(rv.due_at), rv.overdue ? [' ', status('overdue')] : null)),
    field('Reasoning', reasoning, 'Required: what the access was for, and whether that was an emergency.'),
    h('button', { class: 'primary', type: 'button', onclick: record('justified') }, 'Justified'),
    h('button', { class: 'danger', type: 'button', onclick: record('unjustified') }, 'Unjustified'));
}

function suspensionCard(s) {
  const reasoning = h('textarea', { rows: '2', id: 'lift-reason-' + s.user_id });
  const lift = async () => {
    try {
      await api('POST', '/v1/break-glass/suspensions/' + encodeURIComponent(s.user_id) + '/lift', { reasoning: reasoning.value }, idem());
      showOK('Break-glass of ' + s.user_id + ' is no longer suspended.');
      route();
    } catch (e) { showError(e); }
  };
  return h('article', { class: 'card', 'data-suspension': s.user_id, 'aria-labelledby': 'sh-' + s.user_id },
    h('h3', { id: 'sh-' + s.user_id }, s.user_id),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Why'), h('dd', {}, s.reason === 'unjustified' ? 'an unjustified review' : 'overdue reviews (' + s.overdue_reviews + ')'),
      h('dt', {}, 'Grant'), h('dd', {}, s.grant_id || '–'),
      h('dt', {}, 'Since'), h('dd', {}, when(s.suspended_at) + ' by ' + (s.suspended_by || '–'))),
    field('Reasoning', reasoning, 'Required: why break-glass may be used again.'),
    h('button', { type: 'button', onclick: lift }, 'Lift suspension'));
}

// ---- admin: policies -------------------------------------------------------

function lineDiff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const n = x.length, m = y.length;
  if (n * m > 4e6) return [['same', '(too large to compare)']];
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push(['same', '  ' + x[i]]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) { out.push(['del', '- ' + x[i]]); i++; } else { out.push(['add', '+ ' + y[j]]); j++; }
  }
  while (i < n) out.push(['del', '- ' + x[i++]]);
  while (j < m) out.push(['add', '+ ' + y[j++]]);
  // Keep three lines of context around each change.
  const near = out.map((_, k) => out.slice(Math.max(0, k - 3), k + 4).some(([t]) => t !== 'same'));
  const shown = [];
  for (let k = 0; k < out.length; k++) {
    if (near[k]) { shown.push(out[k]); continue; }
    let e = k;
    while (e < out.length && !near[e]) e++;
    shown.push(['skip', '  … ' + (e - k) + ' unchanged lines']);
    k = e - 1;
  }
  return shown.length ? shown : [['same', '(no differences)']];
}

async function policiesPage(main) {
  let { data: cur, headers } = await api('GET', '/v1/policies');
  let etag = headers.get('ETag');
  const text = h('textarea', { class: 'code', id: 'policy-text', spellcheck: 'false', 'aria-describedby': 'policy-problems' });
  text.value = cur.policies;
  const problems = h('div', { id: 'policy-problems', 'aria-live': 'polite' });
  const versionInfo = h('p', { class: 'muted', id: 'policy-version' });
  const showVersion = () => fill(versionInfo, 'Version ' + cur.version + ' by ' + cur.created_by + ', ' + when(cur.created_at) + '.');
  showVersion();
  let seq = 0;
  let debounce = null;
  // The server validates the draft as it is typed: a dry run of the draft
  // answers its parse problems with line and column.
  async function validate() {
    const mine = ++seq;
    try {
      await api('POST', '/v1/policies/evaluate', { ...dryBody(), policies: text.value });
      if (mine === seq) fill(problems, h('p', { class: 'ok', id: 'policy-valid' }, 'The draft is valid.'));
      return true;
    } catch (e) {
      if (mine !== seq) return false;
      const ps = (e.api && e.api.details && e.api.details.policies) || [];
      fill(problems, ps.length ? h('ul', { class: 'problems', id: 'policy-errors' }, ps.map(p => h('li', {}, 'Line ' + p.line + ', column ' + p.column + ': ' + p.message)))
        : h('p', { class: 'error' }, (e.api && e.api.message) || e.message));
      return false;
    }
  }
  text.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(validate, 400); });

  const dp = h('input', { id: 'dry-principal', value: 'alice' });
  const dg = h('input', { id: 'dry-groups', value: 'engineering' });
  const dt = h('select', { id: 'dry-type' }, Object.keys(resourceFields).map(t => h('option', { value: t }, t)));
  const di = h('input', { id: 'dry-id', value: '123456789012' });
  const da = h('input', { id: 'dry-action', value: 'Admin' });
  const dm = h('input', { id: 'dry-minutes', type: 'number', value: '60' });
  function dryBody() {
    return { principal: { id: dp.value.trim() || 'alice', groups: dg.value.split(',').map(s => s.trim()).filter(Boolean) },
      resource: { type: dt.value, id: di.value.trim() }, action: da.value.trim(), duration_seconds: Math.round(Number(dm.value) * 60), justification: 'Dry run from the console' };
  }
  const result = h('div', { id: 'dry-result', 'aria-live': 'polite' });
  async function dryRun() {
    try {
      const { data } = await api('POST', '/v1/policies/evaluate', { ...dryBody(), policies: text.value });
      fill(result, h('p', {}, 'Draft decision: ', status(data.decision === 'allow' ? 'approved' : 'denied'), ' ', data.decision,
        data.approval_mode ? ', ' + data.approval_mode + (data.approval_mode === 'require' ? ' (' + data.approvals_required + ' approvals)' : '') : ''),
      data.determining.length ? h('p', { class: 'muted' }, 'Determining: ' + data.determining.map(d => d.id + ' (' + d.effect + ')').join(', ')) : null,
      data.notices.length ? h('ul', { class: 'notices' }, data.notices.map(n => h('li', {}, n))) : null);
    } catch (e) { fill(result, ); showError(e); await validate(); }
  }
  async function saveDraft() {
    if (!(await validate())) return;
    try {
      const res = await api('PUT', '/v1/policies', { policies: text.value }, { 'If-Match': etag });
      cur = res.data; etag = res.headers.get('ETag');
      showVersion();
      showOK('Saved as version ' + cur.version + '.');
      history();
    } catch (e) { showError(e); }
  }
  const diffBox = h('pre', { class: 'diff', id: 'policy-diff', tabindex: '0', role: 'region', 'aria-label': 'Differences' });
  const versions = h('ul', { id: 'policy-versions' });
  async function history() {
    fill(versions, );
    for (let n = cur.version; n >= Math.max(1, cur.version - 9); n--) {
      versions.append(h('li', {}, h('button', { type: 'button', onclick: async () => {
        try {
          const { data } = await api('GET', '/v1/policies/versions/' + n);
          fill(diffBox, ...lineDiff(data.policies, text.value).map(([k, l]) => h('span', { class: k }, l + '\n')));
          diffBox.setAttribute('aria-label', 'Differences from version ' + n + ' to the draft');
        } catch (e) { showError(e); }
      } }, 'Compare version ' + n + ' with the draft')));
    }
  }
  history();
  main.append(versionInfo,
    h('div', { class: 'editor' }, field('Cedar policies', text), problems),
    h('button', { type: 'button', id: 'validate', onclick: validate }, 'Validate'),
    h('button', { type: 'button', class: 'primary', id: 'save-policies', onclick: saveDraft }, 'Save'),
    h('section', { class: 'panel', 'aria-labelledby': 'dry-h' }, h('h2', { id: 'dry-h' }, 'Dry run of the draft'),
      h('div', { class: 'row' }, field('Principal', dp), field('Groups (comma-separated)', dg), field('Resource type', dt), field('Resource ID', di), field('Action', da), field('Minutes', dm)),
      h('button', { type: 'button', id: 'dry-run', onclick: dryRun }, 'Dry run'), result),
    h('section', { 'aria-labelledby': 'hist-h' }, h('h2', { id: 'hist-h' }, 'Version history'), versions, diffBox));
}

// ---- admin: audit trail ----------------------------------------------------

async function auditPage(main) {
  const f = h('input', { id: 'audit-filter', type: 'search' });
  const sev = h('select', { id: 'audit-severity' }, ['', 'info', 'high'].map(s => h('option', { value: s }, s || 'any')));
  const body = h('tbody', {});
  const apply = () => {
    const q = f.value.toLowerCase();
    for (const tr of body.children) tr.hidden = !(tr.textContent.toLowerCase().includes(q) && (!sev.value || tr.dataset.severity === sev.value));
  };
  f.addEventListener('input', apply);
  sev.addEventListener('change', apply);
  const more = h('button', { type: 'button' }, 'Load more');
  let cursor = null;
  async function next() {
    const { data } = await api('GET', '/v1/audit-events?limit=50' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    for (const ev of data.data) {
      body.append(h('tr', { 'data-severity': ev.severity }, h('td', {}, when(ev.at)), h('td', {}, ev.actor_id), h('td', {}, ev.action),
        h('td', {}, ev.object_type + ' ' + ev.object_id), h('td', {}, ev.severity), h('td', {}, h('code', {}, JSON.stringify(ev.details)))));
    }
    cursor = data.next_cursor; more.hidden = !data.has_more;
    if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No events yet: changes and decisions appear here.')));
    apply();
  }
  more.addEventListener('click', () => next().catch(showError));
  main.append(h('div', { class: 'row' }, field('Filter the loaded events (actor, action, object, details)', f), field('Severity', sev)),
    h('table', { id: 'audit' }, h('caption', { class: 'muted' }, 'Newest first'),
      h('thead', {}, h('tr', {}, ['At', 'Actor', 'Action', 'Object', 'Severity', 'Details'].map(t => h('th', { scope: 'col' }, t)))), body), more);
  await next();
}

// ---- admin: catalog, tenant settings, API keys -----------------------------

async function settingsPage(main) {
  const { data: tenant } = await api('GET', '/v1/tenant');
  const { data: catalog } = await api('GET', '/v1/catalog');
  const cat = h('textarea', { class: 'code', id: 'catalog-text', spellcheck: 'false' });
  cat.value = JSON.stringify(catalog, null, 2);
  const name = h('input', { id: 'tenant-name', value: tenant.name });
  const tz = h('input', { id: 'tenant-tz', value: tenant.time_zone });
  const client = h('input', { id: 'tenant-client', value: tenant.jwt.client_id });
  const authz = h('input', { id: 'tenant-authz', value: tenant.jwt.authorization_endpoint });
  const keyName = h('input', { id: 'key-name' });
  const keyRole = h('select', { id: 'key-role' }, ['requester', 'approver', 'admin'].map(r => h('option', { value: r }, r)));
  const keySvc = h('input', { id: 'key-service' });
  const secret = h('div', { 'aria-live': 'polite' });
  const keys = pager('/v1/api-keys?limit=20', k => h('div', { class: 'card' }, h('strong', {}, k.name), ' ', h('span', { class: 'muted' }, k.role + ' · ' + k.acts_as + ' · ' + k.id),
    k.revoked_at ? h('span', {}, ' (revoked)') : h('button', { type: 'button', class: 'danger', onclick: () => act('DELETE', '/v1/api-keys/' + k.id, undefined, 'Key ' + k.name + ' revoked.') }, 'Revoke')), 'No API keys yet: create one for a service or for local use.');
  main.append(
    h('section', { class: 'panel', 'aria-labelledby': 'tenant-h' }, h('h2', { id: 'tenant-h' }, 'Tenant'),
      h('p', { class: 'muted' }, 'Tenant ID ' + tenant.id + '. The console signs in with the OIDC client below (public client, PKCE; redirect URI ' + location.origin + '/console/callback).'),
      field('Name', name), field('Time zone', tz), field('Console OIDC client ID (jwt.client_id)', client), field('Authorization endpoint (optional, else discovered)', authz),
      h('button', { type: 'button', class: 'primary', onclick: () => act('PATCH', '/v1/tenant', { name: name.value, time_zone: tz.value, jwt: { client_id: client.value, authorization_endpoint: authz.value } }, 'Tenant settings saved.') }, 'Save settings')),
    h('section', { class: 'panel', 'aria-labelledby': 'cat-h' }, h('h2', { id: 'cat-h' }, 'Catalog'), field('Catalog (JSON)', cat),
      h('button', { type: 'button', class: 'primary', onclick: () => { let b; try { b = JSON.parse(cat.value); } catch (e) { showError(new Error('The catalog is not valid JSON: ' + e.message)); return; } act('PUT', '/v1/catalog', b, 'Catalog saved.'); } }, 'Save catalog')),
    h('section', { class: 'panel', 'aria-labelledby': 'keys-h' }, h('h2', { id: 'keys-h' }, 'API keys'),
      h('div', { class: 'row' }, field('Name', keyName), field('Role', keyRole), field('Service principal (optional)', keySvc)),
      h('button', { type: 'button', class: 'primary', onclick: async () => {
        const b = { name: keyName.value, role: keyRole.value };
        if (keySvc.value.trim()) b.service_principal = keySvc.value.trim();
        try {
          const { data } = await api('POST', '/v1/api-keys', b, idem());
          fill(secret, h('p', {}, 'The key, shown this once: copy it now.'), h('div', { class: 'secret' }, data.key));
        } catch (e) { showError(e); }
      } }, 'Create key'), secret, keys));
  await keys.ready;
}

// ---- start -----------------------------------------------------------------

window.addEventListener('hashchange', () => { if (location.hash.startsWith('#/') || !location.hash) route(); });
document.getElementById('skip').addEventListener('click', (ev) => { ev.preventDefault(); root.focus(); });
if (location.pathname === '/console/callback') {
  finishOIDC().catch((e) => { showError(e); route(); });
} else {
  route();
}
