// oidc-provider on 127.0.0.1 for Latchkey's tests: authorization code with PKCE required,
// refresh-token rotation, client credentials, introspection, dynamic client registration
// and its management (each test registers its own client and redirect URI), and an interaction handler that
// logs the user in and consents at once, so no person is needed.
//
// Usage: PORT=… node server.mjs   (prints "ready <issuer>" when listening)
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  scopes: ['openid', 'offline_access', 'profile', 'email', 'read', 'write'],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    // RFC 7592: a test points its client at the integration's redirect URI once the
    // integration exists, as a vendor edits its OAuth app in the provider's console.
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
  },
  ttl: {
    // Short enough that refresh matters in tests, long enough to never expire mid-test.
    AccessToken: 3600,
    ClientCredentials: 3600,
  },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['latchkey-test-cookie-key'] },
});

// Test-only: a plain-http issuer on loopback.
provider.proxy = false;

// Test-only: token requests per client (client_secret_basic), so a test can prove that
// concurrent refreshers made exactly one. GET /test/token-requests?client_id=…
// GET /test/token-delay?client_id=…&ms=… makes that client's token requests slow, so a
// test can hold a refresh in flight while other workers arrive.
const tokenRequests = new Map();
const tokenDelays = new Map();
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/token-requests') {
    ctx.body = { count: tokenRequests.get(ctx.query.client_id) || 0 };
    return;
  }
  if (ctx.path === '/test/token-delay') {
    tokenDelays.set(ctx.query.client_id, Number(ctx.query.ms) || 0);
    ctx.body = { ms: tokenDelays.get(ctx.query.client_id) };
    return;
  }
  const auth = ctx.headers.authorization || '';
  if (ctx.path === '/token' && ctx.method === 'POST' && auth.startsWith('Basic ')) {
    const id = decodeURIComponent(Buffer.from(auth.slice(6), 'base64').toString().split(':')[0]);
    tokenRequests.set(id, (tokenRequests.get(id) || 0) + 1);
    const delay = tokenDelays.get(id) || 0;
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return next();
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: 'user-1' } }, { mergeWithLastSubmission: false });
  }
  const accountId = session.accountId;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
