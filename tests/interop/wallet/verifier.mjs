// Llavero's wallet answers an independent OpenID4VP 1.0 verifier: a small Node verifier built
// with the verifier side of npm @openid4vc/openid4vp (request object creation, response parsing,
// JARM decryption and validation), @sd-jwt/sd-jwt-vc (the SD-JWT VC and its key binding) and jose.
// No code of Llavero's is on the verifier's side. Its certificate chain (a root and an ES256 leaf
// with SAN DNS:localhost) is made by the `openssl` command line; Llavero's wallet trusts the root
// only because the operator names it in LLAVERO_WALLET_TRUSTED_ROOTS.
//
//   node verifier.mjs ca DIR                       # writes DIR/root.pem, DIR/leaf.pem, DIR/leaf.key
//   node verifier.mjs BASE_URL LLAVERO_BIN DATA_DIR CA_DIR
// DATA_DIR/agency.json is `llavero issuer add registro-civil --types identity-card`, run before
// the server started.
//
// The run:
//   1. a person, an activation code and a login (session cookie) through Llavero's HTML forms;
//   2. Llavero's issuer (agency API) offers an identity card as SD-JWT VC; the wallet opens it at
//      /wallet/offer?credential_offer_uri=… and accepts it with the tx_code;
//   3. the Node verifier makes a signed request object (ES256, x5c, client id
//      `x509_san_dns:localhost`) served by reference at its request_uri, with a DCQL query for
//      two claims of the card (`dc+sd-jwt`), response_mode direct_post.jwt (ECDH-ES P-256 key in
//      client_metadata.jwks, A128GCM) and then direct_post;
//   4. the browser opens /wallet/authorize?client_id=…&request_uri=…, sees the consent page,
//      shares (the fresh login is the second factor), and follows the verifier's redirect_uri;
//   5. the verifier decrypts and validates the response with the library, verifies the SD-JWT VC
//      (issuer signature from the issuer's JWT VC issuer metadata, key binding with the request's
//      nonce and aud = client id) and asserts the disclosed claims.
// The wallet reaches this http://localhost verifier only because the server runs on http
// (development). Prints one `ok N - …` line per check; any failure exits 1 with what was seen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setGlobalConfig } from '@openid4vc/openid4vci';
import { Openid4vpVerifier } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';
import { Browser } from '../oidc/browser.mjs';

const args = process.argv.slice(2);
if (args[0] === 'ca') {
  const dir = args[1];
  mkdirSync(dir, { recursive: true });
  const ssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=Verificador de prueba CA', '-keyout', 'root.key', '-out', 'root.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-keyout', 'leaf.key', '-out', 'leaf.csr');
  writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:localhost\n');
  ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '30',
    '-extfile', 'leaf.ext', '-out', 'leaf.pem');
  // A second chain, the same shape, whose root the operator does not trust.
  mkdirSync(join(dir, 'untrusted'), { recursive: true });
  const other = (...a) => execFileSync('openssl', a, { cwd: join(dir, 'untrusted'), stdio: ['ignore', 'ignore', 'inherit'] });
  other('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=Verificador no confiable CA', '-keyout', 'root.key', '-out', 'root.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  other('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-keyout', 'leaf.key', '-out', 'leaf.csr');
  other('x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '30',
    '-extfile', '../leaf.ext', '-out', 'leaf.pem');
  process.exit(0);
}
const [BASE_URL, LLAVERO_BIN, DATA_DIR, CA_DIR] = args;
if (!CA_DIR) {
  console.error('usage: node verifier.mjs ca DIR | node verifier.mjs BASE_URL LLAVERO_BIN DATA_DIR CA_DIR');
  process.exit(2);
}
const BASE = new URL(BASE_URL);
const RUN = '18.123.457-1';
const SERIAL = 'C181234571';
const PASSWORD = 'una frase larga para el verificador';
const CLIENT_ID = 'x509_san_dns:localhost';
let step = 0;
const ok = (what) => console.log(`ok ${++step} - ${what}`);

setGlobalConfig({ allowInsecureUrls: true }); // http:// on loopback only

// ------------------------------------------------------------------------------ the verifier
async function chain(dir) {
  const pem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
  return {
    pem,
    der: new X509Certificate(pem).raw.toString('base64'),
    key: await jose.importPKCS8(readFileSync(join(dir, 'leaf.key'), 'utf8'), 'ES256'),
  };
}
const trusted = await chain(CA_DIR);
const untrusted = await chain(join(CA_DIR, 'untrusted'));
/** The chain the next request object is signed with. */
let signing = trusted;
const encKeys = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
const encJwk = { ...(await jose.exportJWK(encKeys.publicKey)), kid: 'enc-1', use: 'enc', alg: 'ECDH-ES' };

const callbacks = {
  fetch,
  hash: (data, alg) => new Uint8Array(createHash({ 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg]).update(data).digest()),
  generateRandom: (n) => new Uint8Array(randomBytes(n)),
  signJwt: async (signer, { header, payload }) => {
    assert.equal(signer.method, 'x5c');
    const leaf = signer.x5c[0] === untrusted.der ? untrusted : trusted;
    const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(leaf.key);
    return { jwt, signerJwk: await jose.exportJWK(await jose.importX509(leaf.pem, 'ES256')) };
  },
  verifyJwt: () => ({ verified: false }),
  decryptJwe: async (jwe) => {
    try {
      const { plaintext } = await jose.compactDecrypt(jwe, encKeys.privateKey);
      return { decrypted: true, decryptionJwk: encJwk, payload: new TextDecoder().decode(plaintext) };
    } catch (e) {
      verifierLog.push(`decrypt: ${e.message}`);
      return { decrypted: false };
    }
  },
  encryptJwe: () => { throw new Error('not used'); },
};
const verifier = new Openid4vpVerifier({ callbacks });
/** Transactions by id: the request object, the request payload, the response received. */
const transactions = new Map();
const verifierLog = [];

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    verifierLog.push(`${req.method} ${req.url} -> 400 ${error.stack}`);
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_request', error_description: String(error.message) }));
  });
});
server.listen(0); // every interface, so `localhost` reaches it over IPv4 or IPv6
await new Promise((resolve) => server.once('listening', resolve));
const ORIGIN = `http://localhost:${server.address().port}`;

async function bodyOf(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req, res) {
  const url = new URL(req.url, ORIGIN);
  const [, kind, id] = url.pathname.split('/');
  const tx = transactions.get(id);
  if (kind === 'request' && tx) {
    verifierLog.push(`${req.method} ${url.pathname} (request object)`);
    if (req.method === 'POST') {
      // request_uri_method=post (§5.10): sign the request again with the wallet's nonce.
      const posted = Object.fromEntries(new URLSearchParams(await bodyOf(req)));
      assert.ok(posted.wallet_nonce, `POST request_uri without wallet_nonce: ${JSON.stringify(posted)}`);
      tx.walletNonce = posted.wallet_nonce;
      tx.requestObject = (await sign(tx.payload, tx.requestUri, { wallet_nonce: posted.wallet_nonce })).jar.authorizationRequestJwt;
    }
    res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt' });
    return res.end(tx.requestObject);
  }
  if (kind === 'response' && tx && req.method === 'POST') {
    const form = Object.fromEntries(new URLSearchParams(await bodyOf(req)));
    verifierLog.push(`POST ${url.pathname} (${Object.keys(form).join(', ')})`);
    tx.raw = form;
    tx.parsed = await verifier.parseOpenid4vpAuthorizationResponse({
      authorizationResponse: form, authorizationRequestPayload: tx.payload, callbacks,
    });
    tx.responseCode = jose.base64url.encode(randomBytes(16));
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return res.end(JSON.stringify({ redirect_uri: `${ORIGIN}/done/${id}#response_code=${tx.responseCode}` }));
  }
  if (kind === 'done' && tx) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('gracias');
  }
  res.writeHead(404);
  res.end();
}

/** The library's request by reference, the request object signed with the x5c leaf. */
function sign(payload, requestUri, extra = {}) {
  return verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: payload,
    jar: {
      requestUri,
      jwtSigner: { method: 'x5c', x5c: [signing.der], alg: 'ES256' },
      expiresInSeconds: 300,
      additionalJwtPayload: { aud: 'https://self-issued.me/v2', ...extra },
    },
  });
}

/** A signed request by reference for `claims` of the card, answered with `responseMode`. */
async function makeRequest(vct, claims, responseMode, { byPost = false } = {}) {
  const id = jose.base64url.encode(randomBytes(12));
  const nonce = jose.base64url.encode(randomBytes(16));
  const requestUri = `${ORIGIN}/request/${id}`;
  const clientMetadata = {
    client_name: 'Verificador de prueba',
    vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
  };
  if (responseMode === 'direct_post.jwt') {
    clientMetadata.jwks = { keys: [encJwk] };
    clientMetadata.encrypted_response_enc_values_supported = ['A128GCM'];
  }
  const created = await sign({
      response_type: 'vp_token',
      client_id: CLIENT_ID,
      response_uri: `${ORIGIN}/response/${id}`,
      response_mode: responseMode,
      nonce,
      state: id,
      dcql_query: { credentials: [{ id: 'card', format: 'dc+sd-jwt', meta: { vct_values: [vct] }, claims: claims.map((c) => ({ path: [c] })) }] },
      client_metadata: clientMetadata,
  }, requestUri);
  transactions.set(id, { requestUri, requestObject: created.jar.authorizationRequestJwt, payload: created.authorizationRequestPayload });
  const link = new URL(created.authorizationRequest);
  // request_uri_method belongs to the authorization request (the link), not the request object.
  if (byPost) link.searchParams.set('request_uri_method', 'post');
  return { id, nonce, link: link.href };
}

// ------------------------------------------------------------------------------ the citizen
const browser = new Browser();
const seen = () => `\n--- wallet exchanges:\n${browser.recent(6)}\n--- verifier:\n${verifierLog.slice(-8).join('\n')}`;
const llavero = (...a) =>
  execFileSync(LLAVERO_BIN, a, { env: { ...process.env, LLAVERO_DATA_DIR: DATA_DIR }, encoding: 'utf8' });

function formOf(page, path) {
  const forms = [...page.body.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/gi)];
  const found = forms.find((m) => new URL(m[1].replaceAll('&amp;', '&'), page.url).pathname === path);
  assert.ok(found, `no form to ${path} on ${page.url}:\n${page.body.slice(0, 1500)}`);
  const hidden = {};
  for (const m of found[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) hidden[m[1]] = m[2];
  return { action: new URL(found[1].replaceAll('&amp;', '&'), page.url).href, hidden, html: found[2] };
}

/** The issuer's key from its JWT VC issuer metadata (SD-JWT VC §5). */
async function issuerKey(iss, kid) {
  const u = new URL(iss);
  const res = await fetch(`${u.origin}/.well-known/jwt-vc-issuer${u.pathname === '/' ? '' : u.pathname}`);
  assert.equal(res.status, 200, `jwt-vc-issuer metadata of ${iss}`);
  const { keys } = (await res.json()).jwks;
  const jwk = keys.find((k) => !kid || k.kid === kid) ?? keys[0];
  return jose.importJWK(jwk, 'ES256');
}

const es256Verifier = (keyOf) => async (data, signature) => {
  const key = await keyOf();
  const [h, p] = data.split('.');
  try {
    await jose.compactVerify(`${h}.${p}.${signature}`, key);
    return true;
  } catch {
    return false;
  }
};

const run = (async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llavero-verifier-'));
  const people = join(dir, 'person.jsonl');
  writeFileSync(people, `${JSON.stringify({
    run: RUN, given_names: 'Rosa Elena', paternal_surname: 'Catrileo', maternal_surname: 'Soto', birth_date: '1980-02-14',
    sex: 'F', nationality: 'CL', document_serial: SERIAL, status: 'active', updated_at: '2026-01-01T00:00:00Z',
  })}\n`);
  llavero('registry', 'import', people, '--quiet');
  const agency = JSON.parse(readFileSync(join(DATA_DIR, 'agency.json'), 'utf8'));
  const activation = JSON.parse(llavero('account', 'activation-code', RUN));
  const activate = formOf(await browser.get(new URL('/activate', BASE).href), '/activate');
  const activated = await browser.postForm(activate.action, {
    ...activate.hidden, run: RUN, code: activation.code, serial: SERIAL, password: PASSWORD, password_confirm: PASSWORD,
  });
  assert.equal(activated.status, 303, `activation${seen()}`);
  const login = formOf(await browser.get(new URL('/login', BASE).href), '/login');
  const loggedIn = await browser.postForm(login.action, { ...login.hidden, run: RUN, password: PASSWORD });
  assert.equal(loggedIn.status, 303, `login${seen()}`);
  ok('a citizen activated and signed in (session cookie) through the HTML forms');

  // Llavero's issuer offers an identity card; the wallet accepts it.
  const basic = Buffer.from(`${agency.client_id}:${agency.client_secret}`).toString('base64');
  const token = await (await fetch(new URL('/agency/token', BASE), {
    method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  })).json();
  const agencyId = agency.credential_issuer.split('/').pop();
  const offerRes = await fetch(new URL(`/${agencyId}/api/offers`, BASE), {
    method: 'POST', headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ run: RUN, credential_configuration_ids: ['identity-card_sd-jwt'], tx_code: true,
      claims: { 'identity-card': { document_expiry: '2031-05-01' } } }),
  });
  const offer = await offerRes.json();
  assert.equal(offerRes.status, 200, JSON.stringify(offer));
  // The agency's link (openid-credential-offer://?credential_offer_uri=…) opens the wallet's
  // credential_offer_endpoint with the same query.
  const offerLink = new URL(offer.credential_offer_uri);
  const query = offerLink.protocol === 'openid-credential-offer:' ? offerLink.search : `?credential_offer_uri=${encodeURIComponent(offer.credential_offer_uri)}`;
  const opened = await browser.get(new URL(`/wallet/offer${query}`, BASE).href);
  assert.equal(opened.status, 303, `open offer${seen()}`);
  const offerPage = await browser.get(opened.location);
  const accept = formOf(offerPage, `${new URL(opened.location).pathname}/accept`);
  const accepted = await browser.postForm(accept.action, { ...accept.hidden, tx_code: offer.tx_code ?? '' });
  assert.equal(accepted.status, 303, `accept${seen()}`);
  const exported = JSON.parse((await browser.get(new URL('/wallet/export.json', BASE).href)).body);
  const held = exported.credentials.find((c) => c.format === 'dc+sd-jwt');
  assert.ok(held, `no SD-JWT VC in the wallet: ${JSON.stringify(exported).slice(0, 600)}`);
  const issued = await new SDJwtVcInstance({ hasher: digest }).decode(held.credential);
  const vct = issued.jwt.payload.vct;
  const claims = await issued.getClaims(digest);
  const asked = ['given_name', 'family_name', 'birthdate', 'given_names', 'run'].filter((c) => c in claims).slice(0, 2);
  assert.equal(asked.length, 2, `claims of the card: ${Object.keys(claims)}`);
  ok(`Llavero's issuer issued an identity card (${vct}) that the wallet accepted with the tx_code`);

  for (const [mode, byPost] of [['direct_post.jwt', false], ['direct_post', false], ['direct_post.jwt', true]]) {
    const request = await makeRequest(vct, asked, mode, { byPost });
    const link = new URL(request.link);
    const authorize = new URL('/wallet/authorize', BASE);
    authorize.search = link.search;
    assert.equal(link.searchParams.get('client_id'), CLIENT_ID);
    const started = await browser.get(authorize.href);
    let consent = started;
    if (started.status === 303) consent = await browser.get(started.location);
    assert.equal(consent.status, 200, `consent page (${mode})${seen()}`);
    assert.ok(consent.body.includes('Verificador de prueba') || consent.body.includes('localhost'), `who asks${seen()}`);
    const share = formOf(consent, `${new URL(consent.url).pathname}/share`);
    const documents = [...share.html.matchAll(/name="document" value="([^"]*)"/g)].map((m) => ['document', m[1]]);
    const keep = [...share.html.matchAll(/name="keep" value="([^"]*)"/g)].map((m) => ['keep', m[1]]);
    const shared = await browser.postForm(share.action, [...Object.entries(share.hidden), ...documents, ...keep]);
    assert.equal(shared.status, 303, `share (${mode})${seen()}`);
    const tx = transactions.get(request.id);
    assert.ok(tx.parsed, `the verifier got no valid response (${mode})${seen()}`);
    assert.equal(shared.location, `${ORIGIN}/done/${request.id}#response_code=${tx.responseCode}`, `the browser follows the verifier's redirect_uri${seen()}`);
    assert.equal(Boolean(tx.parsed.jarm), mode === 'direct_post.jwt', `encrypted: ${JSON.stringify(tx.raw).slice(0, 200)}`);
    if (mode === 'direct_post.jwt') {
      const header = jose.decodeProtectedHeader(tx.raw.response);
      assert.equal(header.alg, 'ECDH-ES');
      assert.equal(header.enc, 'A128GCM');
    }
    assert.equal(tx.parsed.authorizationResponsePayload.state, request.id);
    const presented = tx.parsed.dcql?.presentations?.card ?? tx.parsed.authorizationResponsePayload.vp_token.card;
    const sdJwt = Array.isArray(presented) ? presented[0] : presented;
    const sdJwtString = typeof sdJwt === 'string' ? sdJwt : sdJwt.presentation ?? sdJwt;
    const decoded = await new SDJwtVcInstance({ hasher: digest }).decode(sdJwtString);
    const iss = decoded.jwt.payload.iss;
    const cnf = decoded.jwt.payload.cnf.jwk;
    const check = new SDJwtVcInstance({
      hasher: digest,
      verifier: es256Verifier(() => issuerKey(iss, decoded.jwt.header.kid)),
      kbVerifier: es256Verifier(() => jose.importJWK(cnf, 'ES256')),
    });
    const verified = await check.verify(sdJwtString, { requiredClaimKeys: asked, keyBindingNonce: request.nonce });
    assert.equal(verified.kb.payload.aud, CLIENT_ID, 'KB-JWT aud');
    assert.equal(verified.kb.payload.nonce, request.nonce, 'KB-JWT nonce');
    for (const c of asked) assert.deepEqual(verified.payload[c], claims[c], c);
    const disclosed = Object.keys(await decoded.getClaims(digest)).filter((c) => c in claims && !['iss', 'vct', 'cnf', 'iat', 'exp', 'nbf', 'status', 'sub'].includes(c));
    assert.deepEqual(disclosed.sort(), [...asked].sort(), 'only the claims asked for are disclosed');
    assert.equal(Boolean(tx.walletNonce), byPost, 'request_uri_method');
    ok(`request_uri by ${byPost ? 'POST (wallet_nonce signed back)' : 'GET'}, ${mode}: the library ${mode === 'direct_post.jwt' ? 'decrypted (ECDH-ES, A128GCM) and ' : ''}validated the response; the SD-JWT VC verifies (issuer key, KB-JWT nonce and aud ${CLIENT_ID}) and discloses ${asked.join(', ')} (${disclosed.length} claims in all); the browser lands on the verifier's redirect_uri`);
  }

  // The same request signed by a chain to a root the operator did not trust: refused, no answer.
  signing = untrusted;
  const refused = await makeRequest(vct, asked, 'direct_post.jwt');
  signing = trusted;
  const authorize = new URL('/wallet/authorize', BASE);
  authorize.search = new URL(refused.link).search;
  const answer = await browser.get(authorize.href);
  assert.ok(answer.status >= 400 && answer.status < 500, `an untrusted chain: ${answer.status}${seen()}`);
  assert.ok(!transactions.get(refused.id).raw, 'no response for an untrusted chain');
  ok(`a request object whose x5c chains to a root the operator did not trust is refused (${answer.status}) and nothing is sent`);
})();

try {
  await run;
  console.log(`wallet presenting: ${step} passed, 0 failed`);
} catch (error) {
  console.error(`not ok ${step + 1} - ${error.message}`);
  console.error(browser.recent(8));
  console.error(verifierLog.join('\n'));
  process.exitCode = 1;
} finally {
  server.close();
}
