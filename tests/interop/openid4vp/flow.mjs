// End to end, an independent OpenID4VP 1.0 wallet against Llavero's presentation service, with
// credentials issued by Llavero's issuer over OpenID4VCI. No code of Llavero's on the wallet side:
// npm @openid4vc/openid4vci takes the credentials, @openid4vc/openid4vp resolves and answers the
// requests (it checks the signed request object and the x509_hash client identifier), @sd-jwt/sd-jwt-vc
// makes the SD-JWT VC presentations with key binding, jose signs the vp+jwt and encrypts the
// direct_post.jwt responses (ECDH-ES).
//
//   node flow.mjs BASE_URL DATA_DIR
//
// DATA_DIR holds what the operator set up with the CLI before the server started:
//   registry.jsonl  `llavero registry demo` output, imported
//   agency.json     `llavero issuer add registro-civil --types identity-card`
//   verifier.json   `llavero verifier add farmacia --query-preset age-over-18,name-and-run`
// One line per check ("ok N - ..."); the first failure prints "not ok N - ...", the reason, and exits 1.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci';
import { clientAuthenticationDynamic, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';

const [BASE_URL, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node flow.mjs BASE_URL DATA_DIR');
  process.exit(2);
}
const BASE = BASE_URL.replace(/\/$/, '');
setGlobalConfig({ allowInsecureUrls: true }); // http:// on loopback only: the run script listens there
const assert = (cond, message) => { if (!cond) throw new Error(message); };

let passed = 0;
async function check(name, fn) {
  try {
    const result = await fn();
    passed += 1;
    console.log(`ok ${passed} - ${name}`);
    return result;
  } catch (err) {
    console.log(`not ok ${passed + 1} - ${name}`);
    console.error(err?.stack ?? String(err));
    if (err?.errorResponse) console.error(JSON.stringify(err.errorResponse));
    console.log(`openid4vp: ${passed} passed, 1 failed`);
    process.exit(1);
  }
}

const readJson = (name) => JSON.parse(readFileSync(join(DATA_DIR, name), 'utf8'));
const agency = readJson('agency.json');
const verifier = readJson('verifier.json');
const AGENCY = agency.credential_issuer.split('/').pop();
const person = readFileSync(join(DATA_DIR, 'registry.jsonl'), 'utf8').split('\n').filter(Boolean)
  .map((l) => JSON.parse(l)).find((p) => (p.status ?? 'active') === 'active');

// ------------------------------------------------------------------------- wallet keys and callbacks

const holderKeys = new Map();
async function newHolderKey() {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  holderKeys.set(await jose.calculateJwkThumbprint(publicJwk), { publicJwk, privateKey });
  return publicJwk;
}
const sha = (alg) => ({ 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg]);
const pem = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
let authorityRoot; // the presentation authority's root, pinned from /verifier/ca.pem

const callbacks = {
  fetch,
  hash: (data, alg) => new Uint8Array(createHash(sha(alg)).update(data).digest()),
  generateRandom: (n) => new Uint8Array(randomBytes(n)),
  signJwt: async (signer, { header, payload }) => {
    const key = holderKeys.get(await jose.calculateJwkThumbprint(signer.publicJwk));
    return { jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(key.privateKey), signerJwk: signer.publicJwk };
  },
  // Request objects: signed by the x5c leaf, which must chain to the pinned root (never in x5c).
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'x5c') return { verified: false };
    try {
      const leaf = new X509Certificate(Buffer.from(signer.x5c[0], 'base64'));
      assert(signer.x5c.length === 1, 'x5c carries more than the leaf');
      assert(leaf.checkIssued(authorityRoot) && leaf.verify(authorityRoot.publicKey), 'the leaf is not issued by the pinned root');
      assert(!leaf.ca, 'the leaf is a CA');
      const key = await jose.importX509(pem(signer.x5c[0]), 'ES256');
      await jose.compactVerify(compact, key);
      return { verified: true, signerJwk: await jose.exportJWK(key) };
    } catch (e) {
      console.error(`request object: ${e.message}`);
      return { verified: false };
    }
  },
  getX509CertificateMetadata: (certificate) => {
    const cert = new X509Certificate(Buffer.from(certificate, 'base64'));
    const names = (cert.subjectAltName ?? '').split(', ');
    return {
      sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
      sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)),
    };
  },
  encryptJwe: async (encryptor, data) => {
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(data))
      .setProtectedHeader({ alg: encryptor.alg, enc: encryptor.enc, kid: encryptor.publicJwk.kid })
      .encrypt(await jose.importJWK(encryptor.publicJwk, encryptor.alg));
    return { jwe, encryptionJwk: encryptor.publicJwk };
  },
  decryptJwe: () => { throw new Error('not used'); },
  verifyJwtForVci: undefined,
  clientAuthentication: clientAuthenticationDynamic({ clientId: 'llavero-interop-wallet', clientSecret: 'unused' }),
};

// ------------------------------------------------------------------------- credentials from Llavero's issuer

async function post(path, { token, basic, form, json }) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (basic) headers.Authorization = `Basic ${Buffer.from(basic.join(':')).toString('base64')}`;
  if (form) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  if (json) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${BASE}${path}`, { method: 'POST', headers, body: form ?? (json && JSON.stringify(json)) });
  const text = await res.text();
  assert(res.ok, `POST ${path} -> ${res.status} ${text.slice(0, 400)}`);
  return JSON.parse(text);
}

async function takeOffer(offerUri, txCode) {
  const client = new Openid4vciClient({ callbacks });
  const offer = await client.resolveCredentialOffer(offerUri);
  assert(offer.grants?.[preAuthorizedCodeGrantIdentifier], 'no pre-authorized grant');
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata, txCode });
  const [configurationId] = offer.credential_configuration_ids;
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
  const publicJwk = await newHolderKey();
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata, credentialConfigurationId: configurationId, signer: { method: 'jwk', alg: 'ES256', publicJwk }, nonce,
  });
  const { credentialResponse } = await client.retrieveCredentials({
    issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: configurationId, proofs: { jwt: [jwt] },
  });
  return { credential: credentialResponse.credentials[0].credential, publicJwk };
}

// ------------------------------------------------------------------------- presentations

const sdjwt = new SDJwtVcInstance({
  hasher: digest,
  saltGenerator: () => randomBytes(16).toString('base64url'),
  kbSigner: async (data) => { throw new Error(`unbound signer ${data}`); },
  kbSignAlg: 'ES256',
});

async function presentSdJwt(held, disclose, aud, nonce) {
  const key = holderKeys.get(await jose.calculateJwkThumbprint(held.publicJwk));
  const signer = async (data) => {
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(data));
    return Buffer.from(sig).toString('base64url');
  };
  const instance = new SDJwtVcInstance({ hasher: digest, kbSigner: signer, kbSignAlg: 'ES256', saltGenerator: () => randomBytes(16).toString('base64url') });
  return instance.present(held.credential, disclose, { kb: { payload: { iat: Math.floor(Date.now() / 1000), aud, nonce } } });
}

async function presentVcJwt(held, aud, nonce) {
  const key = holderKeys.get(await jose.calculateJwkThumbprint(held.publicJwk));
  const subject = jose.decodeJwt(held.credential).credentialSubject;
  const holder = subject.id;
  assert(holder?.startsWith('did:'), `the vc+jwt subject is ${holder}`);
  return new jose.SignJWT({
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiablePresentation'],
    holder,
    verifiableCredential: [{ '@context': 'https://www.w3.org/ns/credentials/v2', type: 'EnvelopedVerifiableCredential', id: `data:application/vc+jwt,${held.credential}` }],
    aud, nonce, iat: Math.floor(Date.now() / 1000),
  }).setProtectedHeader({ alg: 'ES256', typ: 'vp+jwt', cty: 'vp', kid: `${holder}#0` }).sign(key.privateKey);
}

// ------------------------------------------------------------------------- the relying party

let rpToken;
const rp = (json) => post('/verifier/api/transactions', { token: rpToken, json });
async function result(id, responseCode) {
  const q = responseCode ? `?response_code=${encodeURIComponent(responseCode)}` : '';
  const res = await fetch(`${BASE}/verifier/api/transactions/${id}${q}`, { headers: { Authorization: `Bearer ${rpToken}` } });
  const text = await res.text();
  assert(res.ok, `GET transaction -> ${res.status} ${text}`);
  return JSON.parse(text);
}

/** The wallet: resolve the request (by reference, GET or POST), build and submit the response. */
async function answer(created, build, { post: byPost } = {}) {
  const url = new URL(created.authorization_request);
  assert(url.protocol === 'openid4vp:', created.authorization_request);
  const params = Object.fromEntries(url.searchParams);
  assert(!!byPost === (params.request_uri_method === 'post'), `request_uri_method ${params.request_uri_method}`);
  const client = new Openid4vpClient({ callbacks });
  const walletNonce = randomBytes(12).toString('base64url');
  const wallet = byPost ? { nonce: walletNonce, expectedNonce: walletNonce, metadata: { wallet_nonce: walletNonce, wallet_metadata: { request_object_signing_alg_values_supported: ['ES256'] } } } : undefined;
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: params, wallet });
  assert(resolved.client.prefix === 'x509_hash', `client prefix ${resolved.client.prefix}`);
  const request = resolved.authorizationRequestPayload;
  if (byPost) assert(request.wallet_nonce === walletNonce, 'wallet_nonce not echoed in the signed request');
  const vp_token = await build(request);
  const encrypted = request.response_mode === 'direct_post.jwt';
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token },
    jarm: encrypted ? {
      encryption: { nonce: request.nonce },
      serverMetadata: { authorization_signing_alg_values_supported: [], authorization_encryption_alg_values_supported: ['ECDH-ES'], authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'] },
    } : undefined,
  });
  if (encrypted) assert(response.jarm?.responseJwt?.split('.').length === 5, 'the response was not encrypted');
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined,
  });
  const body = await submitted.response.text();
  return { status: submitted.response.status, body: body ? JSON.parse(body) : {}, request };
}

// ------------------------------------------------------------------------- the flow

await check('the presentation authority root is published (pinned by the wallet)', async () => {
  const res = await fetch(`${BASE}/verifier/ca.pem`);
  authorityRoot = new X509Certificate(await res.text());
  assert(authorityRoot.ca, 'the root is not a CA');
});

let card, cardVc;
await check('Llavero\'s issuer issues an identity card as SD-JWT VC and as vc+jwt (age_equal_or_over included)', async () => {
  const { access_token } = await post('/agency/token', { basic: [agency.client_id, agency.client_secret], form: 'grant_type=client_credentials' });
  const offer = (ids) => post(`/${AGENCY}/api/offers`, { token: access_token, json: {
    run: person.run, credential_configuration_ids: ids, tx_code: true,
    claims: { 'identity-card': { document_expiry: '2031-05-01', age_equal_or_over: { 18: true, 65: false } } },
  } });
  const o1 = await offer(['identity-card_sd-jwt']);
  card = await takeOffer(o1.credential_offer_uri, o1.tx_code);
  const o2 = await offer(['identity-card_vc-jwt']);
  cardVc = await takeOffer(o2.credential_offer_uri, o2.tx_code);
  assert(card.credential.includes('~') && !cardVc.credential.includes('~'), 'formats');
});

await check('the relying party gets an API token (client_credentials)', async () => {
  rpToken = (await post('/verifier/token', { basic: [verifier.client_id, verifier.client_secret], form: 'grant_type=client_credentials' })).access_token;
});

await check('age check: request_uri_method=post, x509_hash, direct_post.jwt (ECDH-ES); the RP reads "18": true and nothing else', async () => {
  const created = await rp({ preset: 'age-over-18', request_uri_method: 'post' });
  assert((await result(created.transaction_id)).status === 'pending', 'not pending');
  const { status, body } = await answer(created, async (request) => {
    const id = request.dcql_query.credentials[0].id;
    return { [id]: [await presentSdJwt(card, { age_equal_or_over: { 18: true } }, request.client_id, request.nonce)] };
  }, { post: true });
  assert(status === 200, `response -> ${status} ${JSON.stringify(body)}`);
  const r = await result(created.transaction_id);
  assert(r.status === 'verified', JSON.stringify(r));
  const c = r.credentials.identity_card[0];
  assert(c.claims.age_equal_or_over['18'] === true && c.claims.given_name === undefined && c.claims.age_equal_or_over['65'] === undefined, JSON.stringify(c.claims));
  assert(c.holder_binding === true && c.status.state === 'valid', JSON.stringify(c));
});

await check('name and RUN: request_uri_method=get, direct_post, same device with response_code', async () => {
  const created = await rp({ preset: 'name-and-run', response_mode: 'direct_post', redirect_uri: 'https://farmacia.example/vuelta' });
  const { status, body } = await answer(created, async (request) => ({
    identity_card: [await presentSdJwt(card, { given_name: true, family_name: true, run: true }, request.client_id, request.nonce)],
  }));
  assert(status === 200 && body.redirect_uri?.startsWith('https://farmacia.example/vuelta?response_code='), JSON.stringify(body));
  const code = new URL(body.redirect_uri).searchParams.get('response_code');
  const r = await result(created.transaction_id, code);
  assert(r.status === 'verified' && r.credentials.identity_card[0].claims.run === person.run, JSON.stringify(r));
});

await check('vc+jwt in a vp+jwt (jwt_vc_json), direct_post.jwt', async () => {
  const created = await rp({ dcql_query: { credentials: [{ id: 'card', format: 'jwt_vc_json',
    meta: { type_values: [['VerifiableCredential', 'IdentityCardCredential']] },
    claims: [{ path: ['credentialSubject', 'run'] }] }] } });
  const { status, body } = await answer(created, async (request) => ({ card: [await presentVcJwt(cardVc, request.client_id, request.nonce)] }));
  assert(status === 200, `response -> ${status} ${JSON.stringify(body)}`);
  const r = await result(created.transaction_id);
  assert(r.status === 'verified' && r.credentials.card[0].claims.credentialSubject.run === person.run, JSON.stringify(r));
});

await check('a presentation bound to another transaction\'s nonce is refused, the transaction stays open, and the RP reads why', async () => {
  const created = await rp({ preset: 'age-over-18' });
  const { status } = await answer(created, async (request) => ({
    identity_card: [await presentSdJwt(card, { age_equal_or_over: { 18: true } }, request.client_id, 'not-this-nonce')],
  }));
  assert(status === 400, `response -> ${status}`);
  const r = await result(created.transaction_id);
  // A refused response does not use the transaction up: the citizen's real wallet may still answer.
  assert(r.status === 'pending' && r.last_refusal?.reason === 'wrong_nonce', JSON.stringify(r));
});

console.log(`openid4vp: ${passed} passed`);
