// Llavero's wallet receives a credential from an independent OpenID4VCI 1.0 issuer: a small Node
// issuer built with the issuer side of npm @openid4vc/openid4vci (offer, metadata, nonce,
// credential request and proof checks) and @openid4vc/oauth2 (authorization server: token
// endpoint with the pre-authorized code and tx_code, JWT access tokens checked at the credential
// endpoint), signing an SD-JWT VC with npm @sd-jwt/sd-jwt-vc and jose. No code of Llavero's is on
// the issuer's side. The citizen's side is plain HTML forms with a cookie jar (../oidc/browser.mjs)
// against a running `llavero serve`:
//   1. a person, an activation code and the activation; a login (session cookie);
//   2. the issuer (identifier with a path, so its metadata and keys are at 1.0's well-known
//      locations) makes pre-authorized offers with a numeric tx_code, by value and by reference;
//   3. the wallet opens it at its credential_offer_endpoint (/wallet/offer?credential_offer_uri=…),
//      shows who offers what (the issuer's display names) and asks for the tx_code;
//   4. a wrong tx_code (offer by value) is refused by the issuer and the wallet says so, storing
//      nothing and keeping the offer, which the right code then redeems (once);
//   5. the right one: token, nonce, one proof per key (checked by the library), a batch of SD-JWT
//      VCs each bound to a different one of the wallet's keys;
//   6. the credential is on /wallet (its display name) and in /wallet/export.json (our issuer,
//      the configuration id, each credential byte for byte as issued, status valid), and the
//      carpeta (/account) counts it and lists the receipt in the history.
// The wallet reaches this http:// issuer only because the server runs on http (development).
//   node receive.mjs BASE_URL LLAVERO_BIN DATA_DIR
// Prints one `ok N - …` line per check; any failure exits 1 with what was seen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Openid4vciIssuer, Openid4vciVersion, setGlobalConfig } from '@openid4vc/openid4vci';
import {
  Oauth2AuthorizationServer, Oauth2ResourceServer, Oauth2ServerErrorResponseError,
  preAuthorizedCodeGrantIdentifier,
} from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt, ES256 } from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';
import { Browser } from '../oidc/browser.mjs';

const [BASE_URL, LLAVERO_BIN, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node receive.mjs BASE_URL LLAVERO_BIN DATA_DIR');
  process.exit(2);
}
const BASE = new URL(BASE_URL);
const RUN = '16.666.666-K';
const SERIAL = 'C666666666';
const PASSWORD = 'una frase larga para la billetera';
const CONFIGURATION_ID = 'BibliotecaCredencial_dc_sd_jwt';
const VCT = 'https://biblioteca.example/credenciales/socio';
const BATCH = 2;
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);

// The issuer listens on loopback over http: the library allows http only when told to.
setGlobalConfig({ allowInsecureUrls: true });

// ------------------------------------------------------------------------------ the issuer
const issuerKeys = await jose.generateKeyPair('ES256', { extractable: true });
const issuerJwk = { ...(await jose.exportJWK(issuerKeys.publicKey)), kid: 'biblioteca-1', use: 'sig', alg: 'ES256' };
const issuerPrivateJwk = { ...(await jose.exportJWK(issuerKeys.privateKey)), kid: 'biblioteca-1' };

const hashNames = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };
const callbacks = {
  fetch,
  hash: (data, alg) => new Uint8Array(createHash(hashNames[alg]).update(data).digest()),
  generateRandom: (length) => new Uint8Array(randomBytes(length)),
  // Access tokens: signed with the issuer's key (this issuer is its own authorization server).
  signJwt: async (signer, { header, payload }) => {
    assert.equal(signer.method, 'jwk', `signer ${signer.method}`);
    const jwt = await new jose.SignJWT(payload).setProtectedHeader({ ...header, kid: issuerJwk.kid })
      .sign(issuerKeys.privateKey);
    return { jwt, signerJwk: signer.publicJwk };
  },
  // Proofs (the wallet's key in the header) and access tokens (the key from jwks_uri).
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'jwk') return { verified: false };
    try {
      await jose.compactVerify(compact, await jose.importJWK(signer.publicJwk, signer.alg ?? 'ES256'));
      return { verified: true, signerJwk: signer.publicJwk };
    } catch {
      return { verified: false };
    }
  },
  clientAuthentication: () => {},
};
const issuer = new Openid4vciIssuer({ callbacks });
const authorizationServer = new Oauth2AuthorizationServer({ callbacks });
const resourceServer = new Oauth2ResourceServer({ callbacks });
const sdjwt = new SDJwtVcInstance({
  signer: await ES256.getSigner(issuerPrivateJwk),
  signAlg: 'ES256',
  hasher: digest,
  hashAlg: 'sha-256',
  saltGenerator: generateSalt,
});

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    if (error instanceof Oauth2ServerErrorResponseError) {
      issuerLog.push(`${req.method} ${req.url} -> 400 ${error.errorResponse.error}: ${error.errorResponse.error_description}`);
      send(res, 400, error.errorResponse);
    } else {
      issuerLog.push(`${req.method} ${req.url} -> 500 ${error.stack}`);
      send(res, 500, { error: 'server_error', error_description: String(error.message) });
    }
  });
});
server.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const ORIGIN = `http://127.0.0.1:${server.address().port}`;
// An issuer identifier with a path, as an agency under a shared host has: its metadata is at
// the 1.0 location (/.well-known/openid-credential-issuer/biblioteca), its keys at
// /.well-known/jwt-vc-issuer/biblioteca (SD-JWT VC §5).
const ISSUER = `${ORIGIN}/biblioteca`;
/** What the issuer saw, for a failure message. */
const issuerLog = [];

const credentialIssuerMetadata = issuer.createCredentialIssuerMetadata({
  credential_issuer: ISSUER,
  credential_endpoint: `${ISSUER}/credential`,
  nonce_endpoint: `${ISSUER}/nonce`,
  batch_credential_issuance: { batch_size: BATCH },
  display: [{ name: 'Biblioteca Municipal de Prueba', locale: 'es' }, { name: 'Test Municipal Library', locale: 'en' }],
  credential_configurations_supported: {
    [CONFIGURATION_ID]: {
      format: 'dc+sd-jwt',
      vct: VCT,
      scope: 'biblioteca',
      cryptographic_binding_methods_supported: ['jwk'],
      credential_signing_alg_values_supported: ['ES256'],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
      credential_metadata: {
        display: [{ name: 'Credencial de socio de la biblioteca', locale: 'es' }, { name: 'Library membership card', locale: 'en' }],
        claims: [
          { path: ['given_name'], display: [{ name: 'Nombres', locale: 'es' }, { name: 'Given names', locale: 'en' }] },
          { path: ['member_number'], display: [{ name: 'Número de socio', locale: 'es' }, { name: 'Member number', locale: 'en' }] },
        ],
      },
    },
  },
});
const authorizationServerMetadata = authorizationServer.createAuthorizationServerMetadata({
  issuer: ISSUER,
  token_endpoint: `${ISSUER}/token`,
  jwks_uri: `${ISSUER}/jwks`,
  'pre-authorized_grant_anonymous_access_supported': true,
});
const issuerMetadata = {
  credentialIssuer: credentialIssuerMetadata,
  authorizationServers: [authorizationServerMetadata],
  knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuerMetadata),
  originalDraftVersion: Openid4vciVersion.V1,
};

/** Offers by id, with their pre-authorized code, tx_code and claims. */
const offers = new Map();
/** Access tokens' subjects (the pre-authorized code) → the offer. */
const byCode = new Map();
/** Nonces handed out and not yet used → expiry. */
const nonces = new Map();
/** Every credential issued, as sent. */
const issued = [];

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function bodyOf(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The Fetch API request the library's resource server reads headers from. */
const asRequest = (req, url) => ({ method: req.method, url, headers: new Headers(req.headers) });

async function handle(req, res) {
  const url = new URL(req.url, ORIGIN);
  const path = url.pathname;
  if (req.method === 'GET' && path === '/.well-known/openid-credential-issuer/biblioteca') return send(res, 200, credentialIssuerMetadata);
  if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server/biblioteca') return send(res, 200, authorizationServerMetadata);
  if (req.method === 'GET' && path === '/biblioteca/jwks') return send(res, 200, { keys: [issuerJwk] });
  // SD-JWT VC §5: JWT VC Issuer Metadata, where a wallet finds the key that signs credentials.
  if (req.method === 'GET' && path === '/.well-known/jwt-vc-issuer/biblioteca') return send(res, 200, { issuer: ISSUER, jwks: { keys: [issuerJwk] } });
  if (req.method === 'GET' && path.startsWith('/biblioteca/offers/')) {
    const offer = offers.get(path.slice('/biblioteca/offers/'.length));
    return offer ? send(res, 200, offer.object) : send(res, 404, { error: 'not_found' });
  }
  if (req.method === 'POST' && path === '/biblioteca/token') {
    const form = Object.fromEntries(new URLSearchParams(await bodyOf(req)));
    const parsed = authorizationServer.parseAccessTokenRequest({ accessTokenRequest: form, request: asRequest(req, url.href) });
    if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) {
      return send(res, 400, { error: 'unsupported_grant_type' });
    }
    const offer = [...offers.values()].find((o) => o.code === parsed.grant.preAuthorizedCode);
    await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request: asRequest(req, url.href),
      expectedPreAuthorizedCode: offer?.code ?? '(no such offer)',
      expectedTxCode: offer?.txCode,
      preAuthorizedCodeExpiresAt: offer ? new Date(offer.expiresAt) : undefined,
      authorizationServerMetadata,
    });
    if (offer.redeemed) return send(res, 400, { error: 'invalid_grant', error_description: 'the code was used' });
    offer.redeemed = true;
    byCode.set(offer.code, offer);
    const response = await authorizationServer.createAccessTokenResponse({
      authorizationServer: ISSUER,
      audience: ISSUER,
      subject: offer.code,
      expiresInSeconds: 300,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: issuerJwk },
      additionalAccessTokenResponsePayload: {
        authorization_details: [{ type: 'openid_credential', credential_configuration_id: CONFIGURATION_ID }],
      },
    });
    issuerLog.push(`POST /token -> 200 (tx_code ${parsed.grant.txCode ? 'given' : 'absent'})`);
    return send(res, 200, response);
  }
  if (req.method === 'POST' && path === '/biblioteca/nonce') {
    const cNonce = jose.base64url.encode(randomBytes(24));
    nonces.set(cNonce, Date.now() + 300_000);
    return send(res, 200, issuer.createNonceResponse({ cNonce, cNonceExpiresIn: 300 }));
  }
  if (req.method === 'POST' && path === '/biblioteca/credential') {
    const text = await bodyOf(req);
    const { tokenPayload } = await resourceServer.verifyResourceRequest({
      request: asRequest(req, url.href),
      authorizationServers: [authorizationServerMetadata],
      resourceServer: ISSUER,
    });
    const offer = byCode.get(tokenPayload.sub);
    if (!offer) return send(res, 401, { error: 'invalid_token' });
    const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: JSON.parse(text) });
    if (parsed.credentialConfigurationId !== CONFIGURATION_ID) {
      return send(res, 400, { error: 'unknown_credential_configuration' });
    }
    const jwts = parsed.proofs?.jwt ?? [];
    if (jwts.length === 0 || jwts.length > BATCH) return send(res, 400, { error: 'invalid_proof', error_description: `${jwts.length} proofs` });
    const credentials = [];
    for (const jwt of jwts) {
      const nonce = jose.decodeJwt(jwt).nonce;
      if (!nonces.has(nonce)) return send(res, 400, { error: 'invalid_nonce', error_description: 'unknown or used c_nonce' });
      const { signer } = await issuer.verifyCredentialRequestJwtProof({
        issuerMetadata, jwt, expectedNonce: nonce, nonceExpiresAt: new Date(nonces.get(nonce)),
      });
      const now = Math.floor(Date.now() / 1000);
      const credential = await sdjwt.issue(
        { iss: ISSUER, iat: now, exp: now + 365 * 86400, vct: VCT, cnf: { jwk: signer.publicJwk }, ...offer.claims },
        { _sd: Object.keys(offer.claims) },
        { header: { kid: issuerJwk.kid, typ: 'dc+sd-jwt' } },
      );
      credentials.push({ credential });
    }
    for (const jwt of jwts) nonces.delete(jose.decodeJwt(jwt).nonce);
    issued.push(...credentials.map((c) => c.credential));
    issuerLog.push(`POST /credential -> 200 (${credentials.length} credentials)`);
    return send(res, 200, issuer.createCredentialResponse({ credentialRequest: parsed.credentialRequest, credentials }));
  }
  return send(res, 404, { error: 'not_found' });
}

/** A pre-authorized offer with a numeric tx_code, by reference or (`byValue`) by value. */
async function makeOffer(claims, { byValue = false } = {}) {
  const id = jose.base64url.encode(randomBytes(12));
  const code = jose.base64url.encode(randomBytes(24));
  const txCode = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const { credentialOffer, credentialOfferObject } = await issuer.createCredentialOffer({
    issuerMetadata,
    credentialConfigurationIds: [CONFIGURATION_ID],
    grants: {
      [preAuthorizedCodeGrantIdentifier]: {
        'pre-authorized_code': code,
        tx_code: { input_mode: 'numeric', length: 6, description: 'El código que te enviamos por correo' },
      },
    },
    credentialOfferUri: byValue ? undefined : `${ISSUER}/offers/${id}`,
  });
  offers.set(id, { object: credentialOfferObject, code, txCode, claims, expiresAt: Date.now() + 600_000 });
  return { link: credentialOffer, txCode, query: credentialOffer.slice(credentialOffer.indexOf('?')) };
}

// ------------------------------------------------------------------------------ the citizen
const browser = new Browser();
const seen = () => `\n--- wallet exchanges:\n${browser.recent(6)}\n--- issuer:\n${issuerLog.slice(-8).join('\n')}`;
const llavero = (...args) =>
  execFileSync(LLAVERO_BIN, args, { env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR }, encoding: 'utf8' });

/** The form of `page` posting to `path`, its hidden inputs. */
function formOf(page, path) {
  const forms = [...page.body.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/gi)];
  const found = forms.find((m) => new URL(m[1].replaceAll('&amp;', '&'), page.url).pathname === path);
  assert.ok(found, `no form to ${path} on ${page.url}:\n${page.body.slice(0, 1500)}`);
  const hidden = {};
  for (const m of found[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) hidden[m[1]] = m[2];
  return { action: new URL(found[1], page.url).href, hidden, html: found[2] };
}

const failures = (async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llavero-wallet-'));
  const people = join(dir, 'person.jsonl');
  writeFileSync(people, `${JSON.stringify({
    run: RUN, given_names: 'Ana María', paternal_surname: 'Huenchullán', maternal_surname: 'Pérez', birth_date: '1975-06-30',
    sex: 'F', nationality: 'CL', document_serial: SERIAL, status: 'active', updated_at: '2026-01-01T00:00:00Z',
  })}\n`);
  llavero('registry', 'import', people, '--quiet');
  const activation = JSON.parse(llavero('account', 'activation-code', RUN));
  const activatePage = await browser.get(new URL('/activate', BASE).href);
  const activate = formOf(activatePage, '/activate');
  const activated = await browser.postForm(activate.action, {
    ...activate.hidden, run: RUN, code: activation.code, serial: SERIAL, password: PASSWORD, password_confirm: PASSWORD,
  });
  assert.equal(activated.status, 303, `activation${seen()}`);
  const loginPage = await browser.get(new URL('/login', BASE).href);
  const login = formOf(loginPage, '/login');
  const loggedIn = await browser.postForm(login.action, { ...login.hidden, run: RUN, password: PASSWORD });
  assert.equal(loggedIn.status, 303, `login${seen()}`);
  assert.equal(new URL(loggedIn.location).pathname, '/account', `login${seen()}`);
  ok('a citizen activated and signed in (session cookie) through the HTML forms');

  const metadata = await (await fetch(new URL('/wallet/metadata', BASE))).json();
  assert.equal(metadata.credential_offer_endpoint, new URL('/wallet/offer', BASE).href, JSON.stringify(metadata));
  ok(`the wallet's metadata names its credential_offer_endpoint ${metadata.credential_offer_endpoint}`);

  // An offer by value that the citizen gets wrong: the issuer refuses the tx_code, the wallet
  // stores nothing.
  const wrong = await makeOffer({ given_name: 'Ana María', member_number: 'B-1' }, { byValue: true });
  assert.match(wrong.link, /^openid-credential-offer:\/\/\?credential_offer=/);
  const wrongOpened = await browser.get(`${metadata.credential_offer_endpoint}${wrong.query}`);
  assert.equal(wrongOpened.status, 303, `open offer${seen()}`);
  const wrongPage = await browser.get(wrongOpened.location);
  const wrongForm = formOf(wrongPage, `${new URL(wrongOpened.location).pathname}/accept`);
  const badCode = wrong.txCode === '000000' ? '111111' : '000000';
  const refused = await browser.postForm(wrongForm.action, { ...wrongForm.hidden, tx_code: badCode });
  assert.ok(refused.status >= 400 && refused.status < 500, `a wrong tx_code: ${refused.status}${seen()}`);
  assert.ok(issuerLog.some((l) => l.includes("invalid_grant: Invalid 'tx_code' provided")), `the issuer refused the tx_code${seen()}`);
  const emptyExport = await (await browser.get(new URL('/wallet/export.json', BASE).href)).body;
  assert.deepEqual(JSON.parse(emptyExport).credentials, [], 'nothing stored after a wrong tx_code');
  ok(`an offer by value with a wrong tx_code: the issuer answers invalid_grant, the wallet says so (${refused.status}) and stores nothing`);

  // The offer stays pending: the citizen types the code again, right this time; then it is spent.
  const retryPage = await browser.get(wrongOpened.location);
  assert.equal(retryPage.status, 200, `the offer is still there after a wrong tx_code${seen()}`);
  const retried = await browser.postForm(wrongForm.action, { ...formOf(retryPage, new URL(wrongForm.action).pathname).hidden, tx_code: wrong.txCode });
  assert.equal(retried.status, 303, `the right tx_code the second time${seen()}`);
  assert.equal(issued.length, BATCH, `the issuer issued ${issued.length}${seen()}`);
  const spent = await browser.postForm(wrongForm.action, { ...wrongForm.hidden, tx_code: wrong.txCode });
  assert.equal(spent.status, 404, `an accepted offer is spent${seen()}`);
  ok(`the same offer with the right tx_code: ${BATCH} credentials; accepting it again finds nothing (404)`);

  // The offer by reference, as an agency's link or QR opens it.
  const claims = { given_name: 'Ana María', member_number: 'B-20461' };
  const offer = await makeOffer(claims);
  assert.match(offer.link, /^openid-credential-offer:\/\/\?credential_offer_uri=/);
  const opened = await browser.get(`${metadata.credential_offer_endpoint}${offer.query}`);
  assert.equal(opened.status, 303, `open offer${seen()}`);
  const offerPage = await browser.get(opened.location);
  assert.equal(offerPage.status, 200, `offer page${seen()}`);
  assert.ok(offerPage.body.includes('Biblioteca Municipal de Prueba'), `the issuer's display name${seen()}`);
  assert.ok(offerPage.body.includes('Credencial de socio de la biblioteca'), `the type's display name${seen()}`);
  assert.ok(offerPage.body.includes('El código que te enviamos por correo'), `the tx_code's description${seen()}`);
  const accept = formOf(offerPage, `${new URL(opened.location).pathname}/accept`);
  assert.match(accept.html, /name="tx_code"[^>]*inputmode="numeric"[^>]*maxlength="6"/, 'a numeric tx_code field of 6');
  ok('the offer page (Spanish) shows the issuer and the credential by their display names and asks for the 6-digit tx_code');

  const accepted = await browser.postForm(accept.action, { ...accept.hidden, tx_code: offer.txCode });
  assert.equal(accepted.status, 303, `accept${seen()}`);
  assert.match(accepted.location, /\/wallet\?notice=received_notice$/, `accept${seen()}`);
  assert.equal(issued.length, 2 * BATCH, `the issuer issued ${issued.length}${seen()}`);
  ok(`accepted with the tx_code: token, nonce, ${BATCH} proofs checked by the library, ${BATCH} SD-JWT VCs issued`);

  const home = await browser.get(new URL('/wallet', BASE).href);
  assert.equal(home.status, 200, `/wallet${seen()}`);
  assert.ok(home.body.includes('Credencial de socio de la biblioteca'), `the credential on /wallet${seen()}`);
  const exported = JSON.parse((await browser.get(new URL('/wallet/export.json', BASE).href)).body);
  const ours = exported.credentials.filter((c) => c.credential_issuer === ISSUER);
  assert.equal(ours.length, 2 * BATCH, `export: ${JSON.stringify(exported).slice(0, 800)}`);
  assert.deepEqual(ours.map((c) => c.credential).sort(), [...issued].sort(), 'each credential as issued');
  for (const held of ours) {
    assert.equal(held.credential_configuration_id, CONFIGURATION_ID);
    assert.equal(held.format, 'dc+sd-jwt');
    assert.equal(held.status, 'valid');
  }
  assert.equal(exported.run, RUN);
  const boundKeys = new Set(issued.map((c) => JSON.stringify(jose.decodeJwt(c.split('~')[0]).cnf.jwk)));
  assert.equal(boundKeys.size, 2 * BATCH, 'each credential bound to its own key');
  ok(`on /wallet by its display name and in /wallet/export.json: ${2 * BATCH} credentials from ${ISSUER}, as issued, valid, one key each`);

  const carpeta = await browser.get(new URL('/account', BASE).href);
  assert.ok(carpeta.body.includes(`Tienes ${2 * BATCH} documentos en tu billetera.`), `the carpeta counts the documents${seen()}`);
  assert.ok(carpeta.body.includes('Recibiste un documento en tu billetera'), `the receipt in the history${seen()}`);
  ok('the carpeta (/account) counts the documents and lists the receipt in the history');
})();

try {
  await failures;
  console.log(`wallet receiving: ${step} passed, 0 failed`);
} catch (error) {
  console.error(`not ok ${step + 1} - ${error.message}`);
  console.error(browser.recent(8));
  console.error(issuerLog.join('\n'));
  process.exitCode = 1;
} finally {
  server.close();
}
