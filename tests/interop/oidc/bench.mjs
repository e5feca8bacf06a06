// Throughput baseline: npm oidc-provider, measured with autocannon.
//   node bench.mjs [--connections 16] [--duration 5]
// Forks op_server.mjs (oidc-provider on 127.0.0.1, a free port), gets an access token and a
// refresh token through a real authorization code flow driven by openid-client (PAR, PKCE S256),
// then measures (a) userinfo GET with the bearer access token and (b) the token endpoint with
// grant_type=refresh_token (rotation is off, so the one refresh token stays valid).
// Prints one JSON line per measure; progress goes to stderr.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';
import { Browser } from './browser.mjs';
import { DEFAULT_CONNECTIONS, DEFAULT_DURATION_S, line, measure } from './measure.mjs';

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

try {
  const [{ issuer, client: CLIENT }] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => { throw new Error(`oidc-provider exited (${code}) before listening`); }),
  ]);
  log(`oidc-provider at ${issuer}`);

  // A real code flow: openid-client builds the request, the browser follows the redirects
  // through the auto-login/consent interaction until the callback.
  const config = await client.discovery(new URL(issuer), CLIENT.client_id,
    { client_secret: CLIENT.client_secret, id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(), { execute: [client.allowInsecureRequests] });
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: CLIENT.redirect_uri,
    scope: CLIENT.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const browser = new Browser();
  let res = await browser.get(authUrl.href);
  for (let hops = 0; !res.location?.startsWith(`${CLIENT.redirect_uri}?`); hops++) {
    assert.ok(hops < 10 && res.location, `no redirect to the callback:\n${browser.recent()}`);
    res = await browser.get(res.location);
  }
  const tokens = await client.authorizationCodeGrant(config, new URL(res.location),
    { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  assert.ok(tokens.access_token && tokens.refresh_token, 'the code grant gave no access or refresh token');
  const sub = tokens.claims().sub;
  const info = await client.fetchUserInfo(config, tokens.access_token, sub);
  assert.equal(info.given_name, 'María José');
  log(`code flow done (sub ${sub}), userinfo answers`);

  const { userinfo_endpoint: userinfo, token_endpoint: token } = config.serverMetadata();
  const basic = Buffer.from(`${encodeURIComponent(CLIENT.client_id)}:${encodeURIComponent(CLIENT.client_secret)}`).toString('base64');
  const refresh = {
    url: token,
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString(),
  };
  // The refresh token must survive its use, or the measure would be of invalid_grant answers.
  for (let i = 0; i < 2; i++) {
    const r = await fetch(refresh.url, { method: 'POST', headers: refresh.headers, body: refresh.body });
    const json = await r.json();
    assert.equal(r.status, 200, `refresh_token grant: ${JSON.stringify(json)}`);
    assert.ok(json.refresh_token === undefined || json.refresh_token === tokens.refresh_token,
      'oidc-provider rotated the refresh token although rotateRefreshToken is false');
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
} catch (err) {
  console.error(`bench: FAILED: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  stop();
}
