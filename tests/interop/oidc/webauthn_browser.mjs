// A real browser end to end: headless Chromium (Debian's, driven by npm playwright-core) with the
// DevTools virtual authenticator activates an account, registers a key on the account page, then
// logs in to a relying party (npm openid-client) through Llavero's own pages with password and
// key, and checks the ID token, the key list and the history.
//   node webauthn_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR
// BASE_URL must be http://localhost:PORT: WebAuthn needs a secure context and a domain RP id.
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
  console.error('usage: node webauthn_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR');
  process.exit(2);
}
// The relying party's callback: a real listener, so the browser's redirect lands somewhere.
const rp = createServer((_, res) => res.end('callback')).listen(0, 'localhost');
await new Promise((resolve) => rp.once('listening', resolve));
const REDIRECT_URI = `http://localhost:${rp.address().port}/cb`;
const RUN = '15.555.555-6';
const SERIAL = 'B555555555';
const PASSWORD = 'una frase larga para la prueba';
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);

const llavero = (...args) =>
  execFileSync(LLAVERO_BIN, args, { env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR }, encoding: 'utf8' });

// ------------------------------------------------------------------------- setup through the CLI
const dir = mkdtempSync(join(tmpdir(), 'llavero-webauthn-'));
const people = join(dir, 'person.jsonl');
writeFileSync(people, JSON.stringify({
  run: RUN, given_names: 'Rosa Elena', paternal_surname: 'Catrileo', maternal_surname: 'Soto', birth_date: '1980-01-31',
  sex: 'F', nationality: 'CL', document_serial: SERIAL, status: 'active', updated_at: '2026-01-01T00:00:00Z',
}) + '\n');
llavero('registry', 'import', people, '--quiet');
const registered = JSON.parse(llavero('client', 'add', '--name', 'Municipalidad de Prueba', '--redirect-uri', REDIRECT_URI,
  '--scope', 'openid run name', '--min-acr', 'http://eidas.europa.eu/LoA/substantial'));
const activation = JSON.parse(llavero('account', 'activation-code', RUN));
ok('person, client (minimum acr substantial) and activation code through the CLI');

// ------------------------------------------------------------------------------ the browser
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

  await page.fill('#run', RUN);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/account$/), page.click('form[action="/login"] button[type=submit]')]);
  await page.fill('#webauthn-name', 'llave virtual');
  await Promise.all([page.waitForURL(/\/account\?changed=1$/), page.click('#webauthn-button')]);
  await page.waitForSelector('input[name=name][value="llave virtual"]');
  ok('a key registered from the account page (virtual authenticator)');

  // A relying party sends a new browser session (same authenticator) to log in.
  const config = await client.discovery(new URL(BASE_URL), registered.client_id, registered.client_secret,
    client.ClientSecretBasic(registered.client_secret),
    { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid run name', nonce, state: 'st-browser',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  await context.clearCookies();
  await page.goto(url.href);
  await page.waitForURL(/\/login\?request=/);
  await page.fill('#run', RUN);
  await page.fill('#password', PASSWORD);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForSelector('#webauthn[data-mode="login"]');
  ok('password accepted; the second-factor page asks for the key');
  await Promise.all([page.waitForURL(/\/consent\?request=/), page.click('#webauthn-button')]);
  await Promise.all([page.waitForURL((u) => u.href.startsWith(REDIRECT_URI)), page.click('button[name=decision][value=allow]')]);
  const callback = new URL(page.url());
  ok('key assertion, consent, back to the relying party');

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: 'st-browser',
  });
  const claims = tokens.claims();
  assert.equal(claims.acr, 'http://eidas.europa.eu/LoA/substantial');
  assert.ok(claims.amr.includes('pwd') && claims.amr.includes('mfa'), JSON.stringify(claims.amr));
  assert.ok(claims.amr.includes('hwk') || claims.amr.includes('swk'), JSON.stringify(claims.amr));
  ok(`ID token: acr substantial, amr ${JSON.stringify(claims.amr)}`);

  await page.goto(new URL('/account', BASE_URL).href);
  const text = await page.textContent('main');
  assert.equal(await page.inputValue('form[action="/account/webauthn/rename"] input[name=name]'), 'llave virtual', 'the key is listed');
  assert.ok(text.includes('Municipalidad de Prueba'), 'the service is in the history');
  assert.ok(text.includes('Sesión iniciada'), 'the login is in the history');
  ok('the account page lists the key and the history shows the login');

  // Each factor change spends a fresh confirmation: the login with the key was one.
  const rename = async (name) => {
    await page.fill('form[action="/account/webauthn/rename"] input[name=name]', name);
    const [answer] = await Promise.all([
      page.waitForNavigation(),
      page.click('form[action="/account/webauthn/rename"] button[type=submit]'),
    ]);
    return answer.status();
  };
  assert.equal(await rename('llave uno'), 200, 'renamed after the login with the key');
  assert.equal(await rename('llave dos'), 403, 'a second change needs a new confirmation');
  await page.goto(new URL('/account', BASE_URL).href);
  await Promise.all([page.waitForURL(/\/account\?confirmed=1$/), page.click('#webauthn-confirm')]);
  assert.equal(await rename('llave dos'), 200, 'renamed after confirming with the key');
  assert.equal(await page.inputValue('form[action="/account/webauthn/rename"] input[name=name]'), 'llave dos');
  ok('a key change after confirming with the key (virtual authenticator) on the account page');
} finally {
  await browser.close();
  rp.close();
}
console.log(`webauthn browser: ${step} passed`);
