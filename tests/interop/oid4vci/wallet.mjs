// An independent OpenID4VCI 1.0 wallet: npm @openid4vc/openid4vci (OpenWallet Foundation's
// oid4vc-ts) drives the protocol; @sd-jwt/sd-jwt-vc, @sd-jwt/jwt-status-list and jose check what
// comes back. No code of Llavero's is on this side.
//
//   node wallet.mjs pre-authorized <offer-uri> <tx_code-or-empty> <batch-size>
//     Resolves the offer (credential_offer or credential_offer_uri), the issuer and
//     authorization server metadata, exchanges the pre-authorized code (with tx_code) for an
//     access token, then for each credential configuration in the offer asks the nonce endpoint
//     for a c_nonce and the credential endpoint for <batch-size> credentials, one fresh P-256
//     holder key (and `openid4vci-proof+jwt`) per credential. Every credential is verified with
//     the issuer key published at <origin>/.well-known/jwt-vc-issuer/<path of iss>, including its
//     status, and must be bound (cnf.jwk) to a different one of the holder keys.
//     Prints one JSON line: {credentials, holder_jwks, verified, ...}.
//
//   node wallet.mjs status <credential>
//     Fetches the credential's status.status_list.uri (statuslist+jwt), verifies it with the
//     issuer's jwt-vc-issuer key and prints {"status": N} for the credential's idx
//     (0 valid, 1 invalid, 2 suspended).
//
// http:// URLs are accepted only on loopback hosts (the library rejects them otherwise; see
// NOTES.md). Any failure exits 1 with the reason on stderr.
import { createHash, randomBytes } from 'node:crypto';
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci';
import { clientAuthenticationDynamic, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, ES256 } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import * as jose from 'jose';

const CLIENT_ID = 'llavero-interop-wallet';

class WalletError extends Error {}
const fail = (message) => { throw new WalletError(message); };

// ---------------------------------------------------------------------------------------------
// Keys and the callbacks the library asks for

/** Holder keys by the thumbprint of their public JWK. */
const holderKeys = new Map();

async function newHolderKey() {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  holderKeys.set(await jose.calculateJwkThumbprint(publicJwk), { publicJwk, privateKey });
  return publicJwk;
}

const hashNames = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };

const callbacks = {
  fetch,
  hash: (data, alg) => {
    if (!hashNames[alg]) fail(`hash algorithm ${alg} not supported`);
    return new Uint8Array(createHash(hashNames[alg]).update(data).digest());
  },
  generateRandom: (length) => new Uint8Array(randomBytes(length)),
  // The library builds header (alg, typ, jwk) and payload; we only sign, with the holder key
  // whose public JWK is in the header.
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') fail(`signer method ${signer.method} not supported by this wallet`);
    const key = holderKeys.get(await jose.calculateJwkThumbprint(signer.publicJwk));
    if (!key) fail('signJwt asked for a key this wallet does not hold');
    const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
    return { jwt, signerJwk: signer.publicJwk };
  },
  // Not reached in the pre-authorized flow (no signed metadata, no ID tokens), but part of the
  // callback context: verify JWK-signed JWTs only.
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'jwk') return { verified: false };
    try {
      await jose.compactVerify(compact, await jose.importJWK(signer.publicJwk, signer.alg));
      return { verified: true, signerJwk: signer.publicJwk };
    } catch {
      return { verified: false };
    }
  },
  encryptJwe: () => fail('credential response encryption is not used by this wallet'),
  decryptJwe: () => fail('credential response encryption is not used by this wallet'),
  // Anonymous at the token endpoint when the AS advertises
  // pre-authorized_grant_anonymous_access_supported; otherwise what the AS metadata asks for.
  clientAuthentication: clientAuthenticationDynamic({ clientId: CLIENT_ID, clientSecret: 'unused' }),
};

// ---------------------------------------------------------------------------------------------
// Helpers

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The library accepts only https:// URLs unless told otherwise; allow http:// on loopback. */
function allowHttpIfLoopback(url) {
  const u = new URL(url);
  if (u.protocol === 'http:') {
    if (!LOOPBACK.has(u.hostname) && !u.hostname.startsWith('127.')) {
      fail(`refusing http:// URL off loopback: ${url}`);
    }
    setGlobalConfig({ allowInsecureUrls: true });
  }
}

function errorText(e) {
  const parts = [e?.message ?? String(e)];
  if (e?.cause && e.cause.message && !parts[0].includes(e.cause.message)) parts.push(`cause: ${e.cause.message}`);
  if (e?.errorResponse) parts.push(`error response: ${JSON.stringify(e.errorResponse)}`);
  return parts.join('\n');
}

async function getJson(url, what) {
  const res = await fetch(url, { headers: { Accept: 'application/json' } }).catch((e) => fail(`${what}: GET ${url}: ${e.message}`));
  const text = await res.text();
  if (!res.ok) fail(`${what}: GET ${url} -> ${res.status} ${text.slice(0, 500)}`);
  if (!(res.headers.get('content-type') ?? '').includes('application/json')) {
    fail(`${what}: GET ${url} -> content-type ${res.headers.get('content-type')}, expected application/json`);
  }
  try { return JSON.parse(text); } catch { fail(`${what}: GET ${url} did not return JSON`); }
}

/** The issuer-signed JWT of an SD-JWT (or the JWT itself). */
const issuerJwtOf = (credential) => credential.split('~')[0];

/** `iss` of a JWT credential, or the VC's `issuer` (string or {id}). */
function issuerOf(payload) {
  if (typeof payload.iss === 'string') return payload.iss;
  if (typeof payload.issuer === 'string') return payload.issuer;
  if (payload.issuer && typeof payload.issuer.id === 'string') return payload.issuer.id;
  if (payload.vc?.issuer) return issuerOf({ issuer: payload.vc.issuer });
  return fail('credential has no iss / issuer');
}

/**
 * JWT VC Issuer Metadata (SD-JWT VC §4): GET <origin>/.well-known/jwt-vc-issuer<path of iss>,
 * {issuer, jwks: {keys}}; `issuer` must equal the credential's iss.
 */
const issuerJwksCache = new Map();
async function issuerJwks(iss) {
  if (issuerJwksCache.has(iss)) return issuerJwksCache.get(iss);
  const u = new URL(iss);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  const url = `${u.origin}/.well-known/jwt-vc-issuer${path}`;
  const metadata = await getJson(url, 'JWT VC issuer metadata');
  if (metadata.issuer !== iss) fail(`${url}: issuer ${JSON.stringify(metadata.issuer)} differs from the credential's iss ${iss}`);
  if (metadata.jwks_uri && !metadata.jwks) fail(`${url}: jwks_uri is not supported by this wallet, expected jwks inline`);
  if (!Array.isArray(metadata.jwks?.keys) || metadata.jwks.keys.length === 0) fail(`${url}: no jwks.keys`);
  issuerJwksCache.set(iss, metadata.jwks.keys);
  return metadata.jwks.keys;
}

async function issuerKeyFor(iss, kid) {
  const keys = await issuerJwks(iss);
  if (!kid) {
    if (keys.length === 1) return keys[0];
    fail(`JWT has no kid and ${iss} publishes ${keys.length} keys`);
  }
  const key = keys.find((k) => k.kid === kid);
  if (!key) fail(`no key with kid ${kid} in the jwt-vc-issuer metadata of ${iss} (kids: ${keys.map((k) => k.kid).join(', ')})`);
  return key;
}

/** Which of our holder keys is `jwk` (by thumbprint), or null. */
async function holderKeyIndex(jwk, holderJwks) {
  const t = await jose.calculateJwkThumbprint(jwk);
  for (let i = 0; i < holderJwks.length; i++) {
    if (await jose.calculateJwkThumbprint(holderJwks[i]) === t) return i;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Credential verification

async function verifySdJwtVc(credential, configuration, holderJwks) {
  const header = jose.decodeProtectedHeader(issuerJwtOf(credential));
  const unverified = jose.decodeJwt(issuerJwtOf(credential));
  const iss = issuerOf(unverified);
  if (header.typ !== 'dc+sd-jwt') fail(`SD-JWT VC typ ${header.typ}, expected dc+sd-jwt`);
  const issuerKey = await issuerKeyFor(iss, header.kid);
  if (issuerKey.alg && issuerKey.alg !== header.alg) fail(`credential alg ${header.alg}, issuer key alg ${issuerKey.alg}`);
  // One verifier for the credential and (by default, as statusVerifier) its status list JWT:
  // the key is the issuer's, chosen by the kid of whatever JWT is being verified.
  const verifier = async (data, signature) => {
    const h = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString());
    if (h.alg !== 'ES256') fail(`JWT alg ${h.alg}: this wallet verifies ES256 only`);
    const key = await issuerKeyFor(iss, h.kid);
    return (await ES256.getVerifier(key))(data, signature);
  };
  const sdjwt = new SDJwtVcInstance({ hasher: digest, verifier });
  // verify() checks the signature, the digests of every disclosure, iat/nbf/exp and, when the
  // credential has status.status_list, fetches the list (Accept: application/statuslist+jwt),
  // verifies it and requires status 0.
  let result;
  try {
    result = await sdjwt.verify(credential);
  } catch (e) {
    fail(`@sd-jwt/sd-jwt-vc rejected the credential: ${e.message}`);
  }
  const { payload } = result;
  if (payload.vct !== configuration.vct) fail(`vct ${payload.vct}, the configuration says ${configuration.vct}`);
  if (!payload.cnf?.jwk) fail('SD-JWT VC has no cnf.jwk');
  const holder = await holderKeyIndex(payload.cnf.jwk, holderJwks);
  if (holder === null) fail('cnf.jwk is none of the keys this wallet proved');
  return {
    format: 'dc+sd-jwt',
    iss,
    kid: header.kid ?? null,
    vct: payload.vct,
    holder_key_index: holder,
    disclosures: credential.split('~').slice(1).filter((d) => d !== '').length,
    status: payload.status ?? null,
    claims: payload,
  };
}

async function verifyJwtVc(credential, configuration, holderJwks) {
  if (typeof credential !== 'string') fail('jwt_vc_json credential is not a string');
  const header = jose.decodeProtectedHeader(credential);
  const iss = issuerOf(jose.decodeJwt(credential));
  const issuerKey = await issuerKeyFor(iss, header.kid);
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(credential, await jose.importJWK(issuerKey, header.alg)));
  } catch (e) {
    fail(`jose rejected the ${configuration.format} credential: ${e.message}`);
  }
  // Holder binding: cnf.jwk, or a did:jwk subject.
  let holderJwk = payload.cnf?.jwk;
  const subjectId = payload.credentialSubject?.id ?? payload.vc?.credentialSubject?.id ?? payload.sub;
  if (!holderJwk && typeof subjectId === 'string' && subjectId.startsWith('did:jwk:')) {
    holderJwk = JSON.parse(Buffer.from(subjectId.slice(8).split('#')[0], 'base64url').toString());
  }
  if (!holderJwk) fail(`${configuration.format} credential is bound to no key (no cnf.jwk, no did:jwk subject)`);
  const holder = await holderKeyIndex(holderJwk, holderJwks);
  if (holder === null) fail(`${configuration.format} credential is bound to none of the keys this wallet proved`);
  const types = payload.type ?? payload.vc?.type;
  const wanted = configuration.credential_definition?.type ?? [];
  if (wanted.length && (!Array.isArray(types) || !wanted.every((t) => types.includes(t)))) {
    fail(`credential type ${JSON.stringify(types)} lacks ${JSON.stringify(wanted)}`);
  }
  let status = null;
  const sl = payload.status?.status_list ?? payload.credentialStatus;
  if (payload.status?.status_list) status = await statusOf(credential);
  return {
    format: configuration.format,
    typ: header.typ ?? null,
    iss,
    kid: header.kid ?? null,
    holder_key_index: holder,
    status: sl ?? null,
    status_value: status,
    claims: payload,
  };
}

// ---------------------------------------------------------------------------------------------
// Status

/** Token Status List: the status of `credential` (0 valid, 1 invalid, 2 suspended, ...). */
async function statusOf(credential) {
  const payload = jose.decodeJwt(issuerJwtOf(credential));
  const ref = payload.status?.status_list;
  if (!ref || typeof ref.uri !== 'string' || !Number.isInteger(ref.idx)) fail('credential has no status.status_list {idx, uri}');
  const res = await fetch(ref.uri, { headers: { Accept: 'application/statuslist+jwt' } })
    .catch((e) => fail(`GET ${ref.uri}: ${e.message}`));
  const body = await res.text();
  if (!res.ok) fail(`GET ${ref.uri} -> ${res.status} ${body.slice(0, 300)}`);
  const contentType = res.headers.get('content-type') ?? '';
  if (!contentType.includes('application/statuslist+jwt')) fail(`GET ${ref.uri}: content-type ${contentType}, expected application/statuslist+jwt`);
  const jwt = body.trim();
  const header = jose.decodeProtectedHeader(jwt);
  const key = await issuerKeyFor(issuerOf(payload), header.kid);
  try {
    // typ statuslist+jwt and sub equal to the URI it was fetched from (Token Status List §5.1, §8.3).
    await jose.jwtVerify(jwt, await jose.importJWK(key, header.alg), { typ: 'statuslist+jwt', subject: ref.uri });
  } catch (e) {
    fail(`status list ${ref.uri}: ${e.message}`);
  }
  const list = getListFromStatusListJWT(jwt);
  try {
    return list.getStatus(ref.idx);
  } catch (e) {
    return fail(`status list ${ref.uri}, idx ${ref.idx}: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The pre-authorized code flow

async function preAuthorized(offerUri, txCode, batchSize) {
  if (!Number.isInteger(batchSize) || batchSize < 1) fail(`batch size must be a positive integer, got ${batchSize}`);
  const params = new URL(offerUri).searchParams;
  const offerRef = params.get('credential_offer_uri') ?? JSON.parse(params.get('credential_offer') ?? 'null')?.credential_issuer;
  if (!offerRef) fail('offer has neither credential_offer_uri nor credential_offer');
  allowHttpIfLoopback(offerRef);

  const client = new Openid4vciClient({ callbacks });
  const step = async (name, f) => {
    try { return await f(); } catch (e) {
      if (e instanceof WalletError) throw e;
      fail(`${name}: ${errorText(e)}`);
    }
  };

  const offer = await step('resolving the credential offer', () => client.resolveCredentialOffer(offerUri));
  const grant = offer.grants?.[preAuthorizedCodeGrantIdentifier];
  if (!grant) fail(`offer has no ${preAuthorizedCodeGrantIdentifier} grant: ${JSON.stringify(offer.grants)}`);
  if (grant.tx_code && !txCode) fail(`offer asks for a tx_code (${JSON.stringify(grant.tx_code)}) and none was given`);
  if (grant.tx_code?.length && txCode.length !== grant.tx_code.length) fail(`tx_code has ${txCode.length} characters, the offer says ${grant.tx_code.length}`);
  if (grant.tx_code?.input_mode === 'numeric' && !/^[0-9]+$/.test(txCode)) fail('the offer says the tx_code is numeric');

  const issuerMetadata = await step('resolving issuer metadata', () => client.resolveIssuerMetadata(offer.credential_issuer));
  const configurations = issuerMetadata.credentialIssuer.credential_configurations_supported;
  for (const id of offer.credential_configuration_ids) {
    if (!configurations[id]) fail(`offer names ${id}, not in credential_configurations_supported`);
    if (!issuerMetadata.knownCredentialConfigurations[id]) fail(`configuration ${id} (format ${configurations[id].format}) is not valid for the library`);
  }
  const maxBatch = issuerMetadata.credentialIssuer.batch_credential_issuance?.batch_size ?? 1;
  if (batchSize > maxBatch) fail(`batch size ${batchSize} exceeds the issuer's batch_credential_issuance.batch_size ${maxBatch}`);

  const { accessTokenResponse, authorizationServer } = await step('token request',
    () => client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer, issuerMetadata, txCode: grant.tx_code ? txCode : undefined,
    }));
  if (accessTokenResponse.token_type.toLowerCase() !== 'bearer') fail(`token_type ${accessTokenResponse.token_type}, expected Bearer`);

  const credentials = [];
  const holderJwks = [];
  const verified = [];
  let notificationIds = [];
  for (const configurationId of offer.credential_configuration_ids) {
    const configuration = configurations[configurationId];
    const { c_nonce: nonce } = await step('nonce request', () => client.requestNonce({ issuerMetadata }));
    const jwks = [];
    const proofs = [];
    for (let i = 0; i < batchSize; i++) {
      const publicJwk = await newHolderKey();
      jwks.push(publicJwk);
      const { jwt } = await step('creating the proof', () => client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId: configurationId,
        signer: { method: 'jwk', alg: 'ES256', publicJwk },
        nonce,
        // Pre-authorized, anonymous: no client_id, so no iss (OpenID4VCI 1.0 §F.1).
      }));
      proofs.push(jwt);
    }
    const { credentialResponse } = await step(`credential request (${configurationId})`, () => client.retrieveCredentials({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: configurationId,
      proofs: { jwt: proofs },
    }));
    if (credentialResponse.transaction_id) fail(`${configurationId}: deferred issuance (transaction_id) is not expected`);
    // OpenID4VCI 1.0: credentials is an array of {credential}.
    if (!Array.isArray(credentialResponse.credentials)) fail(`${configurationId}: response has no credentials array`);
    const received = credentialResponse.credentials.map((c) => {
      if (typeof c !== 'object' || c === null || !('credential' in c)) fail(`${configurationId}: credentials entries must be {credential} objects (1.0), got ${JSON.stringify(c).slice(0, 80)}`);
      return c.credential;
    });
    if (received.length !== batchSize) fail(`${configurationId}: asked for ${batchSize} credentials with ${batchSize} proofs, got ${received.length}`);
    if (credentialResponse.notification_id) notificationIds.push(credentialResponse.notification_id);

    const bound = new Set();
    for (const credential of received) {
      const result = configuration.format === 'dc+sd-jwt'
        ? await verifySdJwtVc(credential, configuration, jwks)
        : await verifyJwtVc(credential, configuration, jwks);
      if (bound.has(result.holder_key_index)) fail(`${configurationId}: two credentials of the batch are bound to the same holder key`);
      bound.add(result.holder_key_index);
      result.credential_configuration_id = configurationId;
      result.holder_key_index += holderJwks.length;
      verified.push(result);
      credentials.push(credential);
    }
    holderJwks.push(...jwks);
  }
  // Unlinkability across the whole run: no credential signature or holder key repeats.
  if (new Set(credentials).size !== credentials.length) fail('the issuer returned the same credential twice');
  return {
    credentials,
    holder_jwks: holderJwks,
    verified,
    credential_issuer: offer.credential_issuer,
    authorization_server: authorizationServer,
    issuer_metadata_version: issuerMetadata.originalDraftVersion,
    notification_ids: notificationIds,
  };
}

// ---------------------------------------------------------------------------------------------

const usage = 'usage: node wallet.mjs pre-authorized <offer-uri> <tx_code-or-empty> <batch-size>\n'
  + '       node wallet.mjs status <credential>';

async function main(argv) {
  const [command, ...args] = argv;
  if (command === 'pre-authorized' && args.length === 3) {
    return preAuthorized(args[0], args[1], Number(args[2]));
  }
  if (command === 'status' && args.length === 1) {
    const payload = jose.decodeJwt(issuerJwtOf(args[0]));
    const uri = payload.status?.status_list?.uri;
    if (uri) allowHttpIfLoopback(uri);
    return { status: await statusOf(args[0]) };
  }
  fail(usage);
}

try {
  const out = await main(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (e) {
  process.stderr.write(`wallet: ${e instanceof WalletError ? e.message : errorText(e)}\n`);
  if (!(e instanceof WalletError) && e?.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}
