// An OpenID provider for the sign-in tests: the certified `oidc-provider` package from npm (installed
// outside the repository; its folder is the first argument), configured by a JSON file (the second):
// issuer port, one client, the signing keys, the accounts (re-read at every sign-in, so a test can
// change a person's groups between two sign-ins), and two ways to misbehave on purpose:
// `published_keys` (a key set other than the one that signs) and `clock_offset_seconds`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [packages, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
// The clock runs `clock_offset_seconds` off while the token endpoint signs the ID token, and right
// everywhere else (the browser would drop cookies that expired before they were set).
let offsetMs = 0;
const realNow = Date.now;
Date.now = () => realNow() + offsetMs;
const { default: Provider } = await import(pathToFileURL(join(packages, 'node_modules/oidc-provider/lib/index.js')));

const accounts = () => JSON.parse(readFileSync(config.accounts_file, 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const provider = new Provider(issuer, {
  clients: [config.client],
  jwks: { keys: config.signing_keys },
  cookies: { keys: ['covey-tests-cookie-key'] },
  claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  findAccount: async (ctx, id) => {
    const account = accounts()[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  // The test's client is first-party: no consent screen.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
if (config.clock_offset_seconds) {
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/token') return next();
    offsetMs = config.clock_offset_seconds * 1000;
    try {
      await next();
    } finally {
      offsetMs = 0;
    }
  });
}
if (config.published_keys) {
  provider.use(async (ctx, next) => {
    if (ctx.path === '/jwks') {
      ctx.type = 'application/jwk-set+json';
      ctx.body = { keys: config.published_keys };
      return;
    }
    await next();
  });
}
provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
