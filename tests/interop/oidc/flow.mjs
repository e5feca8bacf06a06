// End to end, an independent OpenID Connect client (npm openid-client 6) against a running
// Llavero server:
//   node flow.mjs BASE_URL LLAVERO_BIN DATA_DIR
// Besides the ES256 client with PAR and PKCE, it registers an RS256 client
// (id_token_signed_response_alg, OIDC Core §15.1) and a confidential client with PKCE optional
// (a ClaveÚnica relying party's plain code flow) and checks their ID tokens against the JWKS
// with npm jose.
// BASE_URL is the server's issuer (http on localhost); LLAVERO_BIN sets up the person, the client
// and the activation code with LLAVERO_DATA_DIR=DATA_DIR, the data directory the server runs on
// (use a fresh one: the account is activated once). The browser part is plain HTML forms with
// a cookie jar (browser.mjs). Each step prints "ok N - step"; the first failure prints what was
// expected, the last HTTP exchanges, and exits 1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import * as client from 'openid-client';
import { Browser, findForm, formatExchanges, recordingFetch } from './browser.mjs';

const [BASE_URL, LLAVERO_BIN, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node flow.mjs BASE_URL LLAVERO_BIN DATA_DIR');
  process.exit(2);
}
const BASE = new URL(BASE_URL);
const REDIRECT_URI = 'http://127.0.0.1:9999/cb';
const POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1:9999/bye';
const SCOPE = 'openid run name birthdate';
const PERSON = {
  run: '12.345.678-5', given_names: 'María José', paternal_surname: 'González', maternal_surname: 'Rojas',
  birth_date: '1990-04-12', sex: 'F', nationality: 'CL', document_serial: 'A123456789', status: 'active',
  updated_at: '2026-01-01T00:00:00Z',
};
const PASSWORD = 'Interop-Llavero-2026!';
const started = Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------- harness

const exchanges = []; // every HTTP exchange, of the browser and of openid-client, in order
const browser = new Browser(exchanges);
let passed = 0;

function describe(err) {
  if (err instanceof client.ResponseBodyError) {
    return `${err.name}: ${err.message}\n  HTTP ${err.status}, error=${err.error}` +
      `${err.error_description ? `, error_description=${err.error_description}` : ''}\n  body: ${JSON.stringify(err.cause)}`;
  }
  if (err instanceof client.AuthorizationResponseError || err instanceof client.WWWAuthenticateChallengeError) {
    return `${err.name}: ${err.message}\n  ${JSON.stringify(err.cause)}`;
  }
  const cause = err?.cause ? `\n  cause: ${err.cause instanceof Error ? err.cause.message : JSON.stringify(err.cause)}` : '';
  return `${err?.stack ?? err}${err?.code ? `\n  code: ${err.code}` : ''}${cause}`;
}

/** Runs one named step; on failure says which, why, and what the server last answered, then exits 1. */
async function step(name, fn) {
  const from = exchanges.length;
  try {
    const result = await fn();
    passed += 1;
    console.log(`ok ${passed} - ${name}`);
    return result;
  } catch (err) {
    console.log(`not ok ${passed + 1} - ${name}`);
    console.error(describe(err));
    const during = exchanges.slice(from);
    if (during.length) console.error(`HTTP exchanges of this step:\n${formatExchanges(during.slice(-8))}`);
    console.log(`oidc: ${passed} passed, 1 failed`);
    process.exit(1);
  }
}

/** The llavero CLI with LLAVERO_DATA_DIR=DATA_DIR; returns stdout, or throws with its stderr. */
function llavero(...args) {
  try {
    return execFileSync(LLAVERO_BIN, args, {
      env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Error(`llavero ${args.join(' ')} failed (exit ${err.status ?? err.code}):\n${err.stderr || err.message}`);
  }
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: expected one JSON object on stdout, got:\n${text}`);
  }
}

/** `res` is a 303 whose Location has the path `path` (on BASE_URL); returns the Location as a URL. */
function expectSeeOther(res, path, what) {
  assert.equal(res.status, 303, `${what}: expected 303, got ${res.status}`);
  assert.ok(res.location, `${what}: 303 without Location`);
  const location = new URL(res.location);
  assert.equal(location.origin + location.pathname, new URL(path, BASE).href, `${what}: Location ${res.location}`);
  return location;
}

/** `res` is a 303 to the client's redirect URI; returns the Location as a URL. */
function expectCallback(res, what) {
  assert.equal(res.status, 303, `${what}: expected 303 to ${REDIRECT_URI}, got ${res.status}`);
  assert.ok(res.location?.startsWith(`${REDIRECT_URI}?`), `${what}: expected a redirect to ${REDIRECT_URI}?..., got ${res.location}`);
  return new URL(res.location);
}

/** `promise` (an openid-client call) must reject with the OAuth error `code`. */
async function expectOAuthError(promise, code, what) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    if (err instanceof client.ResponseBodyError) {
      assert.equal(err.error, code, `${what}: expected error ${code}, got ${err.error} (HTTP ${err.status}): ${JSON.stringify(err.cause)}`);
      return err;
    }
    throw new Error(`${what}: expected an OAuth error response ${code}, got ${describe(err)}`);
  }
  assert.fail(`${what}: expected error ${code}, but it succeeded: ${JSON.stringify(result)}`);
}

/** A fresh pushed authorization request (PKCE S256, state, nonce): its URL and the checks to expect. */
async function newAuthorization(config) {
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
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

/** GET `url`: 200 with a form posting to `path`, its hidden inputs including csrf (and `request` if given). */
async function getForm(url, path, request) {
  const res = await browser.get(url);
  assert.equal(res.status, 200, `GET ${url}: expected the form (200), got ${res.status}`);
  const form = findForm(res.body, res.url, path);
  assert.equal(form.method, 'post', `form to ${path} must be method="post"`);
  assert.ok(form.hidden.csrf, `form to ${path} has no hidden csrf input: ${JSON.stringify(form.hidden)}`);
  if (request !== undefined) assert.equal(form.hidden.request, request, `form to ${path}: hidden input request`);
  return form;
}

async function fetchUserInfoStatus(config, accessToken) {
  const res = await recordingFetch(exchanges, 'test')(config.serverMetadata().userinfo_endpoint,
    { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: await res.text() };
}

// ------------------------------------------------------------------------------------ setup

console.log(`# Llavero at ${BASE.href}, llavero ${LLAVERO_BIN}, LLAVERO_DATA_DIR=${DATA_DIR}`);
const work = mkdtempSync(join(tmpdir(), 'llavero-oidc-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

await step('llavero registry import (one person)', () => {
  const file = join(work, 'registry.jsonl');
  writeFileSync(file, `${JSON.stringify(PERSON)}\n`);
  llavero('registry', 'import', file);
});

const registered = await step('llavero client add prints client_id and client_secret', () => {
  const out = llavero('client', 'add', '--name', 'Interop', '--redirect-uri', REDIRECT_URI,
    '--post-logout-redirect-uri', POST_LOGOUT_REDIRECT_URI, '--scope', SCOPE, '--auth', 'client_secret_basic');
  const json = parseJson(out, 'llavero client add');
  assert.equal(typeof json.client_id, 'string', `client_id: ${out}`);
  assert.ok(json.client_id.length > 0, 'client_id is empty');
  assert.equal(typeof json.client_secret, 'string', `client_secret: ${out}`);
  assert.ok(json.client_secret.length > 0, 'client_secret is empty');
  return json;
});

const activation = await step('llavero account activation-code', () => {
  const out = llavero('account', 'activation-code', PERSON.run);
  const json = parseJson(out, 'llavero account activation-code');
  assert.equal(json.run, PERSON.run, `run: ${out}`);
  assert.equal(typeof json.code, 'string', `code: ${out}`);
  assert.ok(json.code.length > 0, 'code is empty');
  const expires = Date.parse(json.expires_at);
  assert.ok(Number.isFinite(expires), `expires_at is not RFC 3339: ${json.expires_at}`);
  assert.ok(expires > Date.now(), `expires_at ${json.expires_at} is already past`);
  return json;
});

// ------------------------------------------------------------------------------- activation

await step('activation: GET /activate form, POST /activate -> 303', async () => {
  const url = new URL('/activate', BASE).href;
  const form = await getForm(url, '/activate');
  assert.ok(browser.jar.has('llavero_csrf'), `no llavero_csrf cookie after GET /activate (cookies: ${[...browser.jar.keys()]})`);
  const res = await browser.postForm(form.action, {
    ...form.hidden,
    run: PERSON.run,
    code: activation.code,
    serial: PERSON.document_serial,
    password: PASSWORD,
    password_confirm: PASSWORD,
  });
  assert.equal(res.status, 303, `POST /activate: expected 303, got ${res.status}: ${res.body.slice(0, 500)}`);
  assert.ok(res.location, 'POST /activate: 303 without Location');
  console.log(`#   activated; redirected to ${res.location}`);
});

// ---------------------------------------------------------------------------- authorization

const config = await step('discovery (.well-known/openid-configuration)', async () => {
  const cfg = await client.discovery(BASE, registered.client_id,
    { client_secret: registered.client_secret, id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(),
    { execute: [client.allowInsecureRequests], [client.customFetch]: recordingFetch(exchanges) });
  const md = cfg.serverMetadata();
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
    'pushed_authorization_request_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    assert.ok(md[endpoint], `discovery has no ${endpoint}`);
  }
  assert.ok(md.code_challenge_methods_supported?.includes('S256'), 'code_challenge_methods_supported lacks S256');
  assert.ok(md.id_token_signing_alg_values_supported?.includes('ES256'), 'id_token_signing_alg_values_supported lacks ES256');
  return cfg;
});
const ISSUER = config.serverMetadata().issuer;

const first = await step('authorization request pushed (PAR, PKCE S256, state, nonce)', () => newAuthorization(config));

const login = await step('GET authorization URL -> 303 /login?request=ID -> login form', async () => {
  const res = await browser.get(first.url.href);
  const location = expectSeeOther(res, '/login', 'GET authorization URL (no session)');
  const request = location.searchParams.get('request');
  assert.ok(request, `no request parameter in ${location}`);
  return { request, form: await getForm(location.href, '/login', request) };
});

const consent = await step('POST /login -> 303 /consent?request=ID -> consent form', async () => {
  const res = await browser.postForm(login.form.action, { ...login.form.hidden, run: PERSON.run, password: PASSWORD });
  const location = expectSeeOther(res, '/consent', 'POST /login');
  const request = location.searchParams.get('request');
  assert.ok(request, `no request parameter in ${location}`);
  assert.ok(browser.jar.has('llavero_session'), `no llavero_session cookie after login (cookies: ${[...browser.jar.keys()]})`);
  return { request, form: await getForm(location.href, '/consent', request) };
});

const callback = await step('POST /consent decision=allow -> 303 to the callback with code, state, iss', async () => {
  const res = await browser.postForm(consent.form.action, { ...consent.form.hidden, decision: 'allow' });
  const location = expectCallback(res, 'POST /consent');
  assert.ok(location.searchParams.get('code'), `no code in ${location}`);
  assert.equal(location.searchParams.get('state'), first.checks.expectedState, 'state in the callback');
  assert.equal(location.searchParams.get('iss'), ISSUER, 'iss in the callback');
  return location;
});

const tokens = await step('authorization code grant; ID token (ES256, JWKS) claims', async () => {
  const t = await client.authorizationCodeGrant(config, callback, first.checks);
  assert.ok(t.access_token, 'no access_token');
  assert.ok(t.refresh_token, 'no refresh_token');
  assert.ok(t.id_token, 'no id_token');
  assert.equal(t.token_type.toLowerCase(), 'bearer', 'token_type');
  const c = t.claims();
  assert.equal(c.iss, ISSUER, 'iss');
  assert.ok(c.aud === registered.client_id || (Array.isArray(c.aud) && c.aud.includes(registered.client_id)),
    `aud ${JSON.stringify(c.aud)} is not ${registered.client_id}`);
  assert.equal(c.nonce, first.checks.expectedNonce, 'nonce');
  assert.equal(typeof c.sub, 'string', 'sub');
  assert.ok(c.sub.length > 0, 'sub is empty');
  assert.equal(typeof c.acr, 'string', `acr: ${JSON.stringify(c.acr)}`);
  assert.ok(c.acr.length > 0, 'acr is empty');
  assert.ok(Array.isArray(c.amr) && c.amr.length > 0 && c.amr.every((m) => typeof m === 'string'),
    `amr must be a non-empty array of strings: ${JSON.stringify(c.amr)}`);
  assert.equal(typeof c.sid, 'string', `sid: ${JSON.stringify(c.sid)}`);
  assert.ok(c.sid.length > 0, 'sid is empty');
  assert.ok(Number.isInteger(c.auth_time), `auth_time: ${JSON.stringify(c.auth_time)}`);
  assert.ok(c.auth_time >= started - 60 && c.auth_time <= Math.floor(Date.now() / 1000) + 60,
    `auth_time ${c.auth_time} is not the time of this login (started ${started})`);
  console.log(`#   sub=${c.sub} acr=${c.acr} amr=${JSON.stringify(c.amr)} sid=${c.sid} auth_time=${c.auth_time}`);
  return t;
});
const idClaims = tokens.claims();

await step('userinfo: RolUnico, name, given_name, family_name, birthdate', async () => {
  const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
  assert.deepEqual(info.RolUnico, { numero: 12345678, DV: '5', tipo: 'RUN' }, 'RolUnico');
  assert.deepEqual(info.name, { nombres: ['María', 'José'], apellidos: ['González', 'Rojas'] }, 'name');
  assert.equal(info.given_name, 'María José', 'given_name');
  assert.equal(info.family_name, 'González Rojas', 'family_name');
  assert.equal(info.birthdate, '1990-04-12', 'birthdate');
});

// -------------------------------------------------------------------------- refresh tokens

const refreshed = await step('refresh token grant rotates both tokens', async () => {
  const t = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(t.access_token, 'no access_token');
  assert.ok(t.refresh_token, 'no refresh_token (the refresh token must rotate)');
  assert.notEqual(t.access_token, tokens.access_token, 'the access token did not change');
  assert.notEqual(t.refresh_token, tokens.refresh_token, 'the refresh token did not change');
  return t;
});

// A retry of the token just rotated, while its successor is still unused, is a lost response
// (the grace window) and gets a fresh pair; once the successor has been used, the old token is a
// replay: refused, and its whole family revoked.
const rotatedAgain = await step('the new refresh token rotates in turn', async () => {
  const t = await client.refreshTokenGrant(config, refreshed.refresh_token);
  assert.notEqual(t.refresh_token, refreshed.refresh_token, 'the refresh token did not change');
  return t;
});

await step('replaying the first refresh token after its successor was used fails with invalid_grant', () =>
  expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', 'old refresh token'));

await step('the newest refresh token is revoked too (family revoked on replay)', () =>
  expectOAuthError(client.refreshTokenGrant(config, rotatedAgain.refresh_token), 'invalid_grant', 'newest refresh token'));

// ------------------------------------------- RS256 ID tokens, confidential client without PKCE

/** `llavero client add` with the flow's redirect URIs and scope plus `extra` flags; returns its JSON. */
function addClient(name, ...extra) {
  const out = llavero('client', 'add', '--name', name, '--redirect-uri', REDIRECT_URI,
    '--post-logout-redirect-uri', POST_LOGOUT_REDIRECT_URI, '--scope', SCOPE, ...extra);
  return parseJson(out, `llavero client add ${extra.join(' ')}`);
}

/** openid-client's configuration of a registered confidential client expecting ID tokens in `alg`. */
function configFor(registration, alg) {
  const cfg = new client.Configuration(config.serverMetadata(), registration.client_id,
    { client_secret: registration.client_secret, id_token_signed_response_alg: alg },
    client.ClientSecretBasic());
  client.allowInsecureRequests(cfg);
  cfg[client.customFetch] = recordingFetch(exchanges);
  return cfg;
}

/** Independently of openid-client: the ID token verifies with `alg` against the JWKS (npm jose). */
async function verifyWithJwks(idToken, audience, alg) {
  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks,
    { issuer: ISSUER, audience, algorithms: [alg] });
  assert.equal(protectedHeader.alg, alg, 'ID token alg');
  const res = await recordingFetch(exchanges, 'test')(config.serverMetadata().jwks_uri);
  const { keys } = await res.json();
  const key = keys.find((k) => k.kid === protectedHeader.kid);
  assert.ok(key, `kid ${protectedHeader.kid} is not in the JWKS`);
  assert.equal(key.use, 'sig', 'JWKS use');
  assert.equal(key.alg, alg, 'JWKS alg');
  return { payload, key };
}

/** A first authorization of a new client in the signed-in browser: consent, then the callback. */
async function consentFor(url, what) {
  const res = await browser.get(url.href);
  const location = expectSeeOther(res, '/consent', `${what}: new client, consent asked`);
  const form = await getForm(location.href, '/consent', location.searchParams.get('request'));
  return expectCallback(await browser.postForm(form.action, { ...form.hidden, decision: 'allow' }), `${what}: consent`);
}

await step('discovery lists ES256 and RS256 ID tokens', () => {
  const algs = config.serverMetadata().id_token_signing_alg_values_supported;
  assert.ok(algs.includes('ES256') && algs.includes('RS256'), `id_token_signing_alg_values_supported: ${algs}`);
});

const rsClient = await step('llavero client add --id-token-signed-response-alg RS256', () => {
  const json = addClient('Interop RS256', '--id-token-signed-response-alg', 'RS256');
  assert.equal(json.id_token_signed_response_alg, 'RS256', JSON.stringify(json));
  return json;
});

await step('RS256 client: PAR + PKCE, ID token RS256 verified against the JWKS (jose), RSA key >= 2048 bits', async () => {
  const rsConfig = configFor(rsClient, 'RS256');
  const auth = await newAuthorization(rsConfig);
  const callbackUrl = await consentFor(auth.url, 'RS256 client');
  const t = await client.authorizationCodeGrant(rsConfig, callbackUrl, auth.checks);
  assert.equal(t.claims().nonce, auth.checks.expectedNonce, 'nonce');
  const { payload, key } = await verifyWithJwks(t.id_token, rsClient.client_id, 'RS256');
  assert.equal(key.kty, 'RSA', 'JWKS kty');
  assert.ok(Buffer.from(key.n, 'base64url').length * 8 >= 2048, 'RSA modulus under 2048 bits');
  assert.equal(payload.sid, idClaims.sid, 'same session, same sid');
  // The ES256 key still signs the ES256 client's tokens, and its key is published beside.
  await verifyWithJwks(tokens.id_token, registered.client_id, 'ES256');
});

await step('RS256 client (PKCE required): an authorization request without PKCE is refused', async () => {
  const url = client.buildAuthorizationUrl(configFor(rsClient, 'RS256'),
    { redirect_uri: REDIRECT_URI, scope: SCOPE, state: 'no-pkce' });
  const location = expectCallback(await browser.get(url.href), 'authorization without PKCE');
  assert.equal(location.searchParams.get('error'), 'invalid_request', `error in ${location}`);
  assert.equal(location.searchParams.get('state'), 'no-pkce', 'state');
});

await step('llavero client add --auth none --pkce optional is refused (public clients always use PKCE)', () => {
  assert.throws(() => addClient('Public', '--auth', 'none', '--pkce', 'optional'), /pkce/);
});

const legacy = await step('llavero client add --pkce optional (a confidential client, as ClaveÚnica RPs are)', () => {
  const json = addClient('Interop sin PKCE', '--pkce', 'optional');
  assert.equal(json.pkce, 'optional', JSON.stringify(json));
  return json;
});

await step('confidential client without PKCE: front-channel code flow, ID token verified against the JWKS', async () => {
  const legacyConfig = configFor(legacy, 'ES256');
  const checks = { expectedState: client.randomState(), expectedNonce: client.randomNonce(), idTokenExpected: true };
  const url = client.buildAuthorizationUrl(legacyConfig, {
    redirect_uri: REDIRECT_URI, scope: SCOPE, state: checks.expectedState, nonce: checks.expectedNonce,
  });
  assert.equal(url.searchParams.get('code_challenge'), null, 'the request must carry no PKCE');
  const callbackUrl = await consentFor(url, 'client without PKCE');
  const t = await client.authorizationCodeGrant(legacyConfig, callbackUrl, checks);
  const { payload } = await verifyWithJwks(t.id_token, legacy.client_id, 'ES256');
  assert.equal(payload.nonce, checks.expectedNonce, 'nonce');
  const info = await client.fetchUserInfo(legacyConfig, t.access_token, payload.sub);
  assert.deepEqual(info.RolUnico, { numero: 12345678, DV: '5', tipo: 'RUN' }, 'RolUnico');
});

await step('llavero client list shows each client\'s ID token algorithm and PKCE policy, no secrets', () => {
  const out = llavero('client', 'list');
  const list = parseJson(out, 'llavero client list');
  const find = (id) => list.find((c) => c.client_id === id);
  assert.equal(find(rsClient.client_id)?.id_token_signed_response_alg, 'RS256', out);
  assert.equal(find(legacy.client_id)?.pkce, 'optional', out);
  assert.equal(find(registered.client_id)?.pkce, 'required', out);
  assert.ok(!out.includes(registered.client_secret), 'a client secret is listed');
});

// ----------------------------------------------------------- second authorization, revocation

const second = await step('authorization with the session cookie: no login, consent remembered -> callback', async () => {
  const auth = await newAuthorization(config);
  const res = await browser.get(auth.url.href);
  const location = expectCallback(res, 'GET authorization URL (session and consent)');
  assert.equal(location.searchParams.get('state'), auth.checks.expectedState, 'state in the callback');
  const t = await client.authorizationCodeGrant(config, location, auth.checks);
  const c = t.claims();
  assert.equal(c.sub, idClaims.sub, 'same person, same sub');
  assert.equal(c.sid, idClaims.sid, 'same session, same sid');
  assert.equal(c.auth_time, idClaims.auth_time, 'no new authentication, same auth_time');
  return t;
});

await step('token revocation of the access token -> userinfo answers 401', async () => {
  const before = await fetchUserInfoStatus(config, second.access_token);
  assert.equal(before.status, 200, `userinfo before revocation: ${before.status} ${before.body}`);
  await client.tokenRevocation(config, second.access_token);
  const after = await fetchUserInfoStatus(config, second.access_token);
  assert.equal(after.status, 401, `userinfo after revocation: ${after.status} ${after.body}`);
  console.log(`#   WWW-Authenticate: ${after.wwwAuthenticate}`);
});

// ---------------------------------------------------------------------------------- logout

await step('RP-initiated logout -> 303 to post_logout_redirect_uri with state', async () => {
  const state = client.randomState();
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: second.id_token,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state,
  });
  const res = await browser.get(url.href);
  assert.equal(res.status, 303, `GET ${url}: expected 303, got ${res.status}`);
  const location = new URL(res.location ?? 'about:blank');
  assert.equal(location.origin + location.pathname, POST_LOGOUT_REDIRECT_URI, `logout Location ${res.location}`);
  assert.equal(location.searchParams.get('state'), state, 'state after logout');
});

await step('after logout the authorization request asks for the login form again', async () => {
  const auth = await newAuthorization(config);
  const res = await browser.get(auth.url.href);
  const location = expectSeeOther(res, '/login', 'GET authorization URL (after logout)');
  const request = location.searchParams.get('request');
  assert.ok(request, `no request parameter in ${location}`);
  await getForm(location.href, '/login', request);
});

console.log(`oidc: ${passed} passed, 0 failed`);
