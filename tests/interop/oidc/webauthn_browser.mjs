// A real browser end to end: headless Chromium (Debian's, driven by npm playwright-core) with the
// DevTools virtual authenticator activates an account, registers a key on the account page, then
// logs in to a relying party (npm openid-client) through Llavero's own pages with password and
// key, and checks the ID token, the key list and the history. Along the way every page is
// checked as a citizen on a phone meets it: at 320, 390 and 1280 px no sideways scrolling
// (scrollWidth <= innerWidth) and every control at least 44 px; npm axe-core finds no
// violation; a Spanish page has no English words and an English page no Spanish ones. Also:
// the RUN typed in its common forms, a wrong check digit's own message, the messages after
// failed WebAuthn calls (never the browser's English text), the focus ring's contrast, and
// the pages with JavaScript off; the carpeta's sections (landmarks and headings) and the
// withdrawal of a consent from Permisos (confirmed, audited, consent asked again after it).
// Screenshots of each page at 390 and 1280 px go to DATA_DIR/screenshots (not committed) for a
// reviewer to look at.
//   node webauthn_browser.mjs BASE_URL LLAVERO_BIN DATA_DIR
// BASE_URL must be http://localhost:PORT: WebAuthn needs a secure context and a domain RP id.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
const SHOTS = join(DATA_DIR, 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const MESSAGES = {
  es: JSON.parse(readFileSync(new URL('../../../crates/idp/locales/es.json', import.meta.url), 'utf8')),
  en: JSON.parse(readFileSync(new URL('../../../crates/idp/locales/en.json', import.meta.url), 'utf8')),
};
// Words that give away the other language. Data (names, services, addresses) is marked
// translate="no" in the pages and left out of the check.
const FOREIGN = {
  es: ['the', 'and', 'your', 'you', 'key', 'keys', 'failed', 'error', 'allowed', 'operation', 'timed', 'out', 'cloned',
    'flagged', 'authenticator', 'please', 'click', 'not', 'with', 'this', 'could', 'see', 'may', 'been', 'session', 'log'],
  en: ['de', 'la', 'el', 'los', 'las', 'tu', 'tus', 'para', 'con', 'una', 'llave', 'llaves', 'cuenta', 'contraseña',
    'sesión', 'entrar', 'usar', 'intentarlo', 'que', 'por', 'del', 'vuelve', 'código', 'datos', 'hora', 'horas'],
};

/** The visible text of `main`, without data marked translate="no". */
const visibleText = (page) => page.evaluate(() => {
  const parts = [];
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent.closest('[translate="no"], script, style, noscript') || !parent.checkVisibility()) { continue; }
    parts.push(node.textContent);
  }
  return parts.join(' ');
});

/** Words of `text` from the other language's list. */
function foreignWords(text, lang) {
  const words = new Set(text.toLowerCase().split(/[^\p{L}]+/u));
  return FOREIGN[lang].filter((w) => words.has(w));
}

/**
 * Checks the page as it is now, as `name` in `lang`: fits 320, 390 and 1280 px without
 * horizontal scrolling, 44-px controls, axe-core without violations, the page's language only;
 * screenshots at 390 and 1280 px.
 */
async function audit(page, name, lang) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${name}: <html lang>`);
  for (const width of [320, 390, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    }));
    assert.ok(scrollWidth <= innerWidth, `${name} at ${width} px: scrollWidth ${scrollWidth} > ${innerWidth}`);
    const small = await page.evaluate(() => [...document.querySelectorAll(
      'main button, main input:not([type=hidden]), main a.action, main select')]
      .filter((e) => e.checkVisibility())
      .map((e) => ({ what: e.outerHTML.slice(0, 80), box: e.getBoundingClientRect() }))
      .filter(({ box }) => box.height < 44 || box.width < 44)
      .map(({ what, box }) => `${what} ${Math.round(box.width)}x${Math.round(box.height)}`));
    assert.deepEqual(small, [], `${name} at ${width} px: controls under 44 px`);
    if (width !== 320) {
      await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
    }
  }
  // Through DevTools: the pages' content security policy rightly refuses inline scripts.
  await (await devtoolsOf(page)).send('Runtime.evaluate', { expression: AXE });
  const { violations } = await page.evaluate(() => window.axe.run(document));
  assert.deepEqual(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${name}: axe-core violations`);
  const foreign = foreignWords(await visibleText(page), lang);
  assert.deepEqual(foreign, [], `${name}: words of the other language on a ${lang} page`);
  await page.setViewportSize({ width: 1280, height: 800 });
  audited.push(`${name}`);
}
const audited = [];
// One DevTools session per page, kept: detaching one ends the page's virtual authenticators.
const devtoolsSessions = new WeakMap();
async function devtoolsOf(page) {
  if (!devtoolsSessions.has(page)) { devtoolsSessions.set(page, await page.context().newCDPSession(page)); }
  return devtoolsSessions.get(page);
}

/** The text of the WebAuthn status line once it says something other than "working". */
async function statusAfter(page, lang) {
  await page.waitForFunction((working) => {
    const text = document.getElementById('webauthn-status').textContent;
    return text && text !== working;
  }, MESSAGES[lang].webauthn_working);
  return page.textContent('#webauthn-status');
}

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
  // The same browser's cookies in an English one (Chromium sends the locale's Accept-Language).
  const inEnglish = async (path, name) => {
    const en = await browser.newContext({ locale: 'en-US' });
    await en.addCookies(await context.cookies());
    const enPage = await en.newPage();
    await enPage.goto(new URL(path, BASE_URL).href);
    await audit(enPage, name, 'en');
    await en.close();
  };
  const page = await context.newPage();
  const cdp = await devtoolsOf(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  await page.goto(new URL('/login', BASE_URL).href);
  await audit(page, 'login-es', 'es');
  // The focus ring: at least 3:1 against the white page (WCAG 1.4.11).
  await page.focus('#run');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineColor);
  const [r, g, b] = ring.match(/\d+/g).map(Number).map((c) => c / 255)
    .map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const contrast = 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
  assert.ok(contrast >= 3, `focus ring ${ring}: ${contrast.toFixed(2)}:1`);
  await page.goto(new URL('/activate', BASE_URL).href);
  await audit(page, 'activate-es', 'es');
  await inEnglish('/login', 'login-en');
  await inEnglish('/activate', 'activate-en');
  await inEnglish('/no-such-page', 'error-en');
  await page.goto(new URL('/no-such-page', BASE_URL).href);
  await audit(page, 'error-es', 'es');
  ok(`login, activation and error pages in Spanish and English; focus ring ${contrast.toFixed(1)}:1`);

  // A wrong check digit gets its own message, and the code and serial stay in the form.
  await page.goto(new URL('/activate', BASE_URL).href);
  const activate = async (run) => {
    await page.fill('#run', run);
    await page.fill('#code', activation.code);
    await page.fill('#serial', SERIAL);
    await page.fill('#password', PASSWORD);
    await page.fill('#password_confirm', PASSWORD);
    await page.click('form[action="/activate"] button[type=submit]');
  };
  await activate('15.555.555-5');
  await page.waitForSelector('#form-error');
  assert.equal(await page.textContent('#form-error'), MESSAGES.es.run_check_digit);
  assert.equal(await page.inputValue('#code'), activation.code, 'the code stays after a failed activation');
  assert.equal(await page.inputValue('#serial'), SERIAL, 'the serial stays after a failed activation');
  await audit(page, 'activate-error-es', 'es');
  ok('a wrong check digit says so; the code and serial are kept');

  await Promise.all([page.waitForURL(/\/login\?activated=1/), activate(RUN)]);
  assert.equal((await page.textContent('p.notice[role=status]')).trim(), MESSAGES.es.activated,
    'the login page says the account is ready');
  await audit(page, 'login-activated-es', 'es');
  ok('activation through the page, then a notice that the account is ready');
  // The login page names a wrong check digit too.
  await page.fill('#run', '15.555.555-5');
  await page.fill('#password', PASSWORD);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForSelector('#form-error');
  assert.equal(await page.textContent('#form-error'), MESSAGES.es.run_check_digit);
  ok('a wrong check digit at login says so');

  // The RUN as people type it: with or without dots, dash or a space before the check digit.
  for (const typed of ['155555556', '15555555-6', '15.555.555 6', RUN]) {
    await context.clearCookies();
    await page.goto(new URL('/login', BASE_URL).href);
    await page.fill('#run', typed);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/account$/), page.click('form[action="/login"] button[type=submit]')]);
  }
  ok('the RUN is accepted as 155555556, 15555555-6, 15.555.555 6 and 15.555.555-6');

  await page.fill('#webauthn-name', 'llave virtual');
  await Promise.all([page.waitForURL(/\/account\?changed=1$/), page.click('#webauthn-button')]);
  await page.waitForSelector('input[name=name][value="llave virtual"]');
  ok('a key registered from the account page (virtual authenticator)');

  await page.goto(new URL('/account', BASE_URL).href);
  await audit(page, 'account-es', 'es');
  await inEnglish('/account', 'account-en');
  // A key flagged as a possible copy: the warning says what to do and overlaps nothing.
  const database = join(DATA_DIR, 'llavero.db');
  const flag = (value) => execFileSync('python3', ['-c',
    'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE webauthn_credentials SET flagged_at = " + sys.argv[2]); db.commit()',
    database, value]);
  flag('1796458740');
  await page.reload();
  assert.equal((await page.textContent('ul.cards p.error')).trim(), MESSAGES.es.key_flagged);
  for (const width of [320, 390, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    const boxes = await page.evaluate(() => [...document.querySelectorAll('ul.cards li')].filter((li) => li.querySelector('p.error'))
      .flatMap((li) => [...li.querySelectorAll('p.error, button, input:not([type=hidden]), label, dl')].map((e) => e.getBoundingClientRect().toJSON())));
    for (const [i, a] of boxes.entries()) {
      for (const bx of boxes.slice(i + 1)) {
        const apart = a.right <= bx.left || bx.right <= a.left || a.bottom <= bx.top || bx.bottom <= a.top;
        assert.ok(apart, `flagged key at ${width} px: ${JSON.stringify(a)} overlaps ${JSON.stringify(bx)}`);
      }
    }
  }
  await audit(page, 'account-flagged-es', 'es');
  flag('NULL');
  ok('account page in Spanish and English; a flagged key\'s warning overlaps nothing at 320-1280 px');

  // Failed WebAuthn calls: the citizen reads the page's own words, never the browser's.
  await page.goto(new URL('/account', BASE_URL).href);
  await page.fill('#webauthn-name', 'otra');
  await page.click('#webauthn-button');
  assert.equal(await statusAfter(page, 'es'), MESSAGES.es.reauth_needed, 'adding a key needs a confirmation first');
  await Promise.all([page.waitForURL(/\/account\?confirmed=1$/), page.click('#webauthn-confirm')]);
  await page.fill('#webauthn-name', 'la misma');
  await page.click('#webauthn-button');
  assert.equal(await statusAfter(page, 'es'), MESSAGES.es.webauthn_exists, 'the same authenticator again: InvalidStateError');
  await audit(page, 'account-key-error-es', 'es');
  ok('WebAuthn failures on the account page in plain Spanish (confirm first; key already registered)');

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
  await audit(page, 'login-service-es', 'es');
  await page.fill('#run', RUN);
  await page.fill('#password', PASSWORD);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForSelector('#webauthn[data-mode="login"]');
  await audit(page, 'second-factor-es', 'es');
  ok('password accepted; the second-factor page asks for the key');
  await Promise.all([page.waitForURL(/\/consent\?request=/), page.click('#webauthn-button')]);
  await audit(page, 'consent-es', 'es');
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

  await page.goto(new URL('/account', BASE_URL).href);
  await Promise.all([page.waitForURL(/\/account\?confirmed=1$/), page.click('#webauthn-confirm')]);
  await page.click('form[action="/account/recovery-codes"] button[type=submit]');
  await page.waitForSelector('ol code');
  await audit(page, 'recovery-codes-es', 'es');
  await page.goto(new URL('/logout', BASE_URL).href);
  await audit(page, 'logout-es', 'es');
  ok('recovery codes and logout pages');

  // The carpeta: its sections as landmarks a screen reader lists, then a consent withdrawn from
  // Permisos (confirmed on its own page, audited), after which the service must ask again.
  await page.goto(new URL('/account', BASE_URL).href);
  const sections = await page.evaluate(() => [...document.querySelectorAll('main section[aria-labelledby]')]
    .map((s) => ({ id: s.id, heading: document.getElementById(s.getAttribute('aria-labelledby'))?.tagName })));
  assert.deepEqual(sections.map((s) => s.id), ['documentos', 'historial', 'permisos', 'seguridad', 'datos'], JSON.stringify(sections));
  assert.ok(sections.every((s) => s.heading === 'H2'), JSON.stringify(sections));
  const navLinks = await page.$$eval('main nav[aria-label] a', (links) => links.map((a) => a.getAttribute('href')));
  assert.deepEqual(navLinks, ['#documentos', '#historial', '#permisos', '#seguridad', '#datos']);
  assert.equal((await page.textContent('#documentos p')).trim(), MESSAGES.es.documents_none);
  assert.equal(await page.getAttribute('#documentos a.action', 'href'), '/wallet');
  const withdraw = page.locator('#permisos form[action="/account/consents/revoke"] button');
  assert.equal(await withdraw.count(), 1, 'one service with standing consent');
  assert.equal(await withdraw.getAttribute('aria-label'), `${MESSAGES.es.revoke_button}: Municipalidad de Prueba`);
  await page.setViewportSize({ width: 390, height: 800 });
  await page.click('main nav a[href="#permisos"]');
  await page.screenshot({ path: join(SHOTS, 'carpeta-permisos-390.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  await Promise.all([page.waitForNavigation(), withdraw.click()]);
  assert.equal((await page.textContent('h1')).trim(), MESSAGES.es.withdraw_title, 'the first press only asks');
  await audit(page, 'carpeta-withdraw-confirm-es', 'es');
  await Promise.all([page.waitForURL(/\/account\?withdrawn=1#permisos$/), page.click('button[type=submit]')]);
  assert.equal((await page.textContent('p.notice[role=status]')).trim(), MESSAGES.es.consent_withdrawn);
  assert.equal(await page.locator('#permisos form[action="/account/consents/revoke"]').count(), 0, 'the service is gone from Permisos');
  assert.ok((await page.textContent('#historial')).includes(MESSAGES.es.event_consent_revoked), 'the withdrawal is in the history');
  await audit(page, 'carpeta-withdrawn-es', 'es');
  await inEnglish('/account', 'carpeta-en');
  const again = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid run name', nonce: client.randomNonce(), state: 'st-again',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  await page.goto(again.href);
  await page.waitForURL(/\/consent\?request=/);
  ok('the carpeta: sections as landmarks; a consent withdrawn from Permisos after a confirmation, audited; the service asks again');

  // "Entrar con una llave de acceso" with the key added from the account page, in a browser that
  // does not offer conditional mediation: the button shows because this browser made a
  // discoverable credential here, and the passkey alone logs the citizen in.
  const noConditionalMediation = () => Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable',
    { value: undefined, configurable: true });
  await context.addInitScript(noConditionalMediation);
  await page.goto(new URL('/login', BASE_URL).href);
  assert.equal(await page.evaluate(() => typeof PublicKeyCredential.isConditionalMediationAvailable), 'undefined');
  assert.ok(await page.isVisible('#webauthn-button'), 'the passkey button, in a browser that made a passkey here');
  await Promise.all([page.waitForURL(/\/account$/), page.click('#webauthn-button')]);
  ok('the key added from the account page logs in alone ("Entrar con una llave de acceso"), without conditional mediation');
  const elsewhere = await browser.newContext({ locale: 'es-CL' });
  await elsewhere.addInitScript(noConditionalMediation);
  const elsewherePage = await elsewhere.newPage();
  await elsewherePage.goto(new URL('/login', BASE_URL).href);
  assert.equal(await elsewherePage.isVisible('#webauthn-button'), false,
    'no passkey button in a browser without conditional mediation that never made a passkey here');
  await elsewhere.close();
  ok('no passkey button where no passkey can answer');

  // A passkey login on a device that has none: the browser's NotAllowedError, in plain words.
  const passkeyMessages = [];
  for (const [lang, locale] of [['es', 'es-CL'], ['en', 'en-US']]) {
    const bare = await browser.newContext({ locale });
    const barePage = await bare.newPage();
    const bareDevtools = await devtoolsOf(barePage);
    await bareDevtools.send('WebAuthn.enable');
    await bareDevtools.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await barePage.goto(new URL('/login', BASE_URL).href);
    await barePage.click('#webauthn-button');
    const message = await statusAfter(barePage, lang);
    assert.ok([MESSAGES[lang].webauthn_not_allowed_passkey, MESSAGES[lang].webauthn_unknown_key].includes(message), message);
    await audit(barePage, `login-passkey-error-${lang}`, lang);
    passkeyMessages.push(message);
    await bare.close();
  }
  ok(`a passkey login without a passkey: "${passkeyMessages.join('" / "')}"`);

  // JavaScript off: no button that cannot work, and the note where the button would be.
  const noScript = await browser.newContext({ locale: 'es-CL', javaScriptEnabled: false });
  const plain = await noScript.newPage();
  await plain.goto(new URL('/login', BASE_URL).href);
  assert.equal(await plain.isVisible('#webauthn-button'), false, 'no passkey button without JavaScript');
  await plain.fill('#run', RUN);
  await plain.fill('#password', PASSWORD);
  await Promise.all([plain.waitForNavigation(), plain.click('form[action="/login"] button[type=submit]')]);
  assert.equal(await plain.isVisible('#webauthn-button'), false, 'no key button without JavaScript');
  const note = await plain.locator('main p.error', { hasText: MESSAGES.es.needs_javascript }).boundingBox();
  const recovery = await plain.locator('form[action="/login/recovery"]').boundingBox();
  assert.ok(note && recovery && note.y + note.height <= recovery.y, 'the JavaScript note comes before the recovery form');
  await plain.setViewportSize({ width: 390, height: 800 });
  await plain.screenshot({ path: join(SHOTS, 'second-factor-nojs-390.png'), fullPage: true });
  await noScript.close();
  ok('with JavaScript off the key buttons are hidden and the note sits where the button would be');
  console.log(`pages checked (320/390/1280 px, axe-core, language): ${audited.join(', ')}; screenshots in ${SHOTS}`);
} finally {
  await browser.close();
  rp.close();
}
console.log(`webauthn browser: ${step} passed`);
