// The package's computing admin endpoints behind a real Node-RED process with admin authentication on (the test
// helper stubs permission checks out): a read-only user gets 403 and nothing is computed, a body over the bound
// gets 413, an exploding template gets a clear render error, and the runtime still answers afterwards.
import assert from 'node:assert/strict';
import http from 'node:http';
import { MAX_ADMIN_BODY_BYTES } from '../../src/nodes/shared/admin-request';
import { MAX_RENDER_STEPS } from '../../src/placeholders/template';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { startNodeRed, type NodeRedProcess } from '../support/node-red-process';

const NODES = ['call-event-in', 'criteria-filter', 'placeholder-template', 'web-service-out'];

function post(red: NodeRedProcess, route: string, body: unknown, bearer?: string): Promise<Response> {
    return fetch(`${red.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify(body),
    });
}

/** A POST without content-length (chunked), so only the size of the parsed body can refuse it. */
function postChunked(red: NodeRedProcess, route: string, body: unknown, bearer: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const request = http.request(
            `${red.url}${route}`,
            { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` } },
            (response) => {
                let text = '';
                response.setEncoding('utf8');
                response.on('data', (chunk: string) => (text += chunk));
                response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
            },
        );
        request.on('error', reject);
        const text = JSON.stringify(body);
        for (let at = 0; at < text.length; at += 64 * 1024) request.write(text.slice(at, at + 64 * 1024));
        request.end();
    });
}

// The 790-byte preview of issue 15: nested sections over a list the request itself supplies.
const EXPLODING = `${'{{#items}}'.repeat(12)}{{callId}}${'{{/items}}'.repeat(12)}`;
const EXPLODING_CALL = { callId: 'boom', items: Array.from({ length: 12 }, (_, index) => index) };

const TEST_CONFIG = {
    url: 'http://127.0.0.1:9/{{callId}}',
    method: 'POST',
    bodyType: 'custom',
    bodyFormat: 'json',
    body: '{"id":"{{callId}}"}',
    authType: 'none',
};

/** Each computing endpoint with a body a writer would send. */
const ENDPOINTS: Array<{ route: string; name: string; body: object }> = [
    { route: '/placeholder-template/preview', name: '/placeholder-template/preview', body: { template: '{"id":"{{callId}}"}', format: 'json' } },
    { route: '/criteria-filter/check', name: '/criteria-filter/check', body: { rules: [{ field: 'direction', op: 'eq', value: 'Inbound' }] } },
    { route: '/web-service-out/test', name: '/web-service-out/test', body: { config: TEST_CONFIG, send: false } },
    { route: '/call-event-in/in1/simulate', name: '/call-event-in/:id/simulate', body: {} },
];

describe('admin endpoints: permissions, body bound, render budget (real Node-RED)', function () {
    this.timeout(60_000);
    let red: NodeRedProcess;
    let admin: string;
    let viewer: string;

    before(async () => {
        red = await startNodeRed({
            flows: [
                { id: 'tab', type: 'tab', label: 't' },
                { id: 'in1', z: 'tab', type: 'call-event-in', path: '/ccaas/hostile', events: [], wires: [[]] },
            ],
            settings: adminAuthSettings(NODES, { admin: '*', viewer: 'read' }),
        });
        admin = await adminToken(red, 'admin', '*');
        viewer = await adminToken(red, 'viewer', 'read');
    });
    after(async () => {
        await red?.stop();
    });

    it('a read-only user gets 403 from every computing endpoint, anonymous gets 401', async () => {
        for (const { route, body } of ENDPOINTS) {
            assert.equal((await post(red, route, body, viewer)).status, 403, route);
            assert.equal((await post(red, route, body)).status, 401, route);
        }
        // The exploding preview from a read-only user is refused before any rendering.
        const refused = await post(red, '/placeholder-template/preview', { template: EXPLODING, call: EXPLODING_CALL }, viewer);
        assert.equal(refused.status, 403);
        assert.equal(await refused.text(), '');
        assert.doesNotMatch(red.log(), /rendering stopped/);
    });

    it('a read-only user still reads the constant tables', async () => {
        for (const route of ['/ccaas-web-service/call-fields', '/criteria-filter/operators']) {
            const response = await fetch(`${red.url}${route}`, { headers: { authorization: `Bearer ${viewer}` } });
            assert.equal(response.status, 200, route);
        }
    });

    it('a writer gets the answer of each endpoint', async () => {
        const answers = await Promise.all(ENDPOINTS.map(async ({ route, body }) => ({ route, response: await post(red, route, body, admin) })));
        for (const { route, response } of answers) assert.equal(response.status, 200, route);
        const [preview, check, test, simulate] = await Promise.all(answers.map(({ response }) => response.json() as Promise<Record<string, unknown>>));
        assert.match(String(preview.output), /"id": "1e0c9a8e/);
        assert.deepEqual(check, { problems: [] });
        assert.match(String((test.request as { url: string }).url), /^http:\/\/127\.0\.0\.1:9\/1e0c9a8e/);
        assert.equal(typeof simulate.callId, 'string');
    });

    it('a body over the bound gets 413 naming the route and the bound, declared or not', async () => {
        const padding = 'x'.repeat(MAX_ADMIN_BODY_BYTES);
        for (const { route, name, body } of ENDPOINTS) {
            const response = await post(red, route, { ...body, padding }, admin);
            assert.equal(response.status, 413, route);
            const answer = (await response.json()) as { error: string; code: string };
            assert.equal(answer.code, 'input');
            assert.match(
                answer.error,
                new RegExp(`^${name.replace(/\//g, '\\/')}: the request body is \\d+ bytes, over the limit of ${MAX_ADMIN_BODY_BYTES} bytes$`),
            );
        }
        const chunked = await postChunked(
            red,
            '/placeholder-template/preview',
            { template: '{{callId}}', call: { callId: 'c', tags: Array.from({ length: 40_000 }, () => 'tag-tag') } },
            admin,
        );
        assert.equal(chunked.status, 413);
        assert.match(chunked.body, /over the limit of 262144 bytes/);
    });

    it('the exploding template gets a clear render error from the preview and the Test, promptly', async () => {
        const preview = await post(red, '/placeholder-template/preview', { template: EXPLODING, format: 'text', call: EXPLODING_CALL }, admin);
        assert.equal(preview.status, 200);
        assert.deepEqual(await preview.json(), {
            error: `template of call boom: rendering stopped: over the budget of ${MAX_RENDER_STEPS} steps (tokens rendered and sections entered); nested sections over a list multiply`,
            code: 'render',
        });
        const test = await post(
            red,
            '/web-service-out/test',
            { config: { ...TEST_CONFIG, body: EXPLODING, bodyFormat: 'text' }, call: EXPLODING_CALL, send: false },
            admin,
        );
        assert.equal(test.status, 200);
        const answer = (await test.json()) as { error: string; code: string };
        assert.equal(answer.code, 'render');
        assert.match(answer.error, /rendering stopped: over the budget of 100000 steps/);
    });

    it('the rule check names a pattern over the step budget', async () => {
        const response = await post(red, '/criteria-filter/check', { rules: [{ field: 'agent', op: 'regex', value: '((a{100}){100}){100}' }] }, admin);
        const answer = (await response.json()) as { problems: Array<{ rule: number; message: string }> };
        assert.equal(answer.problems.length, 1);
        assert.equal(answer.problems[0].rule, 1);
        assert.match(answer.problems[0].message, /^rule 1: pattern too complex: over 122 instructions x 4097 input positions = .* the budget is 500000/);
    });

    it('the runtime still answers afterwards: a normal preview, a call event, the process alive', async () => {
        const preview = await post(red, '/placeholder-template/preview', { template: 'hello {{callerName}}', format: 'text' }, admin);
        assert.deepEqual(await preview.json(), { output: 'hello Jane Roe', unknownNames: [] });
        const event = await fetch(`${red.url}/ccaas/hostile`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([{ type: 'presenting', callId: 'after-1', eventId: 'e1', timestamp: Date.now(), direction: 'Inbound' }]),
        });
        assert.ok(event.status < 300, `call event answered ${event.status}: ${await event.text()}`);
        assert.doesNotThrow(() => process.kill(red.pid, 0));
        assert.doesNotMatch(red.log(), /heap out of memory|FATAL ERROR/);
    });
});
