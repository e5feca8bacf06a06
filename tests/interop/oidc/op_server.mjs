// npm oidc-provider as the benchmark's baseline, run in its own process (bench.mjs forks it):
// an in-memory adapter (MapAdapter below), one confidential client (client_secret_basic), a fixed account, an
// interaction that logs that account in and consents at once, PKCE S256 required, refresh
// tokens issued to the code grant: never rotated for CLIENT, rotated on every use for
// ROTATING_CLIENT (as Llavero does for every client). Listens on 127.0.0.1 (port 0 = any free
// one) and tells its parent { issuer, client: CLIENT, rotatingClient: ROTATING_CLIENT } over IPC,
// or prints the issuer when run by hand:
//   node op_server.mjs [PORT]
// OP_ADAPTER=builtin uses oidc-provider's own development memory adapter instead of MapAdapter.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

export const CLIENT = {
  client_id: 'bench',
  client_secret: 'bench-secret-0123456789abcdef0123456789abcdef',
  redirect_uri: 'http://127.0.0.1:9999/cb',
  scope: 'openid profile',
};

/** Like CLIENT, but its refresh tokens rotate on every use (and a reused one revokes the grant). */
export const ROTATING_CLIENT = { ...CLIENT, client_id: 'bench-rotating' };

const ACCOUNT = {
  sub: 'bench-account-1',
  given_name: 'María José',
  family_name: 'González Rojas',
  name: 'María José González Rojas',
  birthdate: '1990-04-12',
};

const signingKey = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: 'bench-es256', alg: 'ES256', use: 'sig' };

// A plain in-memory adapter: one Map, with expiry, and Set indexes by grant, session uid and
// user code, each operation O(1). oidc-provider's own development adapter is an LRU of 1000
// entries whose grant index is rewritten whole (a Math.max over every member) on each token
// saved: the refresh benchmark issues one access token per request on the same grant, so its
// throughput falls the longer it runs (about 1140/s over 2 s, 990 over 5 s, 820 over 15 s here).
const store = new Map(); // key -> { payload, expiresAt }
const index = new Map(); // 'grant:ID' | 'uid:UID' | 'userCode:CODE' -> Set of keys
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  static #get(key) {
    const entry = store.get(key);
    if (entry && entry.expiresAt <= Date.now()) { store.delete(key); return undefined; }
    return entry?.payload;
  }
  static #byIndex(name) {
    for (const key of index.get(name) ?? []) { const p = MapAdapter.#get(key); if (p) return p; }
    return undefined;
  }
  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity });
    const names = [];
    if (GRANTABLE.has(this.model) && payload.grantId) names.push(`grant:${payload.grantId}`);
    if (this.model === 'Session' && payload.uid) names.push(`uid:${payload.uid}`);
    if (payload.userCode) names.push(`userCode:${payload.userCode}`);
    for (const name of names) {
      if (!index.has(name)) index.set(name, new Set());
      index.get(name).add(key);
    }
  }
  async find(id) { return MapAdapter.#get(this.key(id)); }
  async findByUid(uid) { return MapAdapter.#byIndex(`uid:${uid}`); }
  async findByUserCode(userCode) { return MapAdapter.#byIndex(`userCode:${userCode}`); }
  async consume(id) { const p = MapAdapter.#get(this.key(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const key of index.get(`grant:${grantId}`) ?? []) store.delete(key);
    index.delete(`grant:${grantId}`);
  }
}

const DAY = 24 * 60 * 60;
const configuration = {
  ...(process.env.OP_ADAPTER === 'builtin' ? {} : { adapter: MapAdapter }),
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 14 * DAY,
    Grant: 14 * DAY, RefreshToken: 14 * DAY },
  clients: [CLIENT, ROTATING_CLIENT].map(({ client_id, client_secret, redirect_uri }) => ({
    client_id,
    client_secret,
    redirect_uris: [redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name', 'birthdate'] },
  scopes: ['openid', 'profile'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Refresh tokens for every code grant of a client allowed the refresh_token grant (the default
  // asks for the offline_access scope, which needs prompt=consent). CLIENT's are never rotated,
  // so that one refresh token can be replayed by the benchmark; ROTATING_CLIENT's always are
  // (the refresh token consumed, a new one saved), the work Llavero does on every refresh.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: (ctx) => ctx.oidc.entities.Client.clientId === ROTATING_CLIENT.client_id,
  findAccount: async (ctx, sub) => (sub === ACCOUNT.sub
    ? { accountId: sub, claims: async () => ({ ...ACCOUNT }) }
    : undefined),
};

export async function start(port = 0) {
  const server = createServer();
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  // The interaction: login as ACCOUNT, then consent to whatever the request lacks.
  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: ACCOUNT.sub } };
    } else if (prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      throw new Error(`unexpected prompt ${prompt.name}`);
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err?.stack ?? err));
      });
    } else {
      callback(req, res);
    }
  });
  return { server, issuer, provider };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { issuer } = await start(Number(process.argv[2] ?? 0));
  if (process.send) {
    process.on('disconnect', () => process.exit(0)); // the parent is gone: so are we
    process.send({ issuer, client: CLIENT, rotatingClient: ROTATING_CLIENT });
  } else {
    console.log(issuer);
  }
}
