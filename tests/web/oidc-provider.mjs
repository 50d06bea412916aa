// An OpenID Connect provider for kontor's tests (npm `oidc-provider`, its development login
// and consent pages), on loopback.
//
//   node tests/web/oidc-provider.mjs <port> <client id> <client secret> <redirect uri>
//
// Prints `ready <issuer>` when it listens. Accounts: any login name works (development
// interactions); `anna` is in the groups `alle` and `kontor-sales`, team `vertrieb-nord`;
// everybody else only in `alle`.

import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: node oidc-provider.mjs <port> <client id> <client secret> <redirect uri>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const people = {
  anna: { groups: ['alle', 'kontor-sales'], team: 'vertrieb-nord' },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['preferred_username', 'groups', 'team'] },
  // Claims of the granted scopes in the ID token (not only at the userinfo endpoint).
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: sub, groups: ['alle'], ...(people[sub] || {}) };
      },
    };
  },
});
provider.on('server_error', (ctx, err) => console.error('provider error:', err));
provider.listen(Number(port), '127.0.0.1', () => console.log('ready ' + issuer));
