// End to end, the independent wallet (wallet.mjs: npm @openid4vc/openid4vci, @sd-jwt/sd-jwt-vc,
// @sd-jwt/jwt-status-list, jose) against a running Llavero issuer, with Llavero's own offline
// verifier (the CLI) as the relying party:
//
//   node flow.mjs LLAVERO_BIN BASE_URL DATA_DIR
//
// BASE_URL is the server's LLAVERO_ISSUER (http on loopback); DATA_DIR is the LLAVERO_DATA_DIR the
// server runs on. DATA_DIR must already hold what the operator set up with the CLI:
//   registry.jsonl  the registry imported with `llavero registry import` (active people are used)
//   agency.json     the output of `llavero issuer add registro-civil --types birth-certificate,...`
//
// Checks, in order:
//   1. pre-authorized code + tx_code, by reference: SD-JWT VC batch of 3 and vc+jwt batch of 2,
//      each credential bound to a different holder key; an identity card offered by value;
//   2. every credential accepted by `llavero verify` with a fresh bundle
//      (trust-list publish + bundle build --from-database);
//   3. revoke one SD-JWT VC and one vc+jwt, suspend another SD-JWT VC (agency API):
//      `wallet.mjs status` says 1 / 2, the vc+jwt's Bitstring Status List bit is set (checked
//      here with jose), a new bundle makes `llavero verify` reject them as revoked / suspended and
//      still accept the rest; unsuspending brings the credential back;
//   4. the token endpoint refuses a wrong tx_code and a reused pre-authorized code, and after
//      5 wrong tx_codes the right one no longer works (as reported through the library).
// One line per check ("ok N - ..."); the first failure prints "not ok N - ...", the reason, and
// exits 1.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as jose from 'jose';
import { assert, llaveroCli } from './cli.mjs';

const [LLAVERO_BIN, BASE_URL, DATA_DIR] = process.argv.slice(2);
if (!DATA_DIR) {
  console.error('usage: node flow.mjs LLAVERO_BIN BASE_URL DATA_DIR');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const BASE = BASE_URL.replace(/\/$/, '');
const { run: llaveroRun, must: llavero } = llaveroCli(LLAVERO_BIN, DATA_DIR, BASE);
const started = Date.now();

// ---------------------------------------------------------------------------------- harness

let passed = 0;

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
    console.log(`oid4vci: ${passed} passed, 1 failed`);
    process.exit(1);
  }
}


/** The wallet CLI; {status, stdout, stderr, out (parsed stdout when it succeeded)}. */
function wallet(...args) {
  const r = spawnSync(process.execPath, [join(here, 'wallet.mjs'), ...args], { cwd: here, encoding: 'utf8' });
  if (r.error) throw new Error(`wallet.mjs: ${r.error.message}`);
  return { ...r, out: r.status === 0 ? JSON.parse(r.stdout) : null };
}

function walletOk(...args) {
  const r = wallet(...args);
  if (r.status !== 0) throw new Error(`wallet.mjs ${args[0]} failed (exit ${r.status}):\n${r.stderr}`);
  return r.out;
}

// ---------------------------------------------------------------------------------- set-up

const agency = JSON.parse(readFileSync(join(DATA_DIR, 'agency.json'), 'utf8'));
const AGENCY = agency.credential_issuer.split('/').pop();
const people = readFileSync(join(DATA_DIR, 'registry.jsonl'), 'utf8').split('\n').filter(Boolean)
  .map((line) => JSON.parse(line)).filter((p) => p.status === 'active');
if (people.length < 3) {
  console.error(`${DATA_DIR}/registry.jsonl has ${people.length} active people, need 3`);
  process.exit(2);
}
const [ALICE, BOB, CAROL] = people;

let agencyToken;

async function api(method, path, body) {
  const res = await fetch(`${BASE}/${AGENCY}/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${agencyToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /${AGENCY}/api${path} -> ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

function newOffer(run, configurationIds, claims) {
  return api('POST', '/offers', { run, credential_configuration_ids: configurationIds, claims, tx_code: true });
}

const birthPlace = { 'birth-certificate': { birth_place: 'Valparaíso' } };

/** The issuer-signed JWT of an SD-JWT (or the JWT itself). */
const issuerJwtOf = (credential) => credential.split('~')[0];

/** Bitstring Status List (W3C): the bit of `credential` (a vc+jwt) for `purpose`, checked with jose. */
async function bitstringStatus(credential, purpose) {
  const payload = jose.decodeJwt(credential);
  const entries = [].concat(payload.credentialStatus ?? []);
  const entry = entries.find((e) => e.type === 'BitstringStatusListEntry' && e.statusPurpose === purpose);
  assert(entry, `no BitstringStatusListEntry for ${purpose} in ${JSON.stringify(entries)}`);
  const res = await fetch(entry.statusListCredential);
  const body = (await res.text()).trim();
  assert(res.ok, `GET ${entry.statusListCredential} -> ${res.status} ${body.slice(0, 300)}`);
  const header = jose.decodeProtectedHeader(body);
  const iss = new URL(payload.issuer?.id ?? payload.issuer);
  const meta = await (await fetch(`${iss.origin}/.well-known/jwt-vc-issuer${iss.pathname}`)).json();
  const key = meta.jwks.keys.find((k) => k.kid === header.kid);
  assert(key, `status list ${entry.statusListCredential}: kid ${header.kid} not in the issuer's jwt-vc-issuer keys`);
  const { payload: list } = await jose.jwtVerify(body, await jose.importJWK(key, header.alg), { typ: 'vc+jwt' });
  assert(list.type?.includes('BitstringStatusListCredential'), `status list type ${JSON.stringify(list.type)}`);
  assert(list.credentialSubject?.statusPurpose === purpose, `status list purpose ${list.credentialSubject?.statusPurpose}, expected ${purpose}`);
  const encoded = list.credentialSubject.encodedList;
  assert(typeof encoded === 'string' && encoded.startsWith('u'), 'encodedList is not multibase base64url');
  const bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
  const idx = Number(entry.statusListIndex);
  assert(Number.isInteger(idx) && idx >= 0 && idx < bits.length * 8, `statusListIndex ${entry.statusListIndex} outside the list`);
  // Bit 0 is the left-most (most significant) bit of the first byte.
  return (bits[idx >> 3] >> (7 - (idx & 7))) & 1;
}

/** Llavero's verifier on one credential: {status, output}. */
function llaveroVerify(credential, bundle) {
  const file = join(DATA_DIR, 'vci-credential.txt');
  writeFileSync(file, credential);
  const r = llaveroRun('verify', file, '--bundle', bundle, '--anchor', join(DATA_DIR, 'vci-anchor.pub.jwk'));
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let bundleNumber = 0;
function freshBundle() {
  bundleNumber += 1;
  const trustList = join(DATA_DIR, `vci-trust-list-${bundleNumber}.jwt`);
  const bundle = join(DATA_DIR, `vci-bundle-${bundleNumber}.json`);
  llavero('trust-list', 'publish', '--anchor-key', join(DATA_DIR, 'vci-anchor.jwk'), '--out', trustList);
  llavero('bundle', 'build', '--trust-list', trustList, '--from-database', '--out', bundle);
  const b = JSON.parse(readFileSync(bundle, 'utf8'));
  assert(b.status_lists?.length > 0, `${bundle} has no status lists`);
  return bundle;
}

function expectAccepted(label, credential, bundle) {
  const r = llaveroVerify(credential, bundle);
  assert(r.status === 0, `llavero verify rejected ${label} (exit ${r.status}):\n${r.output}`);
  const out = JSON.parse(r.output.slice(r.output.indexOf('{')));
  assert(out.credentials?.[0]?.status?.state === 'valid', `${label}: status ${JSON.stringify(out.credentials?.[0]?.status)}`);
}

function expectRejected(label, credential, bundle, reason) {
  const r = llaveroVerify(credential, bundle);
  assert(r.status === 1, `llavero verify exit ${r.status} for ${label}, expected 1 (rejected):\n${r.output}`);
  assert(r.output.includes(reason), `llavero verify rejected ${label} but not as ${reason}:\n${r.output}`);
}

function expectTokenRefused(result, what) {
  assert(result.status !== 0, `the wallet got credentials with ${what}`);
  assert(/token request/.test(result.stderr) && /invalid_grant/.test(result.stderr),
    `expected the token endpoint to answer invalid_grant for ${what}, the wallet said:\n${result.stderr}`);
  return result.stderr;
}

// ---------------------------------------------------------------------------------- the flow

await check(`agency ${AGENCY} gets an API token (client_credentials)`, async () => {
  const res = await fetch(`${BASE}/agency/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${agency.client_id}:${agency.client_secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = await res.text();
  assert(res.ok, `POST /agency/token -> ${res.status} ${body}`);
  agencyToken = JSON.parse(body).access_token;
  assert(typeof agencyToken === 'string', `no access_token in ${body}`);
});

await check("metadata at the drafts' path (as @sphereon/oid4vci-client asks) equals 1.0's; unknown paths answer JSON", async () => {
  const json = { headers: { Accept: 'application/json' } };
  const canonical = await (await fetch(`${BASE}/.well-known/openid-credential-issuer/${AGENCY}`, json)).json();
  const res = await fetch(`${BASE}/${AGENCY}/.well-known/openid-credential-issuer`, json);
  assert(res.ok, `GET /${AGENCY}/.well-known/openid-credential-issuer -> ${res.status}`);
  assert(JSON.stringify(await res.json()) === JSON.stringify(canonical), 'the two metadata documents differ');
  const missing = await fetch(`${BASE}/${AGENCY}/.well-known/openid-configuration`, json);
  assert(missing.status === 404, `unknown path -> ${missing.status}`);
  assert(missing.headers.get('content-type')?.startsWith('application/json'), `unknown path content-type ${missing.headers.get('content-type')}`);
  assert((await missing.json()).error === 'not_found', 'unknown path error');
});

const sd = await check('SD-JWT VC batch of 3 (offer by reference, tx_code): verified by @sd-jwt/sd-jwt-vc, 3 holder keys', async () => {
  const offer = await newOffer(ALICE.run, ['birth-certificate_sd-jwt'], birthPlace);
  assert(/^\d+$/.test(offer.tx_code), `tx_code ${offer.tx_code}`);
  assert(offer.credential_offer_uri.startsWith('openid-credential-offer://?credential_offer_uri='), offer.credential_offer_uri);
  const out = walletOk('pre-authorized', offer.credential_offer_uri, offer.tx_code, '3');
  assert(out.credential_issuer === `${BASE}/${AGENCY}`, `credential_issuer ${out.credential_issuer}`);
  assert(out.issuer_metadata_version === 'V1', `the library read the metadata as ${out.issuer_metadata_version}, not OpenID4VCI 1.0`);
  assert(out.credentials.length === 3, `${out.credentials.length} credentials`);
  assert(out.verified.every((v) => v.format === 'dc+sd-jwt' && v.claims.run === ALICE.run && v.claims.birth_place === 'Valparaíso'),
    `unexpected credentials: ${JSON.stringify(out.verified.map((v) => ({ format: v.format, run: v.claims.run })))}`);
  assert(new Set(out.verified.map((v) => v.holder_key_index)).size === 3, 'two credentials share a holder key');
  assert(out.verified.every((v) => v.status?.status_list), 'a credential has no status_list');
  return out;
});

const vc = await check('vc+jwt batch of 2 (offer by reference, tx_code): verified by jose, 2 holder keys, BitstringStatusListEntry', async () => {
  const offer = await newOffer(ALICE.run, ['birth-certificate_vc-jwt'], birthPlace);
  const out = walletOk('pre-authorized', offer.credential_offer_uri, offer.tx_code, '2');
  assert(out.credentials.length === 2, `${out.credentials.length} credentials`);
  assert(out.verified.every((v) => v.format === 'jwt_vc_json' && v.typ === 'vc+jwt'),
    `formats ${JSON.stringify(out.verified.map((v) => [v.format, v.typ]))}`);
  assert(new Set(out.verified.map((v) => v.holder_key_index)).size === 2, 'two credentials share a holder key');
  for (const credential of out.credentials) {
    assert(await bitstringStatus(credential, 'revocation') === 0, 'a fresh vc+jwt is revoked');
    assert(await bitstringStatus(credential, 'suspension') === 0, 'a fresh vc+jwt is suspended');
  }
  return out;
});

const card = await check('identity card SD-JWT VC, offer passed by value (credential_offer_by_value)', async () => {
  const offer = await newOffer(BOB.run, ['identity-card_sd-jwt'], { 'identity-card': { document_expiry: '2031-05-01' } });
  assert(offer.credential_offer_by_value.startsWith('openid-credential-offer://?credential_offer='), offer.credential_offer_by_value);
  const out = walletOk('pre-authorized', offer.credential_offer_by_value, offer.tx_code, '1');
  assert(out.credentials.length === 1, `${out.credentials.length} credentials`);
  const { claims } = out.verified[0];
  assert(claims.run === BOB.run && claims.document_expiry === '2031-05-01', `claims ${JSON.stringify(claims)}`);
  return { ...out, offer };
});

await check('a used pre-authorized code is refused by the token endpoint', async () => {
  expectTokenRefused(wallet('pre-authorized', card.offer.credential_offer_by_value, card.offer.tx_code, '1'), 'a reused offer');
});

const all = [
  ...sd.credentials.map((c, i) => ({ label: `SD-JWT VC #${i}`, credential: c, configuration: 'birth-certificate_sd-jwt' })),
  ...vc.credentials.map((c, i) => ({ label: `vc+jwt #${i}`, credential: c, configuration: 'birth-certificate_vc-jwt' })),
  { label: 'identity card', credential: card.credentials[0], configuration: 'identity-card_sd-jwt' },
];

await check(`llavero verify accepts all ${all.length} credentials with a fresh bundle (trust-list publish, bundle build --from-database)`, () => {
  rmSync(join(DATA_DIR, 'vci-anchor.jwk'), { force: true }); // a fresh anchor on every run
  writeFileSync(join(DATA_DIR, 'vci-anchor.pub.jwk'), llavero('keys', 'generate', '--out', join(DATA_DIR, 'vci-anchor.jwk')));
  const bundle = freshBundle();
  for (const { label, credential } of all) expectAccepted(label, credential, bundle);
});

/** The agency API's id of a wallet credential, found by its status list slot. */
async function credentialId(run, { label, credential, configuration }) {
  const payload = jose.decodeJwt(issuerJwtOf(credential));
  const idx = payload.status?.status_list?.idx
    ?? Number([].concat(payload.credentialStatus ?? []).find((e) => e.statusPurpose === 'revocation')?.statusListIndex);
  const { credentials } = await api('GET', `/credentials?run=${encodeURIComponent(run)}`);
  const found = credentials.filter((c) => c.credential_configuration_id === configuration && c.status_list?.idx === idx);
  assert(found.length === 1, `${label}: ${found.length} credentials of ${configuration} at status index ${idx} in GET /api/credentials?run=${run}`);
  return found[0].id;
}

const [sdRevoked, sdSuspended, sdUntouched] = all.slice(0, 3);
const [vcRevoked, vcUntouched] = all.slice(3, 5);

await check('agency API: revoke SD-JWT VC #0 and vc+jwt #0, suspend SD-JWT VC #1', async () => {
  for (const [item, action] of [[sdRevoked, 'revoke'], [vcRevoked, 'revoke'], [sdSuspended, 'suspend']]) {
    item.id = await credentialId(ALICE.run, item);
    const after = await api('POST', `/credentials/${item.id}/${action}`, { reason: `interop test: ${action}` });
    const expected = action === 'revoke' ? 'revoked' : 'suspended';
    assert(after.status === expected, `${item.label} after ${action}: status ${after.status}`);
  }
});

await check('wallet.mjs status (@sd-jwt/jwt-status-list): revoked 1, suspended 2, untouched 0', () => {
  for (const [item, expected] of [[sdRevoked, 1], [sdSuspended, 2], [sdUntouched, 0]]) {
    const { status } = walletOk('status', item.credential);
    assert(status === expected, `${item.label}: status ${status}, expected ${expected}`);
  }
});

await check('Bitstring Status List (jose, gunzip): vc+jwt #0 revocation bit 1, vc+jwt #1 bits 0', async () => {
  assert(await bitstringStatus(vcRevoked.credential, 'revocation') === 1, `${vcRevoked.label}: revocation bit not set`);
  assert(await bitstringStatus(vcRevoked.credential, 'suspension') === 0, `${vcRevoked.label}: suspension bit set`);
  assert(await bitstringStatus(vcUntouched.credential, 'revocation') === 0, `${vcUntouched.label}: revocation bit set`);
  assert(await bitstringStatus(vcUntouched.credential, 'suspension') === 0, `${vcUntouched.label}: suspension bit set`);
});

await check('llavero verify with a new bundle: rejects the revoked and the suspended, accepts the untouched', () => {
  const bundle = freshBundle();
  expectRejected(sdRevoked.label, sdRevoked.credential, bundle, 'revoked');
  expectRejected(vcRevoked.label, vcRevoked.credential, bundle, 'revoked');
  expectRejected(sdSuspended.label, sdSuspended.credential, bundle, 'suspended');
  for (const item of [sdUntouched, vcUntouched, all[5]]) expectAccepted(item.label, item.credential, bundle);
});

await check('unsuspend SD-JWT VC #1: wallet.mjs status 0, llavero verify accepts it again', async () => {
  const after = await api('POST', `/credentials/${sdSuspended.id}/unsuspend`, { reason: 'interop test: unsuspend' });
  assert(after.status === 'valid', `status ${after.status} after unsuspend`);
  const { status } = walletOk('status', sdSuspended.credential);
  assert(status === 0, `status ${status} after unsuspend`);
  expectAccepted(sdSuspended.label, sdSuspended.credential, freshBundle());
});

// ---------------------------------------------------------------------------------- tx_code

const locked = await check('a wrong tx_code is refused by the token endpoint (invalid_grant through the library)', async () => {
  const offer = await newOffer(CAROL.run, ['birth-certificate_sd-jwt'], birthPlace);
  // Same length, digits only: the wallet checks both before it sends anything.
  const wrong = offer.tx_code.split('').map((d) => String((Number(d) + 1) % 10)).join('');
  expectTokenRefused(wallet('pre-authorized', offer.credential_offer_uri, wrong, '1'), 'a wrong tx_code');
  return { offer, wrong };
});

await check('after 5 wrong tx_codes the right one no longer works', async () => {
  for (let attempt = 2; attempt <= 5; attempt++) {
    expectTokenRefused(wallet('pre-authorized', locked.offer.credential_offer_uri, locked.wrong, '1'), `wrong tx_code #${attempt}`);
  }
  // By value, so that the library goes straight to the token endpoint with the right code.
  expectTokenRefused(wallet('pre-authorized', locked.offer.credential_offer_by_value, locked.offer.tx_code, '1'),
    'the right tx_code after 5 wrong ones');
  // By reference the offer is gone as well.
  const byReference = wallet('pre-authorized', locked.offer.credential_offer_uri, locked.offer.tx_code, '1');
  assert(byReference.status !== 0, 'the wallet got credentials by reference after 5 wrong tx_codes');
});

await check('a fresh offer with the right tx_code still works for the same person', async () => {
  const offer = await newOffer(CAROL.run, ['birth-certificate_sd-jwt'], birthPlace);
  const out = walletOk('pre-authorized', offer.credential_offer_uri, offer.tx_code, '1');
  assert(out.credentials.length === 1 && out.verified[0].claims.run === CAROL.run, `claims ${JSON.stringify(out.verified[0]?.claims)}`);
});

console.log(`oid4vci: ${passed} passed, 0 failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
