// OpenID4VCI 1.0 authorization code flow, end to end, with an independent wallet library
// (npm @openid4vc/openid4vci + @openid4vc/oauth2) and a citizen who logs in with two factors in a
// real browser (Debian's chromium driven by npm playwright-core, DevTools virtual authenticator):
//
//   node authorization_code.mjs LLAVERO_BIN BASE_URL DATA_DIR
//
// BASE_URL is the server's LLAVERO_ISSUER and must be http://localhost:PORT (WebAuthn needs a
// secure context and a domain RP id); DATA_DIR is the LLAVERO_DATA_DIR the server runs on.
// Everything else is set up here through the CLI and the provider's own pages:
//   - two people in the civil registry; the agency registro-civil (unless it exists);
//   - account A activated with a password and a security key enrolled on /account;
//     account B activated with a password only;
//   - wallet client A: public (token_endpoint_auth_method none), credential scopes, min acr
//     substantial; wallet client B: the same without a minimum acr.
// Then, wallet-initiated (no offer from the issuer: the wallet builds an offer object with the
// authorization_code grant, as a wallet does when the user picks a credential):
//   1. by scope: the library derives `scope=birth-certificate_sd-jwt` from the issuer metadata,
//      pushes the authorization request (PAR, PKCE S256; no state, see authorize()), the browser
//      logs in with password + key assertion and consents, the library checks the redirect (RFC
//      9207 iss),
//      exchanges the code, gets a c_nonce, builds the proof and retrieves the credential;
//      @sd-jwt/sd-jwt-vc verifies it against /.well-known/jwt-vc-issuer/registro-civil and the
//      claims must be the registry person's;
//   2. by authorization_details (openid_credential, credential_configuration_id): the token
//      response must carry authorization_details with credential_identifiers; the credential is
//      then requested by credential_identifier (see the check for how: the library's V1 client
//      cannot send it) and verified the same way; an identifier the token does not cover is
//      refused;
//   3. account B (password only, acr low) through wallet client B: the code exchange works but
//      the credential endpoint answers 403 insufficient_authentication.
// One line per check ("ok N - ..."); the first failure prints "not ok N - ...", the reason, and
// exits 1.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthorizationFlow, Openid4vciClient, Openid4vciRetrieveCredentialsError, extractScopesForCredentialConfigurationIds,
  setGlobalConfig,
} from '@openid4vc/openid4vci';
import { authorizationCodeGrantIdentifier, clientAuthenticationNone, resourceRequest } from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, ES256 } from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';
import { assert, llaveroCli } from './cli.mjs';
import { chromium } from 'playwright-core';

const [LLAVERO_BIN, BASE_URL, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node authorization_code.mjs LLAVERO_BIN BASE_URL DATA_DIR');
  process.exit(2);
}
const BASE = BASE_URL.replace(/\/$/, '');
const { run: llaveroRun, must: llavero } = llaveroCli(LLAVERO_BIN, DATA_DIR, BASE);
if (new URL(BASE).hostname !== 'localhost') {
  console.error('BASE_URL must be http://localhost:PORT (WebAuthn needs a domain RP id)');
  process.exit(2);
}
const AGENCY = 'registro-civil';
const CREDENTIAL_ISSUER = `${BASE}/${AGENCY}`;
const BIRTH = 'birth-certificate_sd-jwt';
const CARD = 'identity-card_sd-jwt';
const SUBSTANTIAL = 'http://eidas.europa.eu/LoA/substantial';
const started = Date.now();
// The library refuses http:// URLs unless told otherwise; everything here is on loopback.
setGlobalConfig({ allowInsecureUrls: true });

// ---------------------------------------------------------------------------------- harness

let passed = 0;
let cleanup = async () => {};

async function check(name, fn) {
  try {
    const result = await fn();
    passed += 1;
    console.log(`ok ${passed} - ${name}`);
    return result;
  } catch (err) {
    console.log(`not ok ${passed + 1} - ${name}`);
    console.error(err instanceof Error ? err.message : String(err));
    if (err?.cause) console.error(`cause: ${err.cause.message ?? err.cause}`);
    console.log(`oid4vci authorization code: ${passed} passed, 1 failed`);
    await cleanup().catch(() => {});
    process.exit(1);
  }
}


/** The canonical RUN (12.345.678-5) of a number, with its mod-11 check digit. */
function runOf(number) {
  let sum = 0;
  let factor = 2;
  for (const d of String(number).split('').reverse()) {
    sum += Number(d) * factor;
    factor = factor === 7 ? 2 : factor + 1;
  }
  const r = 11 - (sum % 11);
  const check = r === 11 ? '0' : r === 10 ? 'K' : String(r);
  return `${String(number).replace(/\B(?=(\d{3})+(?!\d))/g, '.')}-${check}`;
}

// ---------------------------------------------------------------------------------- the wallet

/** Holder keys by the thumbprint of their public JWK. */
const holderKeys = new Map();

async function newHolderKey() {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  holderKeys.set(await jose.calculateJwkThumbprint(publicJwk), { publicJwk, privateKey });
  return publicJwk;
}

const hashNames = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };

/**
 * The library's client for one registered wallet client. A public client: `client_id` in the
 * form at PAR and token (clientAuthenticationNone). clientAuthenticationDynamic would take the
 * first of the AS's token_endpoint_auth_methods_supported (client_secret_basic) and send an
 * Authorization: Basic header with a made-up secret.
 */
function walletClient(clientId) {
  return new Openid4vciClient({
    callbacks: {
      fetch,
      hash: (data, alg) => new Uint8Array(createHash(hashNames[alg]).update(data).digest()),
      generateRandom: (length) => new Uint8Array(randomBytes(length)),
      signJwt: async (signer, { header, payload }) => {
        assert(signer.method === 'jwk', `signer method ${signer.method}`);
        const key = holderKeys.get(await jose.calculateJwkThumbprint(signer.publicJwk));
        assert(key, 'signJwt asked for a key this wallet does not hold');
        const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
        return { jwt, signerJwk: signer.publicJwk };
      },
      clientAuthentication: clientAuthenticationNone({ clientId }),
    },
  });
}

/** What the library throws, with the server's answer when there is one. */
function errorText(e) {
  const parts = [e?.message ?? String(e)];
  if (e?.errorResponse) parts.push(`error response: ${JSON.stringify(e.errorResponse)}`);
  if (e?.response?.response?.status) parts.push(`HTTP ${e.response.response.status}`);
  return parts.join('\n');
}

async function library(what, fn) {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${what}: ${errorText(e)}`);
  }
}

const issuerJwksCache = new Map();
/** SD-JWT VC §4: {issuer, jwks} at <origin>/.well-known/jwt-vc-issuer<path of iss>. */
async function issuerJwks(iss) {
  if (issuerJwksCache.has(iss)) return issuerJwksCache.get(iss);
  const u = new URL(iss);
  const url = `${u.origin}/.well-known/jwt-vc-issuer${u.pathname.replace(/\/$/, '')}`;
  const res = await fetch(url);
  assert(res.ok, `GET ${url} -> ${res.status}`);
  assert((res.headers.get('content-type') ?? '').includes('application/json'), `GET ${url}: content-type ${res.headers.get('content-type')}`);
  const metadata = await res.json();
  assert(metadata.issuer === iss, `${url}: issuer ${metadata.issuer}, the credential says ${iss}`);
  assert(Array.isArray(metadata.jwks?.keys) && metadata.jwks.keys.length > 0, `${url}: no jwks.keys`);
  issuerJwksCache.set(iss, metadata.jwks.keys);
  return metadata.jwks.keys;
}

async function issuerKeyFor(iss, kid) {
  const keys = await issuerJwks(iss);
  const key = kid ? keys.find((k) => k.kid === kid) : keys.length === 1 ? keys[0] : undefined;
  assert(key, `no key ${kid} in the jwt-vc-issuer metadata of ${iss}`);
  return key;
}

/**
 * @sd-jwt/sd-jwt-vc: signature with the jwt-vc-issuer key (by kid), disclosure digests,
 * iat/nbf/exp, the status list (status 0); then typ, iss, vct, cnf.jwk and the claims.
 */
async function verifyBirthCertificate(credential, holderJwk, configuration, person) {
  assert(typeof credential === 'string', `credential is ${typeof credential}`);
  const issuerJwt = credential.split('~')[0];
  const header = jose.decodeProtectedHeader(issuerJwt);
  const iss = jose.decodeJwt(issuerJwt).iss;
  assert(header.typ === 'dc+sd-jwt', `typ ${header.typ}`);
  assert(iss === CREDENTIAL_ISSUER, `iss ${iss}, expected ${CREDENTIAL_ISSUER}`);
  const verifier = async (data, signature) => {
    const h = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString());
    assert(h.alg === 'ES256', `JWT alg ${h.alg}`);
    return (await ES256.getVerifier(await issuerKeyFor(iss, h.kid)))(data, signature);
  };
  let payload;
  try {
    ({ payload } = await new SDJwtVcInstance({ hasher: digest, verifier }).verify(credential));
  } catch (e) {
    throw new Error(`@sd-jwt/sd-jwt-vc rejected the credential: ${e.message}`);
  }
  assert(payload.vct === configuration.vct, `vct ${payload.vct}, the configuration says ${configuration.vct}`);
  assert(payload.cnf?.jwk, 'no cnf.jwk');
  assert(await jose.calculateJwkThumbprint(payload.cnf.jwk) === await jose.calculateJwkThumbprint(holderJwk),
    'cnf.jwk is not the key the wallet proved');
  const expected = {
    given_name: person.given_names,
    family_name: `${person.paternal_surname} ${person.maternal_surname}`,
    birthdate: person.birth_date,
    run: person.run,
  };
  for (const [claim, value] of Object.entries(expected)) {
    assert(payload[claim] === value, `${claim} ${JSON.stringify(payload[claim])}, the registry says ${JSON.stringify(value)}`);
  }
  return payload;
}

// ---------------------------------------------------------------------------------- setup

const people = [
  {
    run: runOf(17777777), given_names: 'Ana María', paternal_surname: 'Huenchumilla', maternal_surname: 'Rojas',
    birth_date: '1991-07-14', sex: 'F', nationality: 'CL', document_serial: 'A177777777', status: 'active',
    updated_at: '2026-01-01T00:00:00Z',
  },
  {
    run: runOf(18888888), given_names: 'Pedro Pablo', paternal_surname: 'Araya', maternal_surname: 'Muñoz',
    birth_date: '1985-03-02', sex: 'M', nationality: 'CL', document_serial: 'A188888888', status: 'active',
    updated_at: '2026-01-01T00:00:00Z',
  },
];
const [withKey, passwordOnly] = people;
const PASSWORD = 'una frase larga para la billetera';

// The wallet's redirect URI: a real listener, so the browser's redirect lands somewhere.
const callbackServer = createServer((_, res) => res.end('wallet callback')).listen(0, '127.0.0.1');
await new Promise((resolve) => callbackServer.once('listening', resolve));
const REDIRECT_URI = `http://127.0.0.1:${callbackServer.address().port}/cb`;

const [clientA, clientB] = await check('CLI: registry (2 people), agency registro-civil, wallet clients (public; A with min acr substantial, B without)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llavero-vci-ac-'));
  const file = join(dir, 'people.jsonl');
  writeFileSync(file, people.map((p) => JSON.stringify(p)).join('\n') + '\n');
  llavero('registry', 'import', file, '--quiet');
  rmSync(dir, { recursive: true, force: true });
  const agencies = llaveroRun('issuer', 'add', AGENCY, '--name', 'Registro Civil', '--types', 'birth-certificate,identity-card');
  if (agencies.status !== 0) assert(/exist/i.test(agencies.stderr), `llavero issuer add: ${agencies.stderr}`);
  const add = (name, ...extra) => JSON.parse(llavero('client', 'add', '--name', name, '--redirect-uri', REDIRECT_URI,
    '--auth', 'none', '--scope', `${BIRTH} ${CARD}`, ...extra));
  const a = add('Billetera de prueba', '--min-acr', SUBSTANTIAL);
  const b = add('Billetera sin acr mínimo');
  assert(a.client_id && !a.client_secret, `client A: ${JSON.stringify(a)}`);
  return [a, b];
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
cleanup = async () => { await browser.close(); callbackServer.close(); };
const context = await browser.newContext({ locale: 'es-CL' });
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send('WebAuthn.enable');
await cdp.send('WebAuthn.addVirtualAuthenticator', {
  options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
});

async function activate(person) {
  const { code } = JSON.parse(llavero('account', 'activation-code', person.run));
  await page.goto(`${BASE}/activate`);
  await page.fill('#run', person.run);
  await page.fill('#code', code);
  await page.fill('#serial', person.document_serial);
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL(/\/login\?activated=1/), page.click('form[action="/activate"] button[type=submit]')]);
}

await check('browser: account A activated, logged in, security key enrolled on /account (virtual authenticator)', async () => {
  await activate(withKey);
  await page.fill('#run', withKey.run);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/account$/), page.click('form[action="/login"] button[type=submit]')]);
  await page.fill('#webauthn-name', 'llave de la billetera');
  await Promise.all([page.waitForURL(/\/account\?changed=1$/), page.click('#webauthn-button')]);
  await page.waitForSelector('input[name=name][value="llave de la billetera"]');
});

await check('browser: account B activated with a password only', async () => {
  await context.clearCookies();
  await activate(passwordOnly);
});

// ---------------------------------------------------------------------------------- the flows

const walletA = walletClient(clientA.client_id);
const issuerMetadata = await check('library: issuer metadata (OpenID4VCI 1.0) and its authorization server (PAR, S256)', async () => {
  const metadata = await library('resolveIssuerMetadata', () => walletA.resolveIssuerMetadata(CREDENTIAL_ISSUER));
  assert(metadata.originalDraftVersion === 'V1', `the library reads the metadata as ${metadata.originalDraftVersion}`);
  assert(metadata.knownCredentialConfigurations[BIRTH], `${BIRTH} unknown to the library`);
  assert(metadata.credentialIssuer.credential_configurations_supported[BIRTH].scope === BIRTH, 'scope of the configuration');
  assert(metadata.authorizationServers.length === 1 && metadata.authorizationServers[0].issuer === BASE,
    `authorization servers ${JSON.stringify(metadata.authorizationServers.map((a) => a.issuer))}`);
  const as = metadata.authorizationServers[0];
  assert(as.pushed_authorization_request_endpoint, 'no pushed_authorization_request_endpoint');
  assert(as.code_challenge_methods_supported?.includes('S256'), 'no S256');
  assert(as.authorization_details_types_supported?.includes('openid_credential'), 'no openid_credential authorization_details');
  return metadata;
});
const authorizationServerMetadata = issuerMetadata.authorizationServers[0];

/**
 * Wallet-initiated authorization code flow up to the token: the library builds the request and
 * pushes it, the browser logs in (password, then the key if `key`) and consents, the library
 * checks the redirect and exchanges the code. {accessTokenResponse, parUsed}.
 */
async function authorize(wallet, { clientId, person, key, scope, authorizationDetails, configurationIds }) {
  // What a wallet builds when the user picks credentials (no issuer offer, no issuer_state).
  const credentialOffer = {
    credential_issuer: CREDENTIAL_ISSUER,
    credential_configuration_ids: configurationIds,
    grants: { [authorizationCodeGrantIdentifier]: {} },
  };
  // No state: Openid4vciClient.initiateAuthorization (0.4.6) does not forward one, and one put in
  // additionalRequestPayload is overwritten with undefined by Oauth2Client; PKCE binds the code to
  // this wallet instead.
  const init = await library('initiateAuthorization', () => wallet.initiateAuthorization({
    clientId, redirectUri: REDIRECT_URI, scope, credentialOffer, issuerMetadata,
    additionalRequestPayload: authorizationDetails ? { authorization_details: authorizationDetails } : undefined,
  }));
  assert(init.authorizationFlow === AuthorizationFlow.Oauth2Redirect, `flow ${init.authorizationFlow}`);
  assert(init.pkce?.codeChallengeMethod === 'S256', `PKCE ${JSON.stringify(init.pkce)}`);
  const url = new URL(init.authorizationRequestUrl);
  assert(url.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:'),
    `the library did not push the request: ${url.href}`);

  await context.clearCookies();
  await page.goto(url.href);
  await page.waitForURL(/\/login\?request=/);
  await page.fill('#run', person.run);
  await page.fill('#password', PASSWORD);
  await page.click('form[action="/login"] button[type=submit]');
  if (key) {
    await page.waitForSelector('#webauthn[data-mode="login"]');
    await Promise.all([page.waitForURL(/\/consent\?request=/), page.click('#webauthn-button')]);
  } else {
    await page.waitForURL(/\/consent\?request=/);
  }
  await Promise.all([page.waitForURL((u) => u.href.startsWith(REDIRECT_URI)), page.click('button[name=decision][value=allow]')]);

  const response = await library('parseAndVerifyAuthorizationResponseRedirectUrl',
    () => wallet.parseAndVerifyAuthorizationResponseRedirectUrl({ url: page.url(), authorizationServerMetadata }));
  assert(!response.error, `authorization error ${JSON.stringify(response)}`);
  assert(response.state === undefined, `state ${response.state}, none sent`);
  assert(response.iss === BASE, `iss ${response.iss}`);
  const { accessTokenResponse } = await library('retrieveAuthorizationCodeAccessTokenFromOffer',
    () => wallet.retrieveAuthorizationCodeAccessTokenFromOffer({
      issuerMetadata, credentialOffer, authorizationCode: response.code,
      pkceCodeVerifier: init.pkce.codeVerifier, redirectUri: REDIRECT_URI,
    }));
  assert(accessTokenResponse.token_type.toLowerCase() === 'bearer', `token_type ${accessTokenResponse.token_type}`);
  assert(!accessTokenResponse.id_token, 'an ID token without openid');
  return accessTokenResponse;
}

/** c_nonce, a fresh holder key and its proof (iss = client_id), all through the library. */
async function proofFor(wallet, clientId, configurationId) {
  const { c_nonce: nonce } = await library('requestNonce', () => wallet.requestNonce({ issuerMetadata }));
  const holderJwk = await newHolderKey();
  const { jwt } = await library('createCredentialRequestJwtProof', () => wallet.createCredentialRequestJwtProof({
    issuerMetadata, credentialConfigurationId: configurationId, signer: { method: 'jwk', alg: 'ES256', publicJwk: holderJwk },
    nonce, clientId,
  }));
  return { holderJwk, jwt };
}

function onlyCredential(credentialResponse) {
  assert(Array.isArray(credentialResponse.credentials) && credentialResponse.credentials.length === 1,
    `credentials ${JSON.stringify(credentialResponse).slice(0, 200)}`);
  return credentialResponse.credentials[0].credential;
}

const birthConfiguration = issuerMetadata.credentialIssuer.credential_configurations_supported[BIRTH];
const scopeFromMetadata = extractScopesForCredentialConfigurationIds({ credentialConfigurationIds: [BIRTH], issuerMetadata });

// 1. By scope.
const tokenByScope = await check(`by scope (${scopeFromMetadata?.join(' ')}, from the metadata): PAR + PKCE, browser login password + key assertion, consent, redirect (RFC 9207 iss checked by the library) and code exchange`, async () => {
  assert(scopeFromMetadata?.length === 1 && scopeFromMetadata[0] === BIRTH, `scopes ${JSON.stringify(scopeFromMetadata)}`);
  const token = await authorize(walletA, {
    clientId: clientA.client_id, person: withKey, key: true, scope: scopeFromMetadata.join(' '), configurationIds: [BIRTH],
  });
  assert(token.scope === BIRTH, `token scope ${token.scope}`);
  assert(!token.authorization_details, `authorization_details for a scope request: ${JSON.stringify(token.authorization_details)}`);
  return token;
});

await check('by scope: nonce, proof and credential request through the library; @sd-jwt/sd-jwt-vc verifies the birth certificate (jwt-vc-issuer key, status) and its claims are the registry person\'s', async () => {
  const { holderJwk, jwt } = await proofFor(walletA, clientA.client_id, BIRTH);
  const { credentialResponse } = await library('retrieveCredentials', () => walletA.retrieveCredentials({
    issuerMetadata, accessToken: tokenByScope.access_token, credentialConfigurationId: BIRTH, proofs: { jwt: [jwt] },
  }));
  await verifyBirthCertificate(onlyCredential(credentialResponse), holderJwk, birthConfiguration, withKey);
});

await check('by scope: the token does not cover the identity card (403 insufficient_scope)', async () => {
  const { jwt } = await proofFor(walletA, clientA.client_id, CARD);
  try {
    await walletA.retrieveCredentials({ issuerMetadata, accessToken: tokenByScope.access_token, credentialConfigurationId: CARD, proofs: { jwt: [jwt] } });
  } catch (e) {
    assert(e instanceof Openid4vciRetrieveCredentialsError, errorText(e));
    const status = e.response.response.status;
    const error = e.response.credentialErrorResponseResult?.data?.error;
    assert(status === 403 && error === 'insufficient_scope', `HTTP ${status} ${error}`);
    return;
  }
  throw new Error('an identity card was issued on a birth certificate token');
});

// 2. By authorization_details.
const details = [{ type: 'openid_credential', credential_configuration_id: BIRTH }];
const tokenByDetails = await check('by authorization_details (openid_credential): second login password + key; the token response carries authorization_details with credential_identifiers', async () => {
  const token = await authorize(walletA, {
    clientId: clientA.client_id, person: withKey, key: true, authorizationDetails: details, configurationIds: [BIRTH],
  });
  const answered = token.authorization_details;
  assert(Array.isArray(answered) && answered.length === 1, `authorization_details ${JSON.stringify(answered)}`);
  assert(answered[0].type === 'openid_credential' && answered[0].credential_configuration_id === BIRTH,
    `authorization_details ${JSON.stringify(answered)}`);
  assert(Array.isArray(answered[0].credential_identifiers) && answered[0].credential_identifiers.length >= 1,
    `no credential_identifiers: ${JSON.stringify(answered)}`);
  return token;
});
const identifier = tokenByDetails.authorization_details[0].credential_identifiers[0];

await check('library 0.4.6 cannot request by credential_identifier: its V1 retrieveCredentials always sends credential_configuration_id, and its own schema refuses both', async () => {
  const { jwt } = await proofFor(walletA, clientA.client_id, BIRTH);
  try {
    await walletA.retrieveCredentials({
      issuerMetadata, accessToken: tokenByDetails.access_token, credentialConfigurationId: BIRTH,
      additionalRequestPayload: { credential_identifier: identifier }, proofs: { jwt: [jwt] },
    });
  } catch (e) {
    assert(!(e instanceof Openid4vciRetrieveCredentialsError), `the request reached the server: ${errorText(e)}`);
    assert(/credential_identifier/.test(e.message), e.message);
    return;
  }
  throw new Error('the library sent credential_identifier with credential_configuration_id');
});

/** POST the credential endpoint with the library's bearer resource request (@openid4vc/oauth2). */
async function credentialRequest(accessToken, body) {
  const { response } = await resourceRequest({
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    accessToken,
    callbacks: { fetch },
    requestOptions: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
  });
  const text = await response.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: response.status, contentType: response.headers.get('content-type'), json, text };
}

await check(`by credential_identifier "${identifier}" (library nonce + proof, request sent with the library's resourceRequest): @sd-jwt/sd-jwt-vc verifies it, registry claims`, async () => {
  const { holderJwk, jwt } = await proofFor(walletA, clientA.client_id, BIRTH);
  const r = await credentialRequest(tokenByDetails.access_token, { credential_identifier: identifier, proofs: { jwt: [jwt] } });
  assert(r.status === 200, `POST credential_endpoint {credential_identifier} -> ${r.status} ${r.text.slice(0, 300)}`);
  assert((r.contentType ?? '').includes('application/json'), `content-type ${r.contentType}`);
  await verifyBirthCertificate(onlyCredential(r.json), holderJwk, birthConfiguration, withKey);
});

await check('by credential_identifier: one the token does not cover is refused (400 unknown_credential_identifier)', async () => {
  const { jwt } = await proofFor(walletA, clientA.client_id, CARD);
  const r = await credentialRequest(tokenByDetails.access_token, { credential_identifier: CARD, proofs: { jwt: [jwt] } });
  assert(r.status === 400 && r.json?.error === 'unknown_credential_identifier', `-> ${r.status} ${r.text.slice(0, 300)}`);
});

// 3. Password only.
const walletB = walletClient(clientB.client_id);
const tokenLow = await check('password only (account B, wallet client B without min acr): no key asked, consent, code exchanged for a token', () =>
  authorize(walletB, { clientId: clientB.client_id, person: passwordOnly, key: false, scope: BIRTH, configurationIds: [BIRTH] }));

await check('password only: the credential request is refused, 403 insufficient_authentication', async () => {
  const { jwt } = await proofFor(walletB, clientB.client_id, BIRTH);
  try {
    await walletB.retrieveCredentials({ issuerMetadata, accessToken: tokenLow.access_token, credentialConfigurationId: BIRTH, proofs: { jwt: [jwt] } });
  } catch (e) {
    assert(e instanceof Openid4vciRetrieveCredentialsError, errorText(e));
    const status = e.response.response.status;
    const error = e.response.credentialErrorResponseResult?.data?.error;
    assert(status === 403 && error === 'insufficient_authentication', `HTTP ${status} ${error}`);
    return;
  }
  throw new Error('a birth certificate was issued on a password-only login');
});

await cleanup();
console.log(`oid4vci authorization code: ${passed} passed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
