// Llavero's output verified by independent implementations (npm @sd-jwt/sd-jwt-vc, jose,
// @sd-jwt/jwt-status-list): node theirs_verify.mjs CASEDIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, ES256 } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import * as jose from 'jose';

const dir = process.argv[2];
let passed = 0;
let failed = 0;

async function check(c) {
  const issuerKey = await jose.importJWK(c.issuer_jwk, 'ES256');
  switch (c.format) {
    case 'dc+sd-jwt': {
      const sdjwt = new SDJwtVcInstance({
        hasher: digest,
        verifier: await ES256.getVerifier(c.issuer_jwk),
        // The KB-JWT must verify with the holder key the issuer bound in cnf.jwk.
        kbVerifier: async (data, sig, payload) => (await ES256.getVerifier(payload.cnf.jwk))(data, sig),
        // Offline: the status list comes from the case files, not the network.
        statusListFetcher: async (uri) => {
          if (!statusLists[uri]) throw new Error(`no status list ${uri} among the cases`);
          return statusLists[uri];
        },
      });
      const { payload, header, kb } = await sdjwt.verify(c.credential, c.nonce ? { keyBindingNonce: c.nonce } : {});
      if (header.typ !== 'dc+sd-jwt') throw new Error(`typ ${header.typ}`);
      if (c.aud && kb?.payload.aud !== c.aud) throw new Error(`KB aud ${kb?.payload.aud}`);
      if (!isDeepStrictEqual(payload, c.expected_claims)) {
        throw new Error(`claims differ:\n theirs ${JSON.stringify(payload)}\n ours   ${JSON.stringify(c.expected_claims)}`);
      }
      return;
    }
    case 'vc+jwt': {
      const { payload, protectedHeader } = await jose.compactVerify(c.credential, issuerKey);
      if (protectedHeader.typ !== 'vc+jwt') throw new Error(`typ ${protectedHeader.typ}`);
      const vc = JSON.parse(new TextDecoder().decode(payload));
      if (!isDeepStrictEqual(vc, c.expected_claims)) throw new Error('credential differs');
      return;
    }
    case 'statuslist+jwt': {
      const { payload, protectedHeader } = await jose.jwtVerify(c.credential, issuerKey, { typ: 'statuslist+jwt', subject: c.uri });
      if (!payload.ttl) throw new Error('no ttl');
      const list = getListFromStatusListJWT(c.credential);
      for (const [idx, status] of Object.entries(c.expected_statuses)) {
        const found = list.getStatus(Number(idx));
        if (found !== status) throw new Error(`index ${idx}: status ${found}, expected ${status}`);
      }
      if (protectedHeader.kid !== c.issuer_jwk.kid) throw new Error('kid');
      return;
    }
    default:
      throw new Error(`unknown format ${c.format}`);
  }
}

const cases = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
const statusLists = Object.fromEntries(cases.filter((c) => c.format === 'statuslist+jwt').map((c) => [c.uri, c.credential]));

for (const c of cases) {
  try {
    if (c.expect_error) {
      const error = await check(c).then(() => null, (e) => e);
      if (!error || !error.message.includes(c.expect_error)) {
        throw new Error(`expected "${c.expect_error}", got ${error ? error.message : 'success'}`);
      }
    } else {
      await check(c);
    }
    console.log(`ok   node ${c.name}`);
    passed += 1;
  } catch (e) {
    console.log(`FAIL node ${c.name}: ${e.message}`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
