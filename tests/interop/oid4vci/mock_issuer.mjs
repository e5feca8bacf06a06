// MOCK ISSUER — NOT LLAVERO. A throwaway OpenID4VCI 1.0 issuer in Node, written only to check
// wallet.mjs before Llavero's issuer exists, and kept as a reference of what
// @openid4vc/openid4vci 0.4.6 accepts. It has the URL layout Llavero's issuer is to have:
//
//   GET  {base}/.well-known/openid-credential-issuer/{slug}   credential issuer metadata
//   GET  {base}/.well-known/oauth-authorization-server        AS metadata (RFC 8414, issuer = base)
//   GET  {base}/.well-known/jwt-vc-issuer/{slug}              {issuer, jwks: {keys}}
//   GET  {base}/{slug}/offers/{id}                            credential offer (credential_offer_uri)
//   POST {base}/token                                         pre-authorized_code (+ tx_code) -> Bearer
//   POST {base}/{slug}/nonce                                  {c_nonce}
//   POST {base}/{slug}/credential                             {credential_configuration_id, proofs: {jwt: [...]}}
//   GET  {base}/{slug}/status/1                               statuslist+jwt
// and two mock-only controls, which a real issuer does not have:
//   POST {base}/mock/offers  {credential_configuration_ids?, tx_code?: bool} -> {offer_uri, tx_code}
//   POST {base}/mock/status  {idx, status}                                  -> {}
//
//   node mock_issuer.mjs [port] [slug]     (port 0 or none: a free one)
// prints one JSON line {base, slug} once listening; logs every request to stderr.
import { createServer } from 'node:http';
import { randomBytes, randomInt } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt, ES256 } from '@sd-jwt/crypto-nodejs';
import { StatusList } from '@sd-jwt/jwt-status-list';
import * as jose from 'jose';

const port = Number(process.argv[2] ?? 0);
const slug = process.argv[3] ?? 'registro-civil';
const KID = 'mock-issuer-1';
const PRE_AUTH = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const BATCH_SIZE = 10;
const STATUS_SIZE = 1024;

const issuerKeys = await jose.generateKeyPair('ES256', { extractable: true });
const issuerPublicJwk = { ...(await jose.exportJWK(issuerKeys.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
const issuerPrivateJwk = await jose.exportJWK(issuerKeys.privateKey);
const sdjwt = new SDJwtVcInstance({
  signer: await ES256.getSigner(issuerPrivateJwk),
  signAlg: 'ES256',
  hasher: digest,
  hashAlg: 'sha-256',
  saltGenerator: generateSalt,
});

const id = () => randomBytes(16).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// State, in memory.
const offers = new Map(); // offer id -> offer JSON
const preAuthCodes = new Map(); // code -> {tx_code, credential_configuration_ids, used}
const accessTokens = new Map(); // token -> {credential_configuration_ids, exp}
const nonces = new Map(); // c_nonce -> exp
const statuses = new StatusList(new Array(STATUS_SIZE).fill(0), 2);
let nextStatusIdx = 0;

let base; // set once listening
const issuerId = () => `${base}/${slug}`;
const vct = () => `${base}/${slug}/vct/birth-certificate`;
const statusUri = () => `${base}/${slug}/status/1`;

const subject = {
  given_name: 'Ana María', family_name: 'Rojas', birthdate: '1990-05-01',
  place_of_birth: { locality: 'Santiago', country: 'CL' },
};

function issuerMetadata() {
  const common = {
    scope: 'birth-certificate',
    cryptographic_binding_methods_supported: ['jwk'],
    credential_signing_alg_values_supported: ['ES256'],
    proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
  };
  const claims = [
    { path: ['given_name'], display: [{ name: 'Nombres', locale: 'es-CL' }] },
    { path: ['family_name'], display: [{ name: 'Apellidos', locale: 'es-CL' }] },
    { path: ['birthdate'], mandatory: true },
    { path: ['place_of_birth', 'locality'] },
  ];
  return {
    credential_issuer: issuerId(),
    authorization_servers: [base],
    credential_endpoint: `${issuerId()}/credential`,
    nonce_endpoint: `${issuerId()}/nonce`,
    batch_credential_issuance: { batch_size: BATCH_SIZE },
    display: [{ name: 'Registro Civil (mock)', locale: 'es-CL' }],
    credential_configurations_supported: {
      'birth-certificate_sd-jwt': {
        format: 'dc+sd-jwt',
        vct: vct(),
        ...common,
        // 1.0 final puts display and claims under credential_metadata; the library reads its
        // presence as "V1" (see NOTES.md).
        credential_metadata: { display: [{ name: 'Certificado de nacimiento', locale: 'es-CL' }], claims },
      },
      'birth-certificate_vc-jwt': {
        format: 'jwt_vc_json',
        credential_definition: { type: ['VerifiableCredential', 'BirthCertificateCredential'] },
        ...common,
        credential_metadata: {
          display: [{ name: 'Certificado de nacimiento (VC)', locale: 'es-CL' }],
          claims: claims.map((c) => ({ ...c, path: ['credentialSubject', ...c.path] })),
        },
      },
    },
  };
}

function authorizationServerMetadata() {
  return {
    issuer: base,
    token_endpoint: `${base}/token`,
    grant_types_supported: [PRE_AUTH],
    'pre-authorized_grant_anonymous_access_supported': true,
    response_types_supported: [],
  };
}

function newOffer({ credential_configuration_ids = ['birth-certificate_sd-jwt'], tx_code = true } = {}) {
  const code = id();
  const tx = tx_code ? String(randomInt(0, 1_000_000)).padStart(6, '0') : null;
  preAuthCodes.set(code, { tx_code: tx, credential_configuration_ids, used: false });
  const grant = { 'pre-authorized_code': code };
  if (tx) grant.tx_code = { input_mode: 'numeric', length: 6, description: 'Código enviado por SMS' };
  const offerId = id();
  offers.set(offerId, { credential_issuer: issuerId(), credential_configuration_ids, grants: { [PRE_AUTH]: grant } });
  const uri = `${issuerId()}/offers/${offerId}`;
  return { offer_uri: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(uri)}`, tx_code: tx };
}

async function statusListJwt() {
  return new jose.SignJWT({
    sub: statusUri(), iat: now(), exp: now() + 3600, ttl: 300,
    status_list: { bits: statuses.getBitsPerStatus(), lst: statuses.compressStatusList() },
  }).setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'statuslist+jwt' }).sign(issuerKeys.privateKey);
}

// ---------------------------------------------------------------------------------------------
// Credentials

async function issueSdJwt(holderJwk) {
  const idx = nextStatusIdx++;
  const claims = {
    iss: issuerId(), vct: vct(), iat: now(), exp: now() + 365 * 86400,
    cnf: { jwk: holderJwk },
    status: { status_list: { idx, uri: statusUri() } },
    ...subject,
  };
  const frame = { _sd: ['given_name', 'family_name', 'birthdate', 'place_of_birth'], place_of_birth: { _sd: ['locality'] } };
  return sdjwt.issue(claims, frame, { header: { kid: KID } });
}

async function issueVcJwt(holderJwk) {
  const idx = nextStatusIdx++;
  // W3C VC 2.0 secured with JOSE: the payload is the credential.
  const credential = {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential', 'BirthCertificateCredential'],
    issuer: issuerId(),
    validFrom: new Date().toISOString(),
    credentialSubject: subject,
    cnf: { jwk: holderJwk },
    iss: issuerId(),
    iat: now(),
    status: { status_list: { idx, uri: statusUri() } },
  };
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(credential)))
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'vc+jwt' }).sign(issuerKeys.privateKey);
}

class HttpError extends Error {
  constructor(status, error, description, headers = {}) {
    super(description);
    this.status = status; this.error = error; this.headers = headers;
  }
}

async function verifyProof(jwt) {
  let result;
  try {
    result = await jose.jwtVerify(jwt, jose.EmbeddedJWK, {
      typ: 'openid4vci-proof+jwt', audience: issuerId(), algorithms: ['ES256'], maxTokenAge: 300, clockTolerance: 60,
    });
  } catch (e) {
    throw new HttpError(400, 'invalid_proof', `proof: ${e.message}`);
  }
  const { payload, protectedHeader } = result;
  if (protectedHeader.kid || protectedHeader.x5c) throw new HttpError(400, 'invalid_proof', 'proof header has kid/x5c besides jwk');
  if (!protectedHeader.jwk || protectedHeader.jwk.d) throw new HttpError(400, 'invalid_proof', 'proof header jwk missing or private');
  if (!payload.iat) throw new HttpError(400, 'invalid_proof', 'proof without iat');
  const exp = nonces.get(payload.nonce);
  if (!payload.nonce || !exp || exp < now()) throw new HttpError(400, 'invalid_nonce', 'c_nonce missing, unknown or expired');
  return { jwk: protectedHeader.jwk, nonce: payload.nonce };
}

// ---------------------------------------------------------------------------------------------
// HTTP

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, contentType = 'application/json', headers = {}) {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  const path = url.pathname;
  const body = req.method === 'POST' ? await readBody(req) : '';
  console.error(`mock: ${req.method} ${path}${url.search} content-type=${req.headers['content-type'] ?? '-'} `
    + `accept=${req.headers.accept ?? '-'} authorization=${(req.headers.authorization ?? '-').split(' ')[0]} `
    + `dpop=${req.headers.dpop ? 'yes' : 'no'} body=${body.slice(0, 300)}`);

  if (req.method === 'GET' && path === `/.well-known/openid-credential-issuer/${slug}`) return send(res, 200, issuerMetadata());
  if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') return send(res, 200, authorizationServerMetadata());
  if (req.method === 'GET' && path === `/.well-known/jwt-vc-issuer/${slug}`) return send(res, 200, { issuer: issuerId(), jwks: { keys: [issuerPublicJwk] } });
  if (req.method === 'GET' && path.startsWith(`/${slug}/offers/`)) {
    const offer = offers.get(path.slice(`/${slug}/offers/`.length));
    return offer ? send(res, 200, offer) : send(res, 404, { error: 'not_found' });
  }
  if (req.method === 'GET' && path === `/${slug}/status/1`) return send(res, 200, await statusListJwt(), 'application/statuslist+jwt');

  if (req.method === 'POST' && path === '/token') {
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) throw new HttpError(400, 'invalid_request', 'form body expected');
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== PRE_AUTH) throw new HttpError(400, 'unsupported_grant_type', `grant_type ${form.get('grant_type')}`);
    const grant = preAuthCodes.get(form.get('pre-authorized_code') ?? '');
    if (!grant || grant.used) throw new HttpError(400, 'invalid_grant', 'unknown or used pre-authorized_code');
    if (grant.tx_code !== null && form.get('tx_code') !== grant.tx_code) throw new HttpError(400, 'invalid_grant', 'wrong tx_code');
    if (form.get('resource') && form.get('resource') !== issuerId()) throw new HttpError(400, 'invalid_target', `resource ${form.get('resource')}`);
    grant.used = true;
    const token = id();
    accessTokens.set(token, { credential_configuration_ids: grant.credential_configuration_ids, exp: now() + 300 });
    return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 300 });
  }

  if (req.method === 'POST' && path === `/${slug}/nonce`) {
    const nonce = id();
    nonces.set(nonce, now() + 300);
    return send(res, 200, { c_nonce: nonce });
  }

  if (req.method === 'POST' && path === `/${slug}/credential`) {
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    const grant = scheme === 'Bearer' ? accessTokens.get(token) : undefined;
    if (!grant || grant.exp < now()) {
      throw new HttpError(401, 'invalid_token', 'bearer token missing or invalid', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(400, 'invalid_credential_request', 'JSON body expected');
    const request = JSON.parse(body);
    const configId = request.credential_configuration_id;
    const configuration = issuerMetadata().credential_configurations_supported[configId];
    if (!configuration) throw new HttpError(400, 'unknown_credential_configuration', `${configId}`);
    if (!grant.credential_configuration_ids.includes(configId)) throw new HttpError(400, 'invalid_credential_request', `${configId} not authorized by this token`);
    if (request.proof) throw new HttpError(400, 'invalid_credential_request', "'proof' is not 1.0; use 'proofs'");
    const jwts = request.proofs?.jwt;
    if (!Array.isArray(jwts) || jwts.length < 1 || Object.keys(request.proofs).length !== 1) throw new HttpError(400, 'invalid_proof', 'proofs.jwt array required');
    if (jwts.length > BATCH_SIZE) throw new HttpError(400, 'invalid_credential_request', `at most ${BATCH_SIZE} proofs`);
    const proofs = [];
    for (const jwt of jwts) proofs.push(await verifyProof(jwt));
    if (new Set(proofs.map((p) => p.nonce)).size !== 1) throw new HttpError(400, 'invalid_nonce', 'proofs carry different nonces');
    const thumbprints = await Promise.all(proofs.map((p) => jose.calculateJwkThumbprint(p.jwk)));
    if (new Set(thumbprints).size !== thumbprints.length) throw new HttpError(400, 'invalid_proof', 'the same key twice');
    nonces.delete(proofs[0].nonce); // single use
    const issue = configuration.format === 'dc+sd-jwt' ? issueSdJwt : issueVcJwt;
    const credentials = [];
    for (const p of proofs) credentials.push({ credential: await issue(p.jwk) });
    return send(res, 200, { credentials, notification_id: id() });
  }

  // Mock-only controls.
  if (req.method === 'POST' && path === '/mock/offers') return send(res, 200, newOffer(body ? JSON.parse(body) : {}));
  if (req.method === 'POST' && path === '/mock/status') {
    const { idx, status } = JSON.parse(body);
    statuses.setStatus(idx, status);
    return send(res, 200, {});
  }
  return send(res, 404, { error: 'not_found' });
}

const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    if (e instanceof HttpError) {
      console.error(`mock:   -> ${e.status} ${e.error}: ${e.message}`);
      return send(res, e.status, { error: e.error, error_description: e.message }, 'application/json', e.headers);
    }
    console.error(`mock:   -> 500 ${e.stack}`);
    return send(res, 500, { error: 'server_error' });
  });
});
server.listen(port, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ base, slug })}\n`);
});
