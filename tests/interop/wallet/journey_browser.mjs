// The wallet's whole journey in a real browser, on a phone (390 px): headless Chromium (Debian's,
// driven by npm playwright-core, installed by ../oidc) with the DevTools virtual authenticator.
//   1. a person, an agency and an activation code through the CLI; the citizen activates the
//      account, registers a key on /account, and logs in again with password and key;
//   2. the agency (its API, client_credentials token) offers an identity card with a tx_code; the
//      citizen opens the offer in the wallet (/wallet/offer?credential_offer_uri=…), types the
//      code and sees the document on /wallet and on its own page;
//   3. the demo relying party (/verifier/demo) asks for name and RUN; its same-device button
//      (openid4vp://…) is opened in the wallet (/wallet/authorize?…, as the phone's OS would hand
//      it over); the consent page names the relying party and exactly the claims asked for;
//      any optional claim offered is left out; the citizen confirms with the key;
//   4. the browser lands back at the relying party, which shows the verified answer (the claims
//      asked for, with the citizen's values);
//   5. the carpeta (/account, section "historial") lists the presentation.
// Every page is checked as a citizen meets it: no sideways scrolling at 320, 390 and 1280 px,
// 44-px controls, npm axe-core without violations, <html lang> as expected; screenshots at 390
// and 1280 px go to DATA_DIR/screenshots.
//   node journey_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR
// BASE_URL must be http://localhost:PORT (WebAuthn needs a secure context and a domain RP id);
// the server runs with LLAVERO_DEMO_DATA=true (the demo relying party and agencies).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// playwright-core and axe-core come from ../oidc (its package-lock.json).
const oidcRequire = createRequire(new URL('../oidc/package.json', import.meta.url));
const { chromium } = oidcRequire('playwright-core');
const AXE = readFileSync(oidcRequire.resolve('axe-core/axe.min.js'), 'utf8');

const [BASE_URL, LLAVERO_BIN, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node journey_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR');
  process.exit(2);
}
const BASE = BASE_URL.replace(/\/$/, '');
const RUN = '17.777.777-3';
const SERIAL = 'D777777777';
const PASSWORD = 'una frase larga para el viaje completo';
const AGENCY = 'registro-civil-viaje';
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);
const SHOTS = join(DATA_DIR, 'screenshots');
mkdirSync(SHOTS, { recursive: true });

const llavero = (...args) =>
  execFileSync(LLAVERO_BIN, args, { env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR, LLAVERO_ISSUER: BASE }, encoding: 'utf8' });

/**
 * Checks the page as it is now: sizes, axe-core (less the rules named in `skip`), language;
 * screenshots at 390 and 1280 px.
 */
async function audit(page, name, lang, skip = []) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${name}: <html lang>`);
  for (const width of [320, 1280, 390]) {
    await page.setViewportSize({ width, height: 844 });
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    }));
    assert.ok(scrollWidth <= innerWidth, `${name} at ${width} px: scrollWidth ${scrollWidth} > ${innerWidth}`);
    const small = await page.evaluate(() => [...document.querySelectorAll(
      'main button, main input:not([type=hidden]):not([type=checkbox]), main a.action, main a.button, main select')]
      .filter((e) => e.checkVisibility())
      .map((e) => ({ what: e.outerHTML.slice(0, 80), box: e.getBoundingClientRect() }))
      .filter(({ box }) => box.height < 44 || box.width < 44)
      .map(({ what, box }) => `${what} ${Math.round(box.width)}x${Math.round(box.height)}`));
    assert.deepEqual(small, [], `${name} at ${width} px: controls under 44 px`);
    if (width !== 320) {
      await page.screenshot({ path: join(SHOTS, `journey-${name}-${width}.png`), fullPage: true });
    }
  }
  // Through DevTools: the pages' content security policy rightly refuses inline scripts.
  await (await devtoolsOf(page)).send('Runtime.evaluate', { expression: AXE });
  const { violations } = await page.evaluate((rules) => window.axe.run(document,
    { rules: Object.fromEntries(rules.map((r) => [r, { enabled: false }])) }), skip);
  assert.deepEqual(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${name}: axe-core violations`);
  audited.push(name);
}
const audited = [];
const devtoolsSessions = new WeakMap();
async function devtoolsOf(page) {
  if (!devtoolsSessions.has(page)) { devtoolsSessions.set(page, await page.context().newCDPSession(page)); }
  return devtoolsSessions.get(page);
}

// ------------------------------------------------------------------------- setup through the CLI
const dir = mkdtempSync(join(tmpdir(), 'llavero-journey-'));
const people = join(dir, 'person.jsonl');
writeFileSync(people, JSON.stringify({
  run: RUN, given_names: 'Violeta Andrea', paternal_surname: 'Huenchumilla', maternal_surname: 'Rojas',
  birth_date: '1990-07-14', sex: 'F', nationality: 'CL', document_serial: SERIAL, status: 'active',
  updated_at: '2026-01-01T00:00:00Z',
}) + '\n');
llavero('registry', 'import', people, '--quiet');
const agency = JSON.parse(llavero('issuer', 'add', AGENCY, '--name', 'Registro Civil', '--types', 'identity-card'));
const activation = JSON.parse(llavero('account', 'activation-code', RUN));
ok('person, agency (identity cards) and activation code through the CLI');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ locale: 'es-CL', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const cdp = await devtoolsOf(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  // ----------------------------------------------------------- activation, key, login with both
  await page.goto(`${BASE}/activate`);
  await page.fill('#run', RUN);
  await page.fill('#code', activation.code);
  await page.fill('#serial', SERIAL);
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL(/\/login\?activated=1/), page.click('form[action="/activate"] button[type=submit]')]);
  await page.fill('#run', RUN);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/account$/), page.click('form[action="/login"] button[type=submit]')]);
  await page.fill('#webauthn-name', 'llave del teléfono');
  await Promise.all([page.waitForURL(/\/account\?changed=1$/), page.click('#webauthn-button')]);
  ok('account activated; a key registered on /account (virtual authenticator)');

  await context.clearCookies();
  await page.goto(`${BASE}/login`);
  await audit(page, 'login', 'es');
  await page.fill('#run', RUN);
  await page.fill('#password', PASSWORD);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForSelector('#webauthn[data-mode="login"]');
  await audit(page, 'second-factor', 'es');
  await Promise.all([page.waitForURL(/\/account$/), page.click('#webauthn-button')]);
  ok('logged in with password and key');

  // ------------------------------------------------------------------ the agency's offer
  const tokenResponse = await fetch(`${BASE}/agency/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${agency.client_id}:${agency.client_secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.ok(tokenResponse.ok, `agency token: ${tokenResponse.status}`);
  const agencyToken = (await tokenResponse.json()).access_token;
  const offerResponse = await fetch(`${BASE}/${AGENCY}/api/offers`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${agencyToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      run: RUN, credential_configuration_ids: ['identity-card_sd-jwt'],
      claims: { 'identity-card': { document_expiry: '2031-05-01' } }, tx_code: true,
    }),
  });
  const offerText = await offerResponse.text();
  assert.ok(offerResponse.ok, `POST /${AGENCY}/api/offers -> ${offerResponse.status} ${offerText}`);
  const offer = JSON.parse(offerText);
  assert.match(offer.tx_code, /^\d+$/);
  // The phone hands the openid-credential-offer:// link to the wallet's credential_offer_endpoint.
  const offerQuery = offer.credential_offer_uri.slice(offer.credential_offer_uri.indexOf('?'));
  await page.goto(`${BASE}/wallet/offer${offerQuery}`);
  await page.waitForURL(/\/wallet\/offer\/[^/]+$/);
  assert.ok(await page.isVisible('#tx_code'), 'the offer asks for the tx_code');
  assert.match(await page.textContent('main'), /Registro Civil/, 'the offer names the agency');
  await audit(page, 'offer', 'es');
  await page.fill('#tx_code', offer.tx_code);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/accept"] button[type=submit]')]);
  ok('the offer names the agency and asks for the tx_code; the code typed in');

  await page.goto(`${BASE}/wallet`);
  await audit(page, 'wallet', 'es');
  const documentLink = page.locator('main a[href^="/wallet/credentials/"]').first();
  assert.equal(await documentLink.count(), 1, 'the document is listed on /wallet');
  await Promise.all([page.waitForURL(/\/wallet\/credentials\//), documentLink.click()]);
  const documentText = await page.textContent('main');
  assert.ok(documentText.includes('Violeta Andrea'), `the document shows the name: ${documentText.slice(0, 400)}`);
  await audit(page, 'document', 'es');
  ok('the identity card is on /wallet and its page shows the citizen\'s data');

  // --------------------------------------------------------------- the demo relying party
  await page.goto(`${BASE}/verifier/demo`);
  await audit(page, 'verifier-demo', 'es');
  await Promise.all([page.waitForURL(/\/verifier\/demo\/[^/?]+/), page.click('button[name=preset][value="name-and-run"]')]);
  const demoUrl = page.url();
  // The waiting page refreshes itself every 3 s so that it needs no script (axe-core's
  // meta-refresh rule, WCAG 2.2.1); a known choice of the demo page, left to review.
  await audit(page, 'verifier-waiting', 'es', ['meta-refresh']);
  const link = await page.getAttribute('main a.button[href^="openid4vp://"]', 'href');
  assert.ok(link, 'the same-device button');
  ok('the demo relying party asks for name and RUN and offers the same-device button');

  // The phone's OS hands openid4vp:// to the wallet: the same query at /wallet/authorize.
  await page.goto(`${BASE}/wallet/authorize${link.slice(link.indexOf('?'))}`);
  await page.waitForURL(/\/wallet\/present\/[^/]+$/);
  await audit(page, 'consent', 'es');
  const consent = await page.textContent('main');
  assert.ok(consent.includes('Verificador de demostración'), 'the consent page names the relying party');
  const asked = await page.$$eval('#share-form fieldset li', (items) => items.map((li) => li.textContent.trim()));
  assert.equal(asked.length, 3, `exactly the three claims asked for: ${JSON.stringify(asked)}`);
  // Optional claims (claim sets) are ticked by default: leave each one out.
  const optional = page.locator('#share-form input[name=keep]');
  const left = [];
  for (let i = 0; i < await optional.count(); i += 1) {
    left.push(await optional.nth(i).getAttribute('value'));
    await optional.nth(i).uncheck();
  }
  ok(`the consent page names the relying party and asks for ${asked.length} claims: ${asked.join('; ')}` +
    `${left.length ? `; optional left out: ${left.join(', ')}` : '; none optional'}`);

  // Share: present.js runs the key confirmation, then the form goes and the wallet answers.
  const signatures = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId }))
    .credentials.reduce((sum, c) => sum + c.signCount, 0);
  const signedBefore = await signatures();
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${BASE}/verifier/demo/`) && u.searchParams.has('response_code'), { timeout: 30000 }),
    page.click('#share-form button[type=submit]'),
  ]);
  await page.waitForFunction(() => !/Esperando/.test(document.querySelector('main').textContent));
  assert.ok(await signatures() > signedBefore, 'the key signed the confirmation');
  await audit(page, 'verifier-answer', 'es');
  const answer = await page.textContent('main');
  for (const value of ['Violeta Andrea', '17777777']) {
    assert.ok(answer.replace(/[.]/g, '').includes(value), `the verified answer shows ${value}: ${answer.slice(0, 500)}`);
  }
  for (const label of ['Nombres', 'Apellidos', 'RUN']) {
    assert.ok(answer.includes(label), `the answer names ${label} in plain words`);
  }
  assert.ok(!/given_name|family_name/.test(answer), `no claim names in the answer: ${answer.slice(0, 500)}`);
  ok('confirmed with the key; back at the relying party with the verified answer, in plain words');

  await page.goto(`${BASE}/account#historial`);
  await audit(page, 'account', 'es');
  const history = await page.textContent('#historial');
  const shown = JSON.parse(readFileSync(new URL('../../../crates/idp/locales/es.json', import.meta.url), 'utf8'))
    .event_wallet_presented;
  assert.ok(history.includes(shown), `the history lists the presentation ("${shown}"): ${history.slice(0, 800)}`);
  ok('the carpeta\'s history lists the presentation');
  ok(`pages audited at 320/390/1280 px with axe-core: ${audited.join(', ')}`);
} finally {
  await browser.close();
}
