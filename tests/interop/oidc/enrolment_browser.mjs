// Required enrolment in a real browser: with LLAVERO_REQUIRE_ENROLMENT=true, a relying party
// (npm openid-client) sends a citizen without a key to log in; after the password Llavero asks for
// a key on the account page, the citizen registers one (DevTools virtual authenticator in Debian's
// headless Chromium, npm playwright-core), and the browser goes back to the same authorization,
// which ends at the relying party with acr substantial: the key just registered is the second
// factor of this login.
//   node enrolment_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR
// The server must run with LLAVERO_REQUIRE_ENROLMENT=true; BASE_URL must be http://localhost:PORT.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const [BASE_URL, LLAVERO_BIN, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node enrolment_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR');
  process.exit(2);
}
const rp = createServer((_, res) => res.end('callback')).listen(0, 'localhost');
await new Promise((resolve) => rp.once('listening', resolve));
const REDIRECT_URI = `http://localhost:${rp.address().port}/cb`;
const RUN = '16.666.666-K';
const SERIAL = 'B666666666';
const PASSWORD = 'otra frase larga para la prueba';
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);

const llavero = (...args) =>
  execFileSync(LLAVERO_BIN, args, { env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR }, encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'llavero-enrolment-'));
const people = join(dir, 'person.jsonl');
writeFileSync(people, JSON.stringify({
  run: RUN, given_names: 'Luis Alberto', paternal_surname: 'Painequeo', maternal_surname: 'Rojas', birth_date: '1975-06-30',
  sex: 'M', nationality: 'CL', document_serial: SERIAL, status: 'active', updated_at: '2026-01-01T00:00:00Z',
}) + '\n');
llavero('registry', 'import', people, '--quiet');
const registered = JSON.parse(llavero('client', 'add', '--name', 'Servicio de Prueba', '--redirect-uri', REDIRECT_URI,
  '--scope', 'openid run'));
const activation = JSON.parse(llavero('account', 'activation-code', RUN));
ok('person, client and activation code through the CLI');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ locale: 'es-CL' });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  await page.goto(new URL('/activate', BASE_URL).href);
  await page.fill('#run', RUN);
  await page.fill('#code', activation.code);
  await page.fill('#serial', SERIAL);
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL(/\/login\?activated=1/), page.click('form[action="/activate"] button[type=submit]')]);
  ok('activation through the page');

  const config = await client.discovery(new URL(BASE_URL), registered.client_id, registered.client_secret,
    client.ClientSecretBasic(registered.client_secret),
    { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid run', nonce, state: 'st-enrol',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  await page.goto(url.href);
  await page.waitForURL(/\/login\?request=/);
  await page.fill('#run', RUN);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/account\?enrol=required$/), page.click('form[action="/login"] button[type=submit]')]);
  ok('after the password, a key is required: the account page asks for one');

  await page.fill('#webauthn-name', 'llave del trabajo');
  await Promise.all([page.waitForURL(/\/consent\?request=/), page.click('#webauthn-button')]);
  ok('the key registered, the browser is back in the same authorization');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(REDIRECT_URI)), page.click('button[name=decision][value=allow]')]);
  const callback = new URL(page.url());
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: 'st-enrol',
  });
  const claims = tokens.claims();
  assert.equal(claims.acr, 'http://eidas.europa.eu/LoA/substantial');
  assert.ok(claims.amr.includes('pwd') && claims.amr.includes('mfa'), JSON.stringify(claims.amr));
  assert.ok(claims.amr.includes('hwk') || claims.amr.includes('swk'), JSON.stringify(claims.amr));
  ok(`ID token at the relying party: acr substantial, amr ${JSON.stringify(claims.amr)}`);
} finally {
  await browser.close();
  rp.close();
}
console.log(`enrolment browser: ${step} passed`);
