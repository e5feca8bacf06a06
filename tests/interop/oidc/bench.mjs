// Throughput baseline: npm oidc-provider, measured with autocannon.
//   node bench.mjs [--connections 16] [--duration 5]
// Forks op_server.mjs (oidc-provider on 127.0.0.1, a free port), gets an access token and a
// refresh token through a real authorization code flow driven by openid-client (PAR, PKCE S256),
// then measures (a) userinfo GET with the bearer access token, (b) the token endpoint with
// grant_type=refresh_token for a client whose refresh tokens do not rotate (the one refresh token
// is replayed) and (c) the same for a client whose refresh tokens rotate on every use, as
// Llavero's do (each connection its own family, measure.mjs's measureRotating).
// Prints one JSON line per measure; progress goes to stderr.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';
import { Browser } from './browser.mjs';
import { DEFAULT_CONNECTIONS, DEFAULT_DURATION_S, line, measure, measureFlows, measureRotating } from './measure.mjs';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', short: 'c', default: String(DEFAULT_CONNECTIONS) },
    duration: { type: 'string', short: 'd', default: String(DEFAULT_DURATION_S) },
  },
});
const connections = Number(args.connections);
const duration = Number(args.duration);
if (!(Number.isInteger(connections) && connections > 0) || !(duration > 0)) {
  console.error('usage: node bench.mjs [--connections N] [--duration SECONDS]');
  process.exit(2);
}
const log = (msg) => console.error(`bench: ${msg}`);

const child = fork(new URL('./op_server.mjs', import.meta.url), [], {
  env: { ...process.env, NODE_ENV: 'production' },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const stop = () => { if (child.exitCode === null) child.kill('SIGTERM'); };
process.on('exit', stop);

/** A discovered openid-client configuration for `registered` (client_secret_basic). */
function configure(issuer, registered) {
  return client.discovery(new URL(issuer), registered.client_id,
    { client_secret: registered.client_secret, id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(), { execute: [client.allowInsecureRequests] });
}

const browser = new Browser();

/**
 * A real code flow: openid-client builds the request (PAR, PKCE S256), the browser follows the
 * redirects through the auto-login/consent interaction until the callback, and the code grant
 * is checked (state, nonce, ID token). Returns the token response.
 */
async function codeFlow(config, redirectUri, scope, { via = browser, prompt } = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...(prompt ? { prompt } : {}),
  });
  let res = await via.get(authUrl.href);
  for (let hops = 0; !res.location?.startsWith(`${redirectUri}?`); hops++) {
    assert.ok(hops < 10 && res.location, `no redirect to the callback:\n${via.recent()}`);
    res = await via.get(res.location);
  }
  const tokens = await client.authorizationCodeGrant(config, new URL(res.location),
    { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  assert.ok(tokens.access_token && tokens.refresh_token, 'the code grant gave no access or refresh token');
  return tokens;
}

const basicAuth = ({ client_id: id, client_secret: secret }) =>
  Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

try {
  const [{ issuer, client: CLIENT, rotatingClient: ROTATING }] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => { throw new Error(`oidc-provider exited (${code}) before listening`); }),
  ]);
  log(`oidc-provider at ${issuer}`);

  const config = await configure(issuer, CLIENT);
  const tokens = await codeFlow(config, CLIENT.redirect_uri, CLIENT.scope);
  const sub = tokens.claims().sub;
  const info = await client.fetchUserInfo(config, tokens.access_token, sub);
  assert.equal(info.given_name, 'María José');
  log(`code flow done (sub ${sub}), userinfo answers`);

  const { userinfo_endpoint: userinfo, token_endpoint: token } = config.serverMetadata();
  const refresh = {
    url: token,
    method: 'POST',
    headers: { authorization: `Basic ${basicAuth(CLIENT)}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString(),
  };
  // The refresh token must survive its use, or the measure would be of invalid_grant answers.
  for (let i = 0; i < 2; i++) {
    const r = await fetch(refresh.url, { method: 'POST', headers: refresh.headers, body: refresh.body });
    const json = await r.json();
    assert.equal(r.status, 200, `refresh_token grant: ${JSON.stringify(json)}`);
    assert.ok(json.refresh_token === undefined || json.refresh_token === tokens.refresh_token,
      'oidc-provider rotated the refresh token although rotation is off for this client');
  }

  const measures = [
    ['userinfo', {}, { url: userinfo, headers: { authorization: `Bearer ${tokens.access_token}` } }],
    ['token', { grant_type: 'refresh_token' }, refresh],
  ];
  for (const [endpoint, extra, target] of measures) {
    log(`measuring ${endpoint}: ${connections} connections, ${duration} s (after a 1 s warm-up)`);
    const result = await measure(target, { connections, duration });
    log(`${endpoint}: ${result.total} requests, latency p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms`);
    console.log(line('oidc-provider', endpoint, result, extra));
  }

  // The rotating client: one code flow per connection and run, each a refresh-token family.
  const rotatingConfig = await configure(issuer, ROTATING);
  const families = async (n) => {
    const refreshTokens = [];
    for (let i = 0; i < n; i++) refreshTokens.push((await codeFlow(rotatingConfig, ROTATING.redirect_uri, ROTATING.scope)).refresh_token);
    return refreshTokens;
  };
  log(`measuring token-rotating (refresh_token, rotated on every use; one family per connection): ` +
    `${connections} connections, ${duration} s (after a 1 s warm-up)`);
  const rotating = await measureRotating(token, basicAuth(ROTATING), families, { connections, duration, log });
  log(`token-rotating: ${rotating.total} requests, latency p50 ${rotating.latency_ms.p50} ms, p99 ${rotating.latency_ms.p99} ms`);
  console.log(line('oidc-provider', 'token-rotating', rotating, { grant_type: 'refresh_token', rotating: true }));

  // Whole flows, each from a fresh browser: PAR, authorization, the interaction (login, then
  // consent: prompt=consent), the code grant. Server CPU per flow, not wall time.
  log('measuring flow (PAR, authorize, login, consent, code grant; fresh browser each): server CPU');
  const flow = await measureFlows(child.pid, async () => {
    const via = new Browser();
    await codeFlow(config, CLIENT.redirect_uri, CLIENT.scope, { via, prompt: 'consent' });
    return via.history.length + 2; // + the PAR and token requests openid-client sends
  });
  log(`flow: ${flow.flows} flows, ${flow.cpu_ms_per_1000_flows} CPU-ms per 1,000, ${flow.requests_per_flow} requests each`);
  console.log(JSON.stringify({ server: 'oidc-provider', endpoint: 'flow', ...flow, requests_per_sec: flow.flows_per_sec }));
} catch (err) {
  console.error(`bench: FAILED: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  stop();
}
