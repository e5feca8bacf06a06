// Throughput of a running Llavero server, measured like bench.mjs measures npm oidc-provider:
//   node bench_llavero.mjs BASE_URL LLAVERO_BIN DATA_DIR [--server NAME] [--connections 16]
//                          [--duration 5] [--login-duration 3]
// BASE_URL is the server's issuer; LLAVERO_BIN sets up the person, the client and the activation
// code exactly as flow.mjs does (LLAVERO_DATA_DIR=DATA_DIR, and the rest of the environment, so
// LLAVERO_DATABASE_URL and LLAVERO_MASTER_KEY reach the CLI when the server runs on PostgreSQL).
// Use a fresh data directory (and database): the account is activated once.
//
// After one browser login and consent, every authorization request answers 303 straight to the
// callback (the session cookie, consent remembered), so token sets are cheap to get. Then,
// after a 1 s warm-up each:
//   userinfo  GET /userinfo with one bearer access token on every connection (as bench.mjs);
//   token     POST /token grant_type=refresh_token. Llavero rotates refresh tokens and revokes
//             the whole family when one is reused, so each connection owns one refresh-token
//             family (from its own authorization) and sends, each time, the refresh token of its
//             family's previous answer (measure.mjs's measureRotating);
//   login     POST /login (RUN and password, Argon2id m=19 MiB t=2 p=1), a fixed CSRF cookie and
//             token; success is a 303. Reported on its own: the password hash dominates by design.
// One JSON line per measure on stdout (measure.mjs's `line`), progress on stderr. Any other
// status, socket error or timeout fails the benchmark (exit 1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import * as client from 'openid-client';
import { Browser, findForm } from './browser.mjs';
import { badRun, DEFAULT_CONNECTIONS, DEFAULT_DURATION_S, line, measure, measureFlows, measureRotating, summary } from './measure.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    server: { type: 'string', default: 'llavero' },
    connections: { type: 'string', short: 'c', default: String(DEFAULT_CONNECTIONS) },
    duration: { type: 'string', short: 'd', default: String(DEFAULT_DURATION_S) },
    'login-duration': { type: 'string', default: '3' },
  },
});
const [BASE_URL, LLAVERO_BIN, DATA_DIR] = positionals;
const connections = Number(args.connections);
const duration = Number(args.duration);
const loginDuration = Number(args['login-duration']);
if (positionals.length !== 3 || !(Number.isInteger(connections) && connections > 0) || !(duration > 0)
  || !(loginDuration > 0)) {
  console.error('usage: node bench_llavero.mjs BASE_URL LLAVERO_BIN DATA_DIR [--server NAME] ' +
    '[--connections N] [--duration SECONDS] [--login-duration SECONDS]');
  process.exit(2);
}
const SERVER = args.server;
const BASE = new URL(BASE_URL);
const WARMUP_S = 1;
const REDIRECT_URI = 'http://127.0.0.1:9999/cb';
const SCOPE = 'openid run name birthdate';
const PERSON = {
  run: '12.345.678-5', given_names: 'María José', paternal_surname: 'González', maternal_surname: 'Rojas',
  birth_date: '1990-04-12', sex: 'F', nationality: 'CL', document_serial: 'A123456789', status: 'active',
  updated_at: '2026-01-01T00:00:00Z',
};
const PASSWORD = 'Interop-Llavero-2026!';
const log = (msg) => console.error(`bench_llavero[${SERVER}]: ${msg}`);

// ------------------------------------------------------------------------------------ setup

function llavero(...cli) {
  try {
    return execFileSync(LLAVERO_BIN, cli, {
      env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Error(`llavero ${cli.join(' ')} failed (exit ${err.status ?? err.code}):\n${err.stderr || err.message}`);
  }
}

/** Person, client and activation code through the CLI; returns `{ client_id, client_secret }`. */
function setUp() {
  const work = mkdtempSync(join(tmpdir(), 'llavero-bench-'));
  try {
    const file = join(work, 'registry.jsonl');
    writeFileSync(file, `${JSON.stringify(PERSON)}\n`);
    llavero('registry', 'import', file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const registered = JSON.parse(llavero('client', 'add', '--name', 'Bench', '--redirect-uri', REDIRECT_URI,
    '--scope', SCOPE, '--auth', 'client_secret_basic'));
  assert.ok(registered.client_id && registered.client_secret, `llavero client add: ${JSON.stringify(registered)}`);
  const activation = JSON.parse(llavero('account', 'activation-code', PERSON.run));
  assert.ok(activation.code, `llavero account activation-code: ${JSON.stringify(activation)}`);
  return { ...registered, activationCode: activation.code };
}

const browser = new Browser();

/** GET `url`: 200 with a form posting to `path`, with a hidden csrf input. */
async function getForm(url, path) {
  const res = await browser.get(url);
  assert.equal(res.status, 200, `GET ${url}: expected the form (200), got ${res.status}\n${browser.recent()}`);
  const form = findForm(res.body, res.url, path);
  assert.ok(form.hidden.csrf, `form to ${path} has no hidden csrf input`);
  return form;
}

/** A pushed authorization request (PKCE S256, state, nonce): its URL and what to check. */
async function newAuthorization(config, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

function expectCallback(res, what) {
  assert.equal(res.status, 303, `${what}: expected 303, got ${res.status}\n${browser.recent()}`);
  assert.ok(res.location?.startsWith(`${REDIRECT_URI}?`), `${what}: expected a redirect to ${REDIRECT_URI}, got ${res.location}`);
  return new URL(res.location);
}

/** One more authorization with the session cookie (303 straight to the callback), code grant. */
async function tokenSet(config) {
  const auth = await newAuthorization(config);
  const callback = expectCallback(await browser.get(auth.url.href), 'authorization with the session cookie');
  const t = await client.authorizationCodeGrant(config, callback, auth.checks);
  assert.ok(t.access_token && t.refresh_token, 'the code grant gave no access or refresh token');
  return { access: t.access_token, refresh: t.refresh_token };
}

async function tokenSets(config, n) {
  const sets = [];
  for (let i = 0; i < n; i++) sets.push(await tokenSet(config));
  return sets;
}

/**
 * The flow measure leaves the password hash out, as the comparison with oidc-provider (which
 * has no password login) asks: the account's stored hash is replaced by one of the same password
 * at Argon2id's smallest cost (m=8 KiB, t=1, p=1; made with argon2-cffi), which the server
 * verifies with the stored parameters. Only for the benchmark's throwaway database.
 */
const CHEAP_HASH = '$argon2id$v=19$m=8,t=1,p=1$OuIvjRVAfy8zskCRjndfGw$Ea89azPsrMSZtHU9TGRWscLxTPQVj0nvzJ9mDaFmcQ4';

/** Runs `sql` on the server's database (the SQLite file, or PostgreSQL's URL); its output. */
function sqlOnDatabase(sql) {
  const url = process.env.LLAVERO_DATABASE_URL;
  return url?.startsWith('postgres')
    ? execFileSync('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], { encoding: 'utf8' })
    : execFileSync('sqlite3', [join(DATA_DIR, 'llavero.db'), sql], { encoding: 'utf8' });
}

/** The bench account's stored password hash. */
const passwordHash = () => sqlOnDatabase('SELECT password_hash FROM accounts').trim();

/** Stores `phc` (a PHC string: no quote in it) as the bench account's password hash. */
const setPasswordHash = (phc) => sqlOnDatabase(`UPDATE accounts SET password_hash = '${phc}'`);

/**
 * One whole flow from a fresh browser, as a citizen's first visit: PAR, authorization, the
 * login page, the password, the consent page (prompt=consent), the code grant. Returns the
 * number of HTTP requests sent to the server.
 */
async function flowOnce(config) {
  const via = new Browser();
  const auth = await newAuthorization(config, { prompt: 'consent' });
  let res = await via.get(auth.url.href);
  for (let hops = 0; !res.location?.startsWith(`${REDIRECT_URI}?`); hops++) {
    assert.ok(hops < 10, `flow: no redirect to the callback\n${via.recent()}`);
    if (res.status === 302 || res.status === 303) {
      res = await via.get(res.location);
      continue;
    }
    assert.equal(res.status, 200, `flow: unexpected answer\n${via.recent()}`);
    const path = /action="[^"]*\/consent"/.test(res.body) ? '/consent' : '/login';
    const form = findForm(res.body, res.url, path);
    const answer = path === '/login' ? { run: PERSON.run, password: PASSWORD } : { decision: 'allow' };
    res = await via.postForm(form.action, { ...form.hidden, ...answer });
  }
  const t = await client.authorizationCodeGrant(config, new URL(res.location), auth.checks);
  assert.ok(t.access_token && t.id_token, 'flow: the code grant gave no access or ID token');
  return via.history.length + 2; // + the PAR and token requests openid-client sends
}

/**
 * A valid RUN for `n` (mod-11 check digit), formatted: the login measure's accounts.
 * One account per connection, since every attempt is counted against its account until it
 * succeeds: concurrent logins of one account are refused with 429 by design.
 */
function runOf(n) {
  const digits = String(20_000_000 + n);
  let sum = 0;
  [...digits].reverse().forEach((d, i) => { sum += Number(d) * (2 + (i % 6)); });
  const dv = 11 - (sum % 11);
  const dotted = digits.replace(/\B(?=(\d{3})+$)/g, '.');
  return `${dotted}-${dv === 11 ? '0' : dv === 10 ? 'K' : dv}`;
}

/** Imports and activates one account per connection for the login measure; their RUNs. */
async function loginAccounts() {
  const runs = Array.from({ length: connections }, (_, i) => runOf(i + 1));
  const work = mkdtempSync(join(tmpdir(), 'llavero-bench-'));
  try {
    const file = join(work, 'registry.jsonl');
    writeFileSync(file, runs.map((run, i) => JSON.stringify({ ...PERSON, run, document_serial: `B${String(i).padStart(9, '0')}` }))
      .join('\n') + '\n');
    llavero('registry', 'import', file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const [i, run] of runs.entries()) {
    const { code } = JSON.parse(llavero('account', 'activation-code', run));
    const via = new Browser();
    const page = await via.get(new URL('/activate', BASE).href);
    const form = findForm(page.body, page.url, '/activate');
    const done = await via.postForm(form.action, { ...form.hidden, run, code, serial: `B${String(i).padStart(9, '0')}`,
      password: PASSWORD, password_confirm: PASSWORD });
    assert.equal(done.status, 303, `POST /activate for ${run}: ${done.status}: ${done.body.slice(0, 300)}`);
  }
  return runs;
}

/**
 * POST /login: a fixed CSRF cookie and token, each connection logging in its own account of
 * `runs`; every answer must be 303 (to /account).
 */
async function measureLogin(loginUrl, csrfCookie, csrfToken, runs) {
  const headers = { cookie: `llavero_csrf=${csrfCookie}`, 'content-type': 'application/x-www-form-urlencoded' };
  const path = new URL(loginUrl).pathname;
  for (const [seconds, label] of [[WARMUP_S, 'warm-up'], [loginDuration, 'measure']]) {
    let assigned = 0;
    const r = await new Promise((done, fail) => {
      autocannon({
        url: loginUrl, method: 'POST', headers, connections, duration: seconds, timeout: 10,
        setupClient(connection) {
          const run = runs[assigned++ % runs.length];
          const body = new URLSearchParams({ csrf: csrfToken, request: '', run, password: PASSWORD }).toString();
          connection.setRequests([{ method: 'POST', path, headers, body }]);
        },
      }, (err, result) => (err ? fail(err) : done(result)));
    });
    const codes = Object.keys(r.statusCodeStats ?? {});
    if (r.errors + r.timeouts > 0 || r.requests.total === 0 || codes.some((c) => c !== '303')) {
      throw badRun(`POST ${loginUrl}`, label, r, ' (expected 303 only)');
    }
    if (label === 'measure') return summary(r, connections, seconds);
  }
  throw new Error('unreachable');
}

// -------------------------------------------------------------------------------------- main

try {
  const registered = setUp();
  log(`client ${registered.client_id} registered, person imported`);

  // Activation, as flow.mjs does it.
  const activateUrl = new URL('/activate', BASE).href;
  const activate = await getForm(activateUrl, '/activate');
  const activated = await browser.postForm(activate.action, {
    ...activate.hidden, run: PERSON.run, code: registered.activationCode, serial: PERSON.document_serial,
    password: PASSWORD, password_confirm: PASSWORD,
  });
  assert.equal(activated.status, 303, `POST /activate: expected 303, got ${activated.status}: ${activated.body.slice(0, 500)}`);

  const config = await client.discovery(BASE, registered.client_id,
    { client_secret: registered.client_secret, id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(), { execute: [client.allowInsecureRequests] });
  const { userinfo_endpoint: userinfoUrl, token_endpoint: tokenUrl } = config.serverMetadata();

  // One browser login and consent.
  const first = await newAuthorization(config);
  let res = await browser.get(first.url.href);
  assert.equal(res.status, 303, `authorization: expected 303 to /login, got ${res.status}`);
  const login = await getForm(res.location, '/login');
  res = await browser.postForm(login.action, { ...login.hidden, run: PERSON.run, password: PASSWORD });
  assert.equal(res.status, 303, `POST /login: expected 303 to /consent, got ${res.status}\n${browser.recent()}`);
  const consent = await getForm(res.location, '/consent');
  res = await browser.postForm(consent.action, { ...consent.hidden, decision: 'allow' });
  const tokens = await client.authorizationCodeGrant(config, expectCallback(res, 'POST /consent'), first.checks);
  const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  assert.equal(info.given_name, 'María José', `userinfo: ${JSON.stringify(info)}`);
  log('activated, logged in, consented; userinfo answers');

  const basic = Buffer.from(`${encodeURIComponent(registered.client_id)}:${encodeURIComponent(registered.client_secret)}`)
    .toString('base64');

  // userinfo: one access token (of a fresh set), as bench.mjs does for oidc-provider.
  const [{ access }] = await tokenSets(config, 1);
  log(`measuring userinfo: ${connections} connections, ${duration} s (after a ${WARMUP_S} s warm-up)`);
  let result = await measure({ url: userinfoUrl, headers: { authorization: `Bearer ${access}` } },
    { connections, duration, warmup: WARMUP_S });
  log(`userinfo: ${result.total} requests, latency p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms`);
  console.log(line(SERVER, 'userinfo', result));

  log(`measuring token (refresh_token, rotating; one family per connection): ${connections} connections, ` +
    `${duration} s (after a ${WARMUP_S} s warm-up)`);
  const families = async (n) => (await tokenSets(config, n)).map(({ refresh }) => refresh);
  result = await measureRotating(tokenUrl, basic, families, { connections, duration, warmup: WARMUP_S, log });
  log(`token: ${result.total} requests, latency p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms`);
  console.log(line(SERVER, 'token', result, { grant_type: 'refresh_token', rotating: true }));

  // Whole flows from fresh browsers, server CPU per flow (the server's pid from bench_all).
  const pid = Number(process.env.LLAVERO_BENCH_PID);
  if (pid > 0) {
    const stored = passwordHash();
    setPasswordHash(CHEAP_HASH);
    log('measuring flow (PAR, authorize, login page, password at the smallest Argon2id cost, consent, code grant; ' +
      'fresh browser each): server CPU');
    const flow = await measureFlows(pid, () => flowOnce(config));
    log(`flow: ${flow.flows} flows, ${flow.cpu_ms_per_1000_flows} CPU-ms per 1,000, ${flow.requests_per_flow} requests each`);
    console.log(JSON.stringify({ server: SERVER, endpoint: 'flow', ...flow, requests_per_sec: flow.flows_per_sec }));
    setPasswordHash(stored);
  }

  // Password login: the CSRF pair of one GET /login (stateless: HMAC of the cookie's secret).
  const loginUrl = new URL('/login', BASE).href;
  const fresh = new Browser();
  const page = await fresh.get(loginUrl);
  assert.equal(page.status, 200, `GET /login: ${page.status}`);
  const loginForm = findForm(page.body, page.url, '/login');
  const csrfCookie = fresh.jar.get('llavero_csrf');
  assert.ok(csrfCookie && loginForm.hidden.csrf, 'GET /login gave no llavero_csrf cookie or csrf token');
  log(`measuring login (password, Argon2id): ${connections} connections, ${loginDuration} s (after a ${WARMUP_S} s warm-up)`);
  const runs = await loginAccounts();
  result = await measureLogin(loginUrl, csrfCookie, loginForm.hidden.csrf, runs);
  log(`login: ${result.total} requests, latency p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms`);
  console.log(line(SERVER, 'login', result, { method: 'password' }));
} catch (err) {
  console.error(`bench_llavero[${SERVER}]: FAILED: ${err?.stack ?? err}`);
  process.exitCode = 1;
}
