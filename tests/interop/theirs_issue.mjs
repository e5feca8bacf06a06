// Credentials issued by independent implementations (npm @sd-jwt/sd-jwt-vc and jose), written
// as case files for Llavero's verifier: node theirs_issue.mjs OUTDIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt, ES256 } from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';

const out = process.argv[2];
mkdirSync(out, { recursive: true });
const now = Math.floor(Date.now() / 1000);
const ISS = 'https://issuer.node.example';
const VCT = 'https://credentials.example/identity_credential';
const AUD = 'https://verifier.llavero.example';
const NONCE = 'nonce-' + now;

const issuerKeys = await jose.generateKeyPair('ES256', { extractable: true });
const issuerJwk = { ...(await jose.exportJWK(issuerKeys.publicKey)), kid: 'node-issuer-1', alg: 'ES256' };
const issuerPrivate = await jose.exportJWK(issuerKeys.privateKey);
const holderKeys = await jose.generateKeyPair('ES256', { extractable: true });
const holderJwk = await jose.exportJWK(holderKeys.publicKey);
const holderPrivate = await jose.exportJWK(holderKeys.privateKey);

const sdjwt = new SDJwtVcInstance({
  signer: await ES256.getSigner(issuerPrivate),
  signAlg: 'ES256',
  verifier: await ES256.getVerifier(issuerJwk),
  hasher: digest,
  hashAlg: 'sha-256',
  saltGenerator: generateSalt,
  kbSigner: await ES256.getSigner(holderPrivate),
  kbSignAlg: 'ES256',
  kbVerifier: await ES256.getVerifier(holderJwk),
});

const claims = {
  iss: ISS,
  vct: VCT,
  iat: now - 60,
  exp: now + 3600,
  cnf: { jwk: holderJwk },
  given_name: 'Ana María',
  family_name: 'Rojas',
  birthdate: '1990-05-01',
  address: { street_address: 'Av. Libertador 1', locality: 'Santiago', country: 'CL' },
  nationalities: ['CL', 'AR'],
};
const frame = {
  _sd: ['given_name', 'family_name', 'birthdate', 'address'],
  address: { _sd: ['street_address', 'locality'] },
  nationalities: { _sd: [0, 1] },
};
const issued = await sdjwt.issue(claims, frame, { header: { kid: 'node-issuer-1' } });

const cases = [];
const base = { format: 'dc+sd-jwt', issuer: ISS, credential_type: VCT, issuer_jwk: issuerJwk, now };

// A bare credential: everything disclosed, no key binding.
const bare = await sdjwt.verify(issued);
cases.push({ ...base, name: 'node-sd-jwt-vc-bare', credential: issued, expected_claims: bare.payload, expect: 'valid' });

// A presentation of some claims with a key-binding JWT.
const presented = await sdjwt.present(
  issued,
  { given_name: true, address: { locality: true }, nationalities: { 1: true } },
  { kb: { payload: { iat: now, aud: AUD, nonce: NONCE } } },
);
const theirView = await sdjwt.verify(presented, { keyBindingNonce: NONCE });
cases.push({ ...base, name: 'node-sd-jwt-vc-presented', credential: presented, aud: AUD, nonce: NONCE,
  expected_claims: theirView.payload, expect: 'valid' });

// The same presentation checked against another nonce: a replay.
cases.push({ ...base, name: 'node-sd-jwt-vc-replayed', credential: presented, aud: AUD, nonce: 'another-nonce',
  expect: 'wrong_nonce' });

// A disclosure altered after issuance.
const parts = issued.split('~');
const altered = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
altered[altered.length - 1] = 'Mallory';
parts[1] = Buffer.from(JSON.stringify(altered)).toString('base64url');
cases.push({ ...base, name: 'node-sd-jwt-vc-tampered', credential: parts.join('~'), expect: 'digest_mismatch' });

// A W3C VC 2.0 signed with jose as vc+jwt (the payload is the credential).
const vc = {
  '@context': ['https://www.w3.org/ns/credentials/v2'],
  type: ['VerifiableCredential', 'IdentityCardCredential'],
  issuer: ISS,
  validFrom: new Date((now - 60) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  validUntil: new Date((now + 3600) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  credentialSubject: { id: 'did:example:ana', given_name: 'Ana María' },
};
const vcJwt = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(vc)))
  .setProtectedHeader({ alg: 'ES256', typ: 'vc+jwt', cty: 'vc', kid: 'node-issuer-1' })
  .sign(issuerKeys.privateKey);
cases.push({ ...base, name: 'jose-vc-jwt', format: 'vc+jwt', credential_type: 'IdentityCardCredential',
  credential: vcJwt, expected_claims: vc, expect: 'valid' });

// The same credential with alg none.
const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'vc+jwt', kid: 'node-issuer-1' })).toString('base64url')}.${vcJwt.split('.')[1]}.`;
cases.push({ ...base, name: 'jose-vc-jwt-alg-none', format: 'vc+jwt', credential_type: 'IdentityCardCredential',
  credential: none, expect: 'unsupported_algorithm' });

for (const c of cases) {
  writeFileSync(join(out, `${c.name}.json`), JSON.stringify(c, null, 2));
}
console.log(`wrote ${cases.length} cases to ${out}`);
