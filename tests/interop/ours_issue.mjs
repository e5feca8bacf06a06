// Credentials, presentations and a status list issued by Llavero's CLI, written as case files
// for the independent verifiers: node ours_issue.mjs LLAVERO_BINARY OUTDIR
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [bin, out] = process.argv.slice(2);
const work = join(out, 'work');
mkdirSync(work, { recursive: true });
const llavero = (...args) => execFileSync(bin, args, { cwd: work, encoding: 'utf8' }).trim();
const ISS = 'https://registro.llavero.cl';
const VCT = 'https://llavero.cl/vct/birth-certificate';
const STATUS = 'https://registro.llavero.cl/status/1';
const AUD = 'https://verifier.node.example';
const NONCE = 'n-' + Date.now();

const keys = {};
for (const name of ['anchor', 'issuer', 'holder']) {
  writeFileSync(join(work, `${name}.pub.jwk`), llavero('keys', 'generate', '--out', `${name}.jwk`, '--kid', `${name}-1`));
  keys[name] = JSON.parse(readFileSync(join(work, `${name}.pub.jwk`), 'utf8'));
}
writeFileSync(join(work, 'issuers.json'), JSON.stringify([
  { id: ISS, credential_types: [VCT, 'IdentityCardCredential'], key_files: ['issuer.pub.jwk'] },
]));
llavero('trust-list', 'build', '--issuers', 'issuers.json', '--anchor-key', 'anchor.jwk', '--out', 'trust-list.jwt');
const statusList = llavero('status-list', 'build', '--uri', STATUS, '--issuer', ISS, '--key', 'issuer.jwk',
  '--size', '1024', '--revoked', '7', '--suspended', '9');
writeFileSync(join(work, 'status.jwt'), statusList);
llavero('bundle', 'build', '--trust-list', 'trust-list.jwt', '--status-list', 'status.jwt', '--out', 'bundle.json');
writeFileSync(join(work, 'claims.json'), JSON.stringify({
  given_name: 'Ana María', family_name: 'Rojas', birthdate: '1990-05-01',
  address: { street_address: 'Av. Libertador 1', locality: 'Santiago', country: 'CL' },
  nationalities: ['CL', 'AR'],
}));
const credential = llavero('credential', 'issue', '--type', VCT, '--issuer', ISS, '--key', 'issuer.jwk',
  '--claims', 'claims.json', '--holder-key', 'holder.pub.jwk', '--status-uri', STATUS, '--status-index', '3',
  '--disclose', 'given_name', '--disclose', 'family_name', '--disclose', 'birthdate', '--disclose', 'address',
  '--disclose', '/address/street_address', '--disclose', '/address/locality',
  '--disclose', '["nationalities",null]');
writeFileSync(join(work, 'credential.txt'), credential);
const presentation = llavero('credential', 'present', '--credential', 'credential.txt', '--disclose', 'given_name',
  '--disclose', 'address.locality', '--disclose', 'nationalities.1', '--holder-key', 'holder.jwk',
  '--aud', AUD, '--nonce', NONCE);
writeFileSync(join(work, 'presentation.txt'), presentation);
const ourView = (file, ...expect) => JSON.parse(llavero('verify', file, '--bundle', 'bundle.json',
  '--anchor', 'anchor.pub.jwk', ...expect)).credentials[0].claims;

const vc = llavero('credential', 'issue', '--format', 'vc-jwt', '--type', 'IdentityCardCredential', '--issuer', ISS,
  '--key', 'issuer.jwk', '--claims', 'claims.json', '--holder-key', 'holder.pub.jwk');
writeFileSync(join(work, 'vc.txt'), vc);

const revoked = llavero('credential', 'issue', '--type', VCT, '--issuer', ISS, '--key', 'issuer.jwk',
  '--claims', 'claims.json', '--holder-key', 'holder.pub.jwk', '--status-uri', STATUS, '--status-index', '7');

const base = { issuer: ISS, issuer_jwk: keys.issuer, holder_jwk: keys.holder };
const cases = [
  { ...base, name: 'llavero-sd-jwt-vc-issued', format: 'dc+sd-jwt', credential, expected_claims: ourView('credential.txt') },
  { ...base, name: 'llavero-sd-jwt-vc-presented', format: 'dc+sd-jwt', credential: presentation, aud: AUD, nonce: NONCE,
    expected_claims: ourView('presentation.txt', '--aud', AUD, '--nonce', NONCE) },
  { ...base, name: 'llavero-sd-jwt-vc-revoked', format: 'dc+sd-jwt', credential: revoked, expect_error: 'Status is not valid' },
  { ...base, name: 'llavero-vc-jwt', format: 'vc+jwt', credential: vc, expected_claims: ourView('vc.txt') },
  { ...base, name: 'llavero-status-list', format: 'statuslist+jwt', credential: statusList, uri: STATUS,
    expected_statuses: { 3: 0, 7: 1, 9: 2 } },
];
for (const c of cases) {
  writeFileSync(join(out, `${c.name}.json`), JSON.stringify(c, null, 2));
}
console.log(`wrote ${cases.length} cases to ${out}`);
