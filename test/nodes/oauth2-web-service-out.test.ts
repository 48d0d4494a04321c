// "web service out" with a ccaas-oauth2 config node (issue 20), in node-red-node-test-helper's runtime, against a
// real OAuth 2.0 server and a target on 127.0.0.1 that only accepts the token the server issued last.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sampleCall } from '../../src/call/sample-call';
import { catchNode, freshUserDir, helper, nodeModule, statusNode } from '../support/node-red-runtime';
import { startProvider, type Provider } from '../support/oauth2-provider';

const nodes = [nodeModule('ccaas-oauth2'), nodeModule('web-service-out'), catchNode, statusNode];

type Msg = Record<string, any>;

const catalog = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../nodes/locales/en-US/web-service-out.json'), 'utf8'));

interface Target {
    url: string;
    /** The bearer token of each request, in order. */
    tokens: string[];
    paths: string[];
    /** Whether a token is let in; by default only the one the provider issued last. */
    accepts: (token: string) => boolean;
    close(): Promise<void>;
}

async function startTarget(provider: Provider): Promise<Target> {
    const target: Target = {
        url: '',
        tokens: [],
        paths: [],
        accepts: (token) => token !== '' && token === provider.issued.at(-1),
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
    const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
            const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
            target.tokens.push(token);
            target.paths.push(String(req.url));
            res.writeHead(target.accepts(token) ? 200 : 401, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return target;
}

function flow(config: Record<string, unknown>, out: Record<string, unknown>): object[] {
    return [
        { id: 'tab', type: 'tab' },
        { id: 'oa', type: 'ccaas-oauth2', name: 'crm', grant: 'client_credentials', clientAuth: 'basic', scope: '', audience: '', ...config },
        {
            id: 'ws',
            z: 'tab',
            type: 'web-service-out',
            method: 'POST',
            bodyType: 'none',
            params: [],
            headers: [],
            form: [],
            timeout: 5,
            retries: '',
            authType: 'oauth2',
            oauth2: 'oa',
            wires: [['out']],
            ...out,
        },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['ws'], uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
        { id: 'watch', z: 'tab', type: 'status', scope: ['ws'], wires: [['statuses']] },
        { id: 'statuses', z: 'tab', type: 'helper' },
    ];
}

function collect(id: string, count: number): Promise<Msg[]> {
    return new Promise((resolve) => {
        const seen: Msg[] = [];
        const node = helper.getNode(id);
        const take = (msg: Msg): void => {
            seen.push(msg);
            if (seen.length === count) {
                node.removeListener('input', take);
                resolve(seen);
            }
        };
        node.on('input', take);
    });
}

/** Every byte the nodes wrote under the user directory (the outbox log among them). */
function filesUnder(directory: string): string {
    if (!fs.existsSync(directory)) return '';
    return fs
        .readdirSync(directory, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name), 'latin1'))
        .join('\n');
}

describe('web service out with OAuth 2.0 (ccaas-oauth2)', () => {
    let provider: Provider;
    let target: Target;
    let userDir: string;
    let credentials: Record<string, Record<string, string>>;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(async () => {
        userDir = freshUserDir();
        provider = await startProvider();
        target = await startTarget(provider);
        credentials = { oa: { clientId: provider.clientId, clientSecret: provider.clientSecret } };
    });
    afterEach(async () => {
        await helper.unload();
        await target.close();
        await provider.stop();
    });

    function assertNothingSecret(...shown: unknown[]): void {
        const everything = [...shown.map((value) => JSON.stringify(value)), JSON.stringify(helper.log().args), filesUnder(userDir)].join('\n');
        for (const secret of [provider.clientSecret, encodeURIComponent(provider.clientSecret), ...provider.issued, provider.refreshToken]) {
            assert.ok(!everything.includes(secret), `leaked ${secret.slice(0, 12)}...`);
        }
    }

    it('sends the issued token as bearer, masks it, and keeps it out of msg, the log and the outbox files', async () => {
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, { url: `${target.url}/calls/{{callId}}` }), credentials);
        const delivered = collect('out', 3);
        for (const callId of ['a', 'b', 'c']) helper.getNode('ws').receive({ call: { ...sampleCall(), callId } });
        const messages = await delivered;
        assert.deepEqual(target.tokens, [provider.issued[0], provider.issued[0], provider.issued[0]]);
        assert.equal(provider.seen.length, 1);
        assert.match(String(provider.seen[0]!.headers.authorization), /^Basic /);
        for (const msg of messages) {
            assert.equal(msg.statusCode, 200);
            assert.equal(msg.request.headers.Authorization, 'Bearer ***');
            assert.equal(msg.delivery.attempts, 1);
        }
        assert.ok(filesUnder(userDir).length > 0, 'the outbox wrote its log');
        assertNothingSecret(messages);
    });

    it('a rotated refresh token that cannot be kept (no credential secret) is said once, in the words of the catalog', async () => {
        credentials.oa = { ...credentials.oa, refreshToken: provider.refreshToken };
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl, grant: 'refresh_token' }, { url: `${target.url}/calls/{{callId}}` }), credentials);
        const delivered = collect('out', 1);
        helper.getNode('ws').receive({ call: sampleCall() });
        await delivered;
        assert.equal(provider.seen.length, 1, 'one refresh');
        const warnings = helper
            .log()
            .args.map((args: unknown[]) => args[0] as { level?: number; msg?: unknown })
            .filter((entry: { level?: number }) => entry.level === helper.log().WARN)
            .map((entry: { msg?: unknown }) => String(entry.msg));
        const rotated = warnings.filter((text: string) => /rotated the refresh token/.test(text));
        assert.equal(rotated.length, 1, warnings.join(' | '));
        assert.match(
            rotated[0]!,
            /^the provider rotated the refresh token, but Node-RED has no (credential secret to encrypt it with|user directory to keep it in): it is kept in memory only until the next deploy$/,
        );
        assertNothingSecret();
    });

    it('a burst of 50 requests causes exactly one token request', async () => {
        await helper.load(
            nodes,
            flow({ tokenUrl: provider.tokenUrl, clientAuth: 'body' }, { url: `${target.url}/calls/{{callId}}`, concurrency: 50 }),
            credentials,
        );
        const delivered = collect('out', 50);
        for (let index = 0; index < 50; index++) helper.getNode('ws').receive({ call: { ...sampleCall(), callId: `burst-${index}` } });
        const messages = await delivered;
        assert.equal(provider.seen.length, 1);
        assert.equal(provider.seen[0]!.form.client_secret, provider.clientSecret);
        assert.equal(target.tokens.length, 50);
        assert.ok(messages.every((msg) => msg.statusCode === 200));
    });

    it('401 -> a new token and one more send, counted in msg.delivery.attempts', async () => {
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, { url: `${target.url}/calls/{{callId}}` }), credentials);
        const first = collect('out', 1);
        helper.getNode('ws').receive({ call: { ...sampleCall(), callId: 'warm' } });
        await first;
        // The target revokes the cached token: the next request finds out by a 401.
        const revoked = provider.issued[0]!;
        target.accepts = (token) => token !== revoked;
        const second = collect('out', 1);
        helper.getNode('ws').receive({ call: { ...sampleCall(), callId: 'after-revoke' } });
        const [msg] = await second;
        assert.equal(msg!.statusCode, 200);
        assert.equal(msg!.delivery.attempts, 2);
        assert.deepEqual(target.tokens, [revoked, revoked, provider.issued[1]]);
        assert.equal(provider.seen.length, 2);
    });

    it('401, 401 -> final http-4xx on the Catch node after exactly one new token', async () => {
        target.accepts = () => false;
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, { url: `${target.url}/calls/{{callId}}`, retries: '1s' }), credentials);
        const caught = collect('caught', 1);
        helper.getNode('ws').receive({ call: sampleCall() });
        const [failed] = await caught;
        assert.equal(failed!.error.code, 'http-4xx');
        assert.equal(failed!.statusCode, 401);
        assert.equal(failed!.delivery.attempts, 2);
        assert.equal(target.tokens.length, 2);
        assert.equal(provider.seen.length, 2);
        assertNothingSecret(failed);
    });

    it('invalid_client -> a final, Catch-able auth error naming the provider error, and a status asking for the credential', async () => {
        credentials.oa!.clientSecret = 'not the secret';
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, { url: `${target.url}/calls/{{callId}}`, retries: '1s, 1s' }), credentials);
        const caught = collect('caught', 1);
        const statuses = collect('statuses', 2);
        helper.getNode('ws').receive({ call: sampleCall() });
        const [failed] = await caught;
        assert.equal(failed!.error.code, 'auth');
        assert.match(failed!.error.message, /invalid_client \(client authentication failed\)/);
        assert.equal(failed!.delivery.attempts, 1, 'an auth error is final: no retries');
        assert.equal(target.tokens.length, 0, 'nothing was sent to the target without a token');
        assert.equal(provider.seen.length, 1);
        const shown = (await statuses).map((msg) => String(msg.status.text));
        // The node test runtime translates RED._ from the catalog, as Node-RED does: the status is the words the user reads.
        assert.ok(
            shown.some((text) => /^OAuth 2\.0 credential needs attention · \d\d:\d\d:\d\d$/.test(text)),
            shown.join(' | '),
        );
        assert.equal(catalog['web-service-out'].status.auth, 'OAuth 2.0 credential needs attention');
        assert.ok(!JSON.stringify(helper.log().args).includes('not the secret'));
    });

    it('a token endpoint that is down is retried under the schedule, and the request delivered once it is up', async () => {
        provider.failNext = { count: 2, status: 503 };
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, { url: `${target.url}/calls/{{callId}}`, retries: '1s, 1s, 1s' }), credentials);
        const delivered = collect('out', 1);
        helper.getNode('ws').receive({ call: sampleCall() });
        const [msg] = await delivered;
        assert.equal(msg!.statusCode, 200);
        assert.equal(msg!.delivery.attempts, 3);
        assert.equal(provider.seen.length, 3);
        assert.equal(target.tokens.length, 1);
    });

    it('{{oauth.instanceUrl}} sends to the instance_url of the token answer', async () => {
        provider.instanceUrl = target.url;
        await helper.load(
            nodes,
            flow({ tokenUrl: provider.tokenUrl }, { url: '{{oauth.instanceUrl}}/services/data/v62.0/sobjects/Task/{{callId}}' }),
            credentials,
        );
        const delivered = collect('out', 1);
        helper.getNode('ws').receive({ call: { ...sampleCall(), callId: 'sf-1' } });
        const [msg] = await delivered;
        assert.equal(msg!.statusCode, 200);
        assert.deepEqual(target.paths, ['/services/data/v62.0/sobjects/Task/sf-1']);
        assert.equal(msg!.request.url, `${target.url}/services/data/v62.0/sobjects/Task/sf-1`);
    });

    it('the Test gets a token first and shows that step masked, the request after it', async () => {
        const out = { url: `${target.url}/calls/{{callId}}` };
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, out), credentials);
        const config = { id: 'ws', method: 'POST', bodyType: 'none', authType: 'oauth2', oauth2: 'oa', ...out };
        const answer = await helper.request().post('/web-service-out/test').send({ id: 'ws', config, send: true }).expect(200);
        assert.equal(answer.body.token.tokenUrl, provider.tokenUrl);
        assert.equal(answer.body.token.accessToken, '***');
        assert.equal(answer.body.token.fetched, '1 token request');
        assert.equal(answer.body.request.headers.Authorization, 'Bearer ***');
        assert.equal(answer.body.response.statusCode, 200);
        assert.equal(target.tokens[0], provider.issued[0]);
        // Another URL would receive the deployed token: refused, as for the node's other stored secrets.
        const elsewhere = await helper
            .request()
            .post('/web-service-out/test')
            .send({ id: 'ws', config: { ...config, url: 'http://127.0.0.1:9/x' }, send: true })
            .expect(200);
        assert.equal(elsewhere.body.code, 'config');
        assert.match(elsewhere.body.error, /only sent to/);
        assertNothingSecret(answer.body, elsewhere.body);
    });

    it('the Preview shows where the token and the instance URL go without a token request, deployed configuration or not', async () => {
        await helper.load(nodes, flow({ tokenUrl: provider.tokenUrl }, { url: `${target.url}/x` }), credentials);
        const config = {
            method: 'POST',
            bodyType: 'none',
            authType: 'oauth2',
            oauth2: 'not-deployed',
            url: '{{oauth.instanceUrl}}/services/data/v62.0/sobjects/Task/{{callId}}',
        };
        const preview = await helper
            .request()
            .post('/web-service-out/test')
            .send({ config, call: { callId: 'p-1' }, send: false })
            .expect(200);
        assert.equal(preview.body.error, undefined, preview.body.error);
        assert.equal(preview.body.request.url, '{{oauth.instanceUrl}}/services/data/v62.0/sobjects/Task/p-1');
        assert.equal(preview.body.request.headers.Authorization, 'Bearer ***');
        assert.equal(provider.seen.length, 0);
        const test = await helper
            .request()
            .post('/web-service-out/test')
            .send({ config, call: { callId: 'p-1' }, send: true })
            .expect(200);
        assert.match(test.body.error, /oauth2: the OAuth 2\.0 configuration not-deployed is not deployed/);
    });

    it('a web service out whose OAuth 2.0 configuration cannot work says so on deploy, naming the field', async () => {
        await helper.load(nodes, flow({ tokenUrl: '' }, { url: `${target.url}/x` }), credentials);
        const caught = collect('caught', 1);
        helper.getNode('ws').receive({ call: sampleCall() });
        const [failed] = await caught;
        assert.equal(failed!.error.code, 'config');
        assert.match(failed!.error.message, /oauth2: the OAuth 2\.0 configuration oa cannot work: tokenUrl: the token URL is empty/);
    });
});
