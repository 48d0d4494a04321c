// The OAuth 2.0 token domain (issue 20) against a real authorization server on 127.0.0.1: both client
// authentication styles, rotation, expiry on an injected clock, one token request per burst, the refusals and the
// outages, and the one resend after a 401.
import fc from 'fast-check';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sendAuthorized } from '../../src/auth/authorized-send';
import { parseOAuth2Settings, type OAuth2Credentials } from '../../src/auth/oauth2-settings';
import { RefreshTokenFile, type TokenFileProblem } from '../../src/auth/refresh-token-file';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { tokenRequest, TokenFailure } from '../../src/auth/token-request';
import { EXPIRY_MARGIN_MS, TokenSource } from '../../src/auth/token-source';
import { exchange } from '../../src/delivery/exchange';
import { HttpTransport } from '../../src/delivery/http-transport';
import { ConfigError } from '../../src/errors/coded-error';
import { compileRequest } from '../../src/request/build-request';
import { startProvider, type Provider } from '../support/oauth2-provider';

const call = { callId: 'c-1', agent: 'Ann' };

describe('OAuth 2.0 tokens', () => {
    let provider: Provider;
    let transport: HttpTransport;

    beforeEach(async () => {
        provider = await startProvider();
        transport = new HttpTransport({ maxSockets: 4 });
    });
    afterEach(async () => {
        transport.close();
        await provider.stop().catch(() => {});
    });

    function source(
        config: Record<string, unknown> = {},
        credentials: Partial<OAuth2Credentials> = {},
        options: ConstructorParameters<typeof TokenSource>[2] = {},
    ) {
        const creds = { clientId: provider.clientId, clientSecret: provider.clientSecret, ...credentials };
        return new TokenSource(parseOAuth2Settings({ tokenUrl: provider.tokenUrl, ...config }, creds), creds, options);
    }

    it('client credentials with clientAuth basic: the id and secret form-encoded in an Authorization header, not in the form', async () => {
        const grant = await source({ scope: 'crm.write crm.read', audience: 'https://api.example' }).grant(transport);
        assert.equal(grant.accessToken, provider.issued[0]);
        assert.equal(provider.seen.length, 1);
        const { headers, form } = provider.seen[0]!;
        const expected = Buffer.from(
            `${encodeURIComponent(provider.clientId).replace(/%20/g, '+')}:${new URLSearchParams([['', provider.clientSecret]]).toString().slice(1)}`,
        ).toString('base64');
        assert.equal(headers.authorization, `Basic ${expected}`);
        assert.match(String(headers['content-type']), /^application\/x-www-form-urlencoded/);
        assert.deepEqual(form, { grant_type: 'client_credentials', scope: 'crm.write crm.read', audience: 'https://api.example' });
    });

    it('client credentials with clientAuth body: the id and secret in the form, no Authorization header', async () => {
        await source({ clientAuth: 'body' }).grant(transport);
        const { headers, form } = provider.seen[0]!;
        assert.equal(headers.authorization, undefined);
        assert.deepEqual(form, { grant_type: 'client_credentials', client_id: provider.clientId, client_secret: provider.clientSecret });
    });

    it('a refresh token grant follows the rotation: the new refresh token is reported and used for the next refresh', async () => {
        const rotated: string[] = [];
        const tokens = source({ grant: 'refresh_token' }, { refreshToken: provider.refreshToken }, { onRotated: (token) => rotated.push(token) });
        const first = await tokens.grant(transport);
        assert.equal(rotated.length, 1);
        assert.equal(rotated[0], provider.refreshToken);
        assert.equal(provider.seen[0]!.form.refresh_token, 'refresh-token-0');
        tokens.invalidate(first);
        const second = await tokens.grant(transport);
        assert.notEqual(second.accessToken, first.accessToken);
        assert.equal(provider.seen[1]!.form.refresh_token, rotated[0]);
        assert.equal(rotated.length, 2);
        assert.equal(rotated[1], provider.refreshToken);
    });

    it('a token is kept until the margin before expires_in, then fetched again (injected clock)', async () => {
        let now = 1_000_000;
        provider.expiresIn = 120;
        const tokens = source({}, {}, { now: () => now });
        const first = await tokens.grant(transport);
        now += 120_000 - EXPIRY_MARGIN_MS - 1;
        assert.equal((await tokens.grant(transport)).accessToken, first.accessToken);
        assert.equal(tokens.tokenRequests, 1);
        now += 2;
        const renewed = await tokens.grant(transport);
        assert.notEqual(renewed.accessToken, first.accessToken);
        assert.equal(tokens.tokenRequests, 2);
        assert.equal(provider.seen.length, 2);
    });

    it('a token living shorter than twice the margin is renewed at half its life', async () => {
        let now = 0;
        provider.expiresIn = 2;
        const tokens = source({}, {}, { now: () => now });
        const first = await tokens.grant(transport);
        now = 999;
        assert.equal((await tokens.grant(transport)).accessToken, first.accessToken);
        now = 1000;
        assert.notEqual((await tokens.grant(transport)).accessToken, first.accessToken);
    });

    it('a burst of 50 requests waiting for a token costs one token request', async () => {
        const tokens = source();
        const grants = await Promise.all(Array.from({ length: 50 }, () => tokens.grant(transport)));
        assert.equal(new Set(grants.map((grant) => grant.accessToken)).size, 1);
        assert.equal(tokens.tokenRequests, 1);
        assert.equal(provider.seen.length, 1);
    });

    it('invalid_client is a final auth error naming the provider error and description, without the secret', async () => {
        const tokens = source({}, { clientSecret: 'wrong secret value' });
        const failure = await tokens.grant(transport).then(
            () => assert.fail('a token was granted'),
            (err: unknown) => err as TokenFailure,
        );
        assert.ok(failure instanceof TokenFailure);
        assert.equal(failure.error.code, 'auth');
        assert.deepEqual(failure.verdict, { kind: 'final' });
        assert.match(failure.error.message, /invalid_client \(client authentication failed\)/);
        assert.match(failure.error.message, /credential needs attention/);
        assert.ok(!failure.error.message.includes('wrong secret value'));
    });

    it('invalid_grant (a revoked refresh token) is a final auth error too', async () => {
        const failure = (await source({ grant: 'refresh_token' }, { refreshToken: 'rt-old-9' })
            .grant(transport)
            .catch((err: unknown) => err)) as TokenFailure;
        assert.equal(failure.error.code, 'auth');
        assert.match(failure.error.message, /invalid_grant \(the refresh token is revoked or unknown\)/);
        assert.ok(!failure.error.message.includes('rt-old-9'));
    });

    it('a token endpoint answering 503 or not listening is a retryable failure; once it is back the token comes', async () => {
        const tokens = source();
        provider.failNext = { count: 1, status: 503 };
        const busy = (await tokens.grant(transport).catch((err: unknown) => err)) as TokenFailure;
        assert.equal(busy.verdict.kind, 'retry');
        assert.equal(busy.error.code, 'http-5xx');
        await provider.stop();
        const down = (await tokens.grant(transport).catch((err: unknown) => err)) as TokenFailure;
        assert.equal(down.verdict.kind, 'retry');
        // A kept-alive connection to the stopped server may end as a reset rather than a refusal.
        assert.ok(['refused', 'reset'].includes(down.error.code), down.error.code);
        await provider.restart();
        assert.equal((await tokens.grant(transport)).accessToken, provider.issued[0]);
        assert.equal(tokens.tokenRequests, 3);
    });

    it('the deploy check names the field that cannot work', () => {
        assert.throws(() => parseOAuth2Settings({ tokenUrl: '' }, { clientId: 'a', clientSecret: 'b' }), /tokenUrl: the token URL is empty/);
        assert.throws(() => parseOAuth2Settings({ tokenUrl: 'ftp://x/token' }, { clientId: 'a', clientSecret: 'b' }), /tokenUrl: .* must start with https/);
        assert.throws(() => parseOAuth2Settings({ tokenUrl: 'https://x/token', grant: 'implicit' }, { clientId: 'a' }), /grant: "implicit" is not one of/);
        assert.throws(() => parseOAuth2Settings({ tokenUrl: 'https://x/token' }, { clientId: 'a' }), /clientSecret: the client credentials grant needs/);
        assert.throws(() => parseOAuth2Settings({ tokenUrl: 'https://x/token', grant: 'refresh_token' }, { clientId: 'a' }), /refreshToken: /);
        assert.throws(() => parseOAuth2Settings({ tokenUrl: 'https://x/token', clientAuth: 'jwt' }, { clientId: 'a', clientSecret: 'b' }), /clientAuth: "jwt"/);
        assert.throws(() => parseOAuth2Settings({ tokenUrl: 'https://x/token' }, {}), ConfigError);
    });
});

describe('OAuth 2.0 requests to the target', () => {
    let provider: Provider;
    let transport: HttpTransport;
    let target: http.Server;
    let targetUrl: string;
    /** Access tokens the target accepts; a request with any other gets 401. */
    let accepted: (token: string) => boolean;
    const received: string[] = [];

    before(async () => {
        target = http.createServer((req, res) => {
            const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
            received.push(token);
            res.writeHead(accepted(token) ? 200 : 401, { 'content-type': 'application/json' }).end('{}');
        });
        await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
        targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    });
    after(() => new Promise((resolve) => target.close(resolve)));
    beforeEach(async () => {
        received.length = 0;
        provider = await startProvider();
        transport = new HttpTransport({ maxSockets: 4 });
    });
    afterEach(async () => {
        transport.close();
        await provider.stop();
    });

    function tokens(): TokenSource {
        const creds = { clientId: provider.clientId, clientSecret: provider.clientSecret };
        return new TokenSource(parseOAuth2Settings({ tokenUrl: provider.tokenUrl }, creds), creds);
    }

    function run(source: TokenSource, url = `${targetUrl}/calls/{{callId}}`) {
        const builder = compileRequest({ url, method: 'POST', authType: 'oauth2', oauth2: 'cfg' });
        return sendAuthorized(source, transport, (grant) => exchange(builder, transport, call, undefined, { grant }));
    }

    it('adds the current token at send time and masks it in the shown request', async () => {
        accepted = (token) => token === provider.issued.at(-1);
        const { result, resent } = await run(tokens());
        assert.equal(result.response?.statusCode, 200);
        assert.equal(resent, 0);
        assert.equal(received[0], provider.issued[0]);
        assert.equal(result.request?.headers.Authorization, 'Bearer ***');
        assert.ok(!JSON.stringify(result.request).includes(provider.issued[0]!));
    });

    it('401 -> the token is dropped, a new one fetched, the request sent once more and delivered', async () => {
        const source = tokens();
        await source.grant(transport);
        // The target revoked the first token.
        accepted = (token) => token !== provider.issued[0];
        const { result, resent } = await run(source);
        assert.equal(result.response?.statusCode, 200);
        assert.equal(resent, 1);
        assert.deepEqual(received, [provider.issued[0], provider.issued[1]]);
        assert.equal(source.tokenRequests, 2);
    });

    it('401, 401 -> final: the second 401 is the answer, after exactly one new token', async () => {
        accepted = () => false;
        const source = tokens();
        const { result, resent, verdict } = await run(source);
        assert.equal(result.response?.statusCode, 401);
        assert.equal(result.error?.code, 'http-4xx');
        assert.equal(verdict, undefined);
        assert.equal(resent, 1);
        assert.equal(received.length, 2);
        assert.equal(source.tokenRequests, 2);
    });

    it('a token failure is the attempt result with the token endpoint verdict, and nothing was sent to the target', async () => {
        provider.refuseWith = { status: 401, error: 'invalid_client', description: 'disabled' };
        const { result, verdict } = await run(tokens());
        assert.equal(result.error?.code, 'auth');
        assert.deepEqual(verdict, { kind: 'final' });
        assert.equal(received.length, 0);
    });

    it('{{oauth.instanceUrl}} takes the scheme and host from the instance_url of the token answer', async () => {
        accepted = () => true;
        provider.instanceUrl = targetUrl;
        const { result } = await run(tokens(), '{{oauth.instanceUrl}}/services/data/v62.0/sobjects/Task/{{callId}}');
        assert.equal(result.response?.statusCode, 200);
        assert.equal(result.request?.url, `${targetUrl}/services/data/v62.0/sobjects/Task/c-1`);
    });

    it('{{oauth.instanceUrl}} is refused without OAuth 2.0 and in any other place of the host', () => {
        assert.throws(() => compileRequest({ url: '{{oauth.instanceUrl}}/x', authType: 'bearer' }, { token: 't' }), /only available with OAuth 2.0/);
        assert.throws(
            () => compileRequest({ url: 'https://{{oauth.instanceUrl}}/x', authType: 'oauth2', oauth2: 'c' }),
            /placeholders are not allowed in the scheme, host or port/,
        );
        assert.throws(() => compileRequest({ url: 'https://x/y', authType: 'oauth2' }), /oauth2: OAuth 2.0 authentication needs/);
        const builder = compileRequest({ url: '{{oauth.instanceUrl}}/x/{{callId}}', authType: 'oauth2', oauth2: 'c' });
        assert.throws(() => builder.build(call, undefined, { accessToken: 't', instanceUrl: 'https://evil.example/path' }), /not a plain http\(s\) origin/);
        assert.throws(() => builder.build(call, undefined, { accessToken: 't' }), /had no valid instance_url/);
        // The Preview (no token yet) shows where the instance URL goes, and that the token is added when sent.
        const preview = builder.build(call);
        assert.equal(preview.url, '{{oauth.instanceUrl}}/x/c-1');
        assert.equal(preview.headers.Authorization, 'Bearer ***');
    });
});

describe('OAuth 2.0 rotated refresh token file', () => {
    let userDir: string;
    beforeEach(() => {
        userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-oauth2-'));
    });
    afterEach(() => fs.rmSync(userDir, { recursive: true, force: true }));

    it('keeps the rotated token encrypted and returns it while the flow still holds the token it replaced', async () => {
        const directory = nodeStateDirectory(userDir, 'oauth2', 'cfg/../1');
        assert.equal(path.dirname(directory), path.join(userDir, 'ccaas-web-service', 'oauth2'));
        const file = new RefreshTokenFile(directory, 'node-red credential secret');
        await file.write('rotated-1', 'from-flow');
        await file.write('rotated-2', 'from-flow');
        assert.ok(!fs.readFileSync(file.path, 'utf8').includes('rotated-2'));
        assert.equal(new RefreshTokenFile(directory, 'node-red credential secret').read('from-flow'), 'rotated-2');
        // After a deploy that wrote the rotated token into the flow's credentials.
        assert.equal(new RefreshTokenFile(directory, 'node-red credential secret').read('rotated-2'), 'rotated-2');
    });

    it('the user entering a new refresh token wins over the stored one, which is removed', async () => {
        const directory = nodeStateDirectory(userDir, 'oauth2', 'cfg');
        const file = new RefreshTokenFile(directory, 'k');
        await file.write('rotated', 'old-from-flow');
        assert.equal(file.read('entered-by-user'), 'entered-by-user');
        assert.equal(fs.existsSync(file.path), false);
    });

    it('a file that cannot be decrypted (another credential secret) is reported and the flow token used', async () => {
        const directory = nodeStateDirectory(userDir, 'oauth2', 'cfg');
        await new RefreshTokenFile(directory, 'one').write('rotated', 'flow');
        const problems: TokenFileProblem[] = [];
        assert.equal(
            new RefreshTokenFile(directory, 'two').read('flow', (report) => problems.push(report)),
            'flow',
        );
        assert.deepEqual(problems, [{ kind: 'undecryptable', path: path.join(directory, 'refresh-token.json') }]);
    });
});

describe('OAuth 2.0 client authentication encoding (RFC 6749 2.3.1, Appendix B)', () => {
    // Any id and secret, ':' '+' '%' '&' spaces and non-ASCII included.
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });
    const formDecode = (part: string): string => decodeURIComponent(part.replace(/\+/g, ' '));

    it('basic: the provider gets the id and secret back by splitting at the one ":" and form-decoding each part', () => {
        fc.assert(
            fc.property(text, text, (clientId, clientSecret) => {
                const request = tokenRequest(
                    { tokenUrl: 'https://login.example/token', grant: 'client_credentials', scope: '', audience: '', clientAuth: 'basic' },
                    { clientId, clientSecret },
                );
                const decoded = Buffer.from(request.headers.Authorization!.replace(/^Basic /, ''), 'base64').toString('utf8');
                const parts = decoded.split(':');
                assert.equal(parts.length, 2);
                assert.deepEqual(parts.map(formDecode), [clientId, clientSecret]);
                assert.equal(new URLSearchParams(request.body!.toString()).get('client_secret'), null);
                for (const secret of [clientSecret, request.headers.Authorization!.slice(6)]) assert.ok(request.secrets.includes(secret));
            }),
            { numRuns: 200 },
        );
    });

    it('body: the form carries the id, secret and refresh token exactly', () => {
        fc.assert(
            fc.property(text, text, text, (clientId, clientSecret, refreshToken) => {
                const request = tokenRequest(
                    { tokenUrl: 'https://login.example/token', grant: 'refresh_token', scope: 'a b', audience: '', clientAuth: 'body' },
                    { clientId, clientSecret, refreshToken },
                );
                const form = new URLSearchParams(request.body!.toString());
                assert.deepEqual(
                    [form.get('grant_type'), form.get('client_id'), form.get('client_secret'), form.get('refresh_token'), form.get('scope')],
                    ['refresh_token', clientId, clientSecret, refreshToken, 'a b'],
                );
                assert.equal(request.headers.Authorization, undefined);
                assert.equal(request.headers['content-length'], String(request.body!.length));
            }),
            { numRuns: 200 },
        );
    });
});
