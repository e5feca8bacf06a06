// A minimal browser for HTML-form (no JavaScript) login pages: a cookie jar of name=value,
// redirects never followed automatically, hidden inputs read from forms with a small regex.
// Every exchange is remembered in `history` so that a failing test can show what it saw.

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+|#39);/gi, (whole, name) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return ENTITIES[lower] ?? whole;
  });
}

/** Attributes of one start tag such as `<input type="hidden" name="csrf" value="...">`. */
function attributes(tag) {
  const attrs = {};
  const re = /([^\s=<>"'\/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  const inner = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/**
 * The form of `html` whose action resolves (against `pageUrl`) to the path `actionPath`:
 * `{ action, method, hidden }`, where `hidden` holds every `<input type="hidden">` as name → value.
 * A form without action posts to the page itself. Throws, quoting the page, when there is none.
 */
export function findForm(html, pageUrl, actionPath) {
  const forms = [];
  for (const m of html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form\s*>/gi)) {
    const start = m[0].match(/^<form\b[^>]*>/i)[0];
    const attrs = attributes(start);
    const action = new URL(attrs.action ?? '', pageUrl);
    const hidden = {};
    for (const input of m[0].matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(input[0]);
      if ((a.type ?? '').toLowerCase() === 'hidden' && a.name !== undefined) hidden[a.name] = a.value ?? '';
    }
    forms.push({ action: action.href, path: action.pathname, method: (attrs.method ?? 'get').toLowerCase(), hidden });
  }
  const form = forms.find((f) => f.path === actionPath);
  if (!form) {
    const seen = forms.map((f) => `${f.method.toUpperCase()} ${f.action}`).join(', ') || 'no <form> at all';
    throw new Error(`page ${pageUrl} has no form posting to ${actionPath} (forms: ${seen}); page starts:\n${html.slice(0, 1500)}`);
  }
  return form;
}

/** Whether a Set-Cookie header asks to delete its cookie (Max-Age <= 0 or Expires in the past). */
function deletes(attrs) {
  const maxAge = attrs.match(/;\s*max-age\s*=\s*(-?\d+)/i);
  if (maxAge) return Number(maxAge[1]) <= 0;
  const expires = attrs.match(/;\s*expires\s*=\s*([^;]+)/i);
  return expires ? Date.parse(expires[1]) <= Date.now() : false;
}

export class Browser {
  /** `history` may be shared with other recorders (see `recordingFetch`). */
  constructor(history = []) {
    /** name → value, for the one server under test (domain and path are ignored). */
    this.jar = new Map();
    /** Every exchange: { who, method, url, status, location, setCookies, body (first 2000 chars) }. */
    this.history = history;
  }

  #remember(res) {
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...rest] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (deletes(';' + rest.join(';'))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return setCookies;
  }

  cookieHeader() {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /**
   * One request, redirects not followed. Returns
   * `{ status, location (absolute URL string or null), body, headers, url }`.
   */
  async request(method, url, { form, headers = {} } = {}) {
    const h = { ...headers };
    if (this.jar.size) h.cookie = this.cookieHeader();
    let body;
    if (form) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const target = new URL(url);
    const res = await fetch(target, { method, headers: h, body, redirect: 'manual' });
    const setCookies = this.#remember(res);
    const text = await res.text();
    const rawLocation = res.headers.get('location');
    const location = rawLocation === null ? null : new URL(rawLocation, target).href;
    this.history.push({ who: 'browser', method, url: target.href, status: res.status, location, setCookies, body: text.slice(0, 2000) });
    return { status: res.status, location, body: text, headers: res.headers, url: target.href };
  }

  get(url, options) {
    return this.request('GET', url, options);
  }

  postForm(url, form, options) {
    return this.request('POST', url, { ...options, form });
  }

  /** The last `n` exchanges, for failure messages. */
  recent(n = 5) {
    return formatExchanges(this.history.slice(-n));
  }
}

/** Exchanges as text, one per line (with Set-Cookie names and, for errors, the body). */
export function formatExchanges(list) {
  return list.map((e) =>
    `  [${e.who}] ${e.method} ${e.url} -> ${e.status}${e.location ? ` Location: ${e.location}` : ''}` +
    (e.setCookies.length ? `\n    Set-Cookie: ${e.setCookies.map((c) => c.split(';')[0]).join(', ')}` : '') +
    (e.status >= 400 && e.body ? `\n    body: ${e.body.slice(0, 500)}` : ''),
  ).join('\n');
}

/**
 * A fetch that records each exchange into `history` like the Browser does: give it to
 * openid-client (`[client.customFetch]`) so that its requests appear in failure messages too.
 */
export function recordingFetch(history, who = 'client') {
  return async (url, options = {}) => {
    const res = await fetch(url, options);
    const body = res.status >= 400 ? await res.clone().text() : '';
    history.push({ who, method: options.method ?? 'GET', url: String(url), status: res.status,
      location: res.headers.get('location'), setCookies: [], body: body.slice(0, 2000) });
    return res;
  };
}
