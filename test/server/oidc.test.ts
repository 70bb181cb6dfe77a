// OIDC bearer tokens: a real issuer on loopback (discovery document + JWKS), tokens signed by jose, checked by the
// query service; the access file still decides what an OIDC caller may see.
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OidcAuthenticator, withOidc } from '../../server/auth/oidc.ts';
import { parseAccessFile, TokenFileAccess } from '../../server/auth/token-file.ts';
import { ACCESS, startFixture, type Fixture } from './fixture.ts';

interface Issuer {
  url: string;
  keys: JWK[];
  server: Server;
  down: boolean;
}

async function startIssuer(): Promise<Issuer> {
  const issuer = { keys: [] as JWK[], down: false } as Issuer;
  issuer.server = createServer((req, res) => {
    if (issuer.down) return void res.writeHead(503).end();
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      return void res.end(JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/keys` }));
    }
    if (req.url === '/keys') {
      res.setHeader('content-type', 'application/json');
      return void res.end(JSON.stringify({ keys: issuer.keys }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => issuer.server.listen(0, '127.0.0.1', r));
  issuer.url = `http://127.0.0.1:${(issuer.server.address() as { port: number }).port}`;
  return issuer;
}

const AUDIENCE = 'strata-dashboard';
const OIDC_ACCESS = `${ACCESS}
  - { group: "oidc:agents-team", verbs: [get, list], namespaces: [agents] }
`;

describe('OIDC tokens', () => {
  let issuer: Issuer;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let f: Fixture;
  const sign = (
    claims: Record<string, unknown>,
    opts: { key?: CryptoKey; exp?: string; iss?: string; aud?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(opts.iss ?? issuer.url)
      .setAudience(opts.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? key);
  const list = async (token: string) => {
    const res = await fetch(`${f.base}/api/v1/workflows`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { items?: Array<{ namespace: string }>; error?: { message: string } };
    return { status: res.status, body };
  };

  beforeAll(async () => {
    issuer = await startIssuer();
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    issuer.keys = [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
    otherKey = (await generateKeyPair('RS256')).privateKey;
    // The access file decides what anyone may see; OIDC is one more way to prove who one is, in front of its tokens.
    const tokens = new TokenFileAccess(parseAccessFile(OIDC_ACCESS, 'access.yaml'));
    const oidc = new OidcAuthenticator({ issuer: issuer.url, audience: AUDIENCE });
    f = await startFixture({ authenticator: withOidc(oidc, tokens), authorizer: tokens }, OIDC_ACCESS);
  });
  afterAll(async () => {
    await f?.close();
    await new Promise((r) => issuer?.server.close(r));
  });

  test('a valid token is a caller with prefixed username and groups, and sees only what the access file grants', async () => {
    const token = await sign({ sub: 'dana', groups: ['agents-team'] });
    const { status, body } = await list(token);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.items!.length).toBeGreaterThan(0);
    expect(new Set(body.items!.map((w) => w.namespace))).toEqual(new Set(['agents']));
  });

  test('a verified caller without a matching rule sees nothing', async () => {
    const { status, body } = await list(await sign({ sub: 'erin', groups: ['other-team'] }));
    expect(status).toBe(200);
    expect(body.items).toEqual([]);
  });

  test.each([
    ['expired', () => sign({ sub: 'dana', groups: ['agents-team'] }, { exp: '-10m' })],
    ['another audience', () => sign({ sub: 'dana', groups: ['agents-team'] }, { aud: 'someone-else' })],
    [
      'signed by a key the issuer does not publish',
      () => sign({ sub: 'dana', groups: ['agents-team'] }, { key: otherKey }),
    ],
    [
      'unsigned (alg none)',
      async () =>
        unsigned({
          iss: issuer.url,
          aud: AUDIENCE,
          sub: 'dana',
          groups: ['agents-team'],
          exp: Math.floor(Date.now() / 1000) + 300,
        }),
    ],
    ['another issuer', () => sign({ sub: 'dana', groups: ['agents-team'] }, { iss: 'https://evil.example' })],
    ['no username claim', () => sign({ groups: ['agents-team'] })],
  ])('refused with 401: %s', async (_, make) => {
    const { status } = await list(await make());
    expect(status).toBe(401);
  });

  test('a tampered payload fails the signature', async () => {
    const token = await sign({ sub: 'dana', groups: ['other-team'] });
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['agents-team'] })).toString('base64url');
    expect((await list(`${h}.${forged}.${s}`)).status).toBe(401);
  });

  test('a username that would name a cluster identity is refused, whatever the prefix', async () => {
    const oidc = new OidcAuthenticator({
      issuer: issuer.url,
      audience: AUDIENCE,
      usernamePrefix: '',
      groupsPrefix: '',
    });
    expect(await oidc.authenticate(await sign({ sub: 'system:admin' }))).toBeUndefined();
    expect(await oidc.authenticate(await sign({ sub: 'dana', groups: ['system:masters', 'x'] }))).toMatchObject({
      username: 'dana',
      groups: ['x'],
      via: 'oidc',
    });
  });

  test('an email username counts only when the issuer verified it', async () => {
    const oidc = new OidcAuthenticator({ issuer: issuer.url, audience: AUDIENCE, usernameClaim: 'email' });
    expect(await oidc.authenticate(await sign({ sub: '1', email: 'dana@corp.example' }))).toBeUndefined();
    expect(
      await oidc.authenticate(await sign({ sub: '1', email: 'dana@corp.example', email_verified: true })),
    ).toMatchObject({ username: 'oidc:dana@corp.example' });
  });

  test('the token-file tokens still work beside OIDC', async () => {
    const { status, body } = await list('alice-token');
    expect(status).toBe(200);
    expect(body.items!.length).toBeGreaterThan(0);
  });

  test('reads by an OIDC caller are audited with who vouched', async () => {
    const token = await sign({ sub: 'dana', groups: ['agents-team'] });
    const wf = (await list(token)).body.items![0] as { uid?: string; manifestId?: string };
    const id = wf.manifestId ?? wf.uid;
    const res = await fetch(`${f.base}/api/v1/workflows/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const rec = f.audit.find((r) => r.actor === 'oidc:dana');
    expect(rec, JSON.stringify(f.audit.map((r) => r.actor))).toBeDefined();
    expect(JSON.stringify(rec)).toContain('"authenticatedBy":"oidc"');
  });

  test('an issuer that cannot be reached is a 503, not a 401', async () => {
    const oidc = new OidcAuthenticator({ issuer: issuer.url, audience: AUDIENCE });
    issuer.down = true;
    try {
      await expect(oidc.authenticate(await sign({ sub: 'dana' }))).rejects.toMatchObject({ status: 503 });
    } finally {
      issuer.down = false;
    }
  });

  test('a plain-http issuer off loopback is refused at start', () => {
    expect(() => new OidcAuthenticator({ issuer: 'http://idp.example', audience: AUDIENCE })).toThrow(/https/);
    expect(() => new OidcAuthenticator({ issuer: 'https://idp.example', audience: '' })).toThrow(/audience/);
  });
});

function unsigned(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}
