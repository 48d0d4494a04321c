// The deliveries admin endpoints and the metrics of web service out in a real Node-RED with admin authentication:
// a CRM that answers 400 to every request, then is fixed. A read-only user sees the dead letters and the metrics but
// cannot replay; an admin replays them all, each arriving once under its original key; the metrics parse as
// Prometheus text and count what the CRM received.
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { startNodeRed, type NodeRedProcess } from '../support/node-red-process';
import { startReceiver, type Receiver } from '../support/scripted-receiver';
import { until } from '../support/wait';

const TOKEN = 'crm-token-never-shown';

async function call(red: NodeRedProcess, method: string, path: string, token?: string, body?: unknown): Promise<Response> {
    return fetch(`${red.url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
    });
}

/** The value of one node's sample of a metric family, parsed back from the text. */
function sample(text: string, name: string, nodeId = 'ws'): number {
    const family = parsePrometheusTextFormat(text).find((candidate) => candidate.name === name);
    assert.ok(family, `${name} is in the metrics`);
    const found = family.metrics.find((metric) => metric.labels?.node_id === nodeId);
    assert.ok(found, `${name} has a sample for ${nodeId}`);
    return Number(found.value ?? found.count);
}

describe('web service out: deliveries endpoints and metrics (real Node-RED, admin auth)', function () {
    this.timeout(90_000);
    let red: NodeRedProcess;
    let receiver: Receiver;
    let admin: string;
    let viewer: string;

    before(async () => {
        receiver = await startReceiver();
        receiver.answer = () => ({ status: 400 });
        red = await startNodeRed({
            settings: adminAuthSettings(['web-service-out'], { admin: '*', viewer: 'read' }),
        });
        admin = await adminToken(red, 'admin', '*');
        viewer = await adminToken(red, 'viewer', 'read');
        const deployed = await call(red, 'POST', '/flows', admin, [
            { id: 'tab', type: 'tab', label: 'dead letters' },
            { id: 'feed', z: 'tab', type: 'http in', url: '/feed', method: 'post', wires: [['unwrap']] },
            {
                id: 'unwrap',
                z: 'tab',
                type: 'change',
                rules: [
                    { t: 'set', p: 'call', pt: 'msg', to: 'payload.call', tot: 'msg' },
                    { t: 'set', p: 'payload', pt: 'msg', to: 'payload.payload', tot: 'msg' },
                ],
                wires: [['ws', 'answer']],
            },
            { id: 'answer', z: 'tab', type: 'http response', statusCode: '202', wires: [] },
            {
                id: 'ws',
                z: 'tab',
                type: 'web-service-out',
                name: 'CRM "calls"',
                url: `${receiver.url}/hook`,
                method: 'POST',
                bodyType: 'custom',
                contentType: 'application/json',
                body: '{"label":"{{callerName}}"}',
                authType: 'bearer',
                params: [],
                headers: [],
                form: [],
                timeout: 5,
                retries: '',
                wires: [[]],
                credentials: { token: TOKEN },
            },
        ]);
        assert.equal(deployed.status, 204, await deployed.text());
    });
    after(async () => {
        await red?.stop();
        await receiver?.close();
    });

    it('a read-only user sees the dead letters and the metrics but cannot replay; an admin replays them, once each, with their keys', async () => {
        for (const label of ['A', 'B', 'C']) {
            const feed = () => call(red, 'POST', '/feed', undefined, { call: { callId: `call-${label}`, event: 'complete', callerName: label }, payload: {} });
            let fed = await feed();
            // Until the deployed flow has started, its http in is not there yet (404: nothing was taken).
            for (let tries = 0; tries < 100 && fed.status === 404; tries++) fed = await feed();
            assert.equal(fed.status, 202);
        }
        await until(() => receiver.received.length === 3, 'three refused requests', 10_000);
        const failedKeys = receiver.received.map((request) => request.key).sort();

        assert.equal((await call(red, 'GET', '/web-service-out/deliveries/ws')).status, 401, 'nobody signed in');
        let detail: { deadLetterList: Array<{ key: string; code: string; status: number }>; queued: unknown[] } = { deadLetterList: [], queued: [] };
        for (let tries = 0; tries < 100 && detail.deadLetterList.length < 3; tries++) {
            const answer = await call(red, 'GET', '/web-service-out/deliveries/ws', viewer);
            assert.equal(answer.status, 200);
            detail = (await answer.json()) as typeof detail;
        }
        assert.deepEqual(
            detail.deadLetterList.map((item) => [item.code, item.status]),
            [
                ['http-4xx', 400],
                ['http-4xx', 400],
                ['http-4xx', 400],
            ],
        );
        assert.deepEqual(detail.deadLetterList.map((item) => item.key).sort(), failedKeys);
        // Each row says where its request goes, as the node's settings build it now.
        for (const item of detail.deadLetterList as unknown as Array<{ method: string; url: string }>)
            assert.deepEqual([item.method, item.url], ['POST', `${receiver.url}/hook`]);

        // A page of a long list: the first rows, and the count of all.
        const page = (await (await call(red, 'GET', '/web-service-out/deliveries/ws?limit=2', viewer)).json()) as {
            deadLetterList: unknown[];
            deadLetters: number;
            queuedCount: number;
        };
        assert.deepEqual([page.deadLetterList.length, page.deadLetters, page.queuedCount], [2, 3, 0]);
        for (const limit of ['0', '1001', 'ten']) {
            const wrong = await call(red, 'GET', `/web-service-out/deliveries/ws?limit=${limit}`, viewer);
            assert.equal(wrong.status, 400);
            assert.match(((await wrong.json()) as { error: string }).error, new RegExp(`^limit: must be a whole number from 1 to 1000, not "${limit}"`));
        }

        // Opened, a dead letter shows the request it makes, with the token masked.
        const opened = await call(red, 'GET', `/web-service-out/deliveries/ws/${detail.deadLetterList[0]!.key}`, viewer);
        const shown = await opened.text();
        assert.equal(opened.status, 200, shown);
        assert.doesNotMatch(shown, new RegExp(TOKEN));
        const view = JSON.parse(shown) as { request: { url: string; headers: Record<string, string> }; deadLetter: { response: { statusCode: number } } };
        assert.equal(view.request.url, `${receiver.url}/hook`);
        assert.equal(view.request.headers.Authorization ?? view.request.headers.authorization, 'Bearer ***');
        assert.equal(view.deadLetter.response.statusCode, 400);

        const refused = await call(red, 'POST', '/web-service-out/deliveries/ws/replay-all', viewer, {});
        assert.equal(refused.status, 403, 'a read-only user cannot act');
        const refusedOne = await call(red, 'POST', `/web-service-out/deliveries/ws/${failedKeys[0]}/discard`, viewer, {});
        assert.equal(refusedOne.status, 403);

        const before = await call(red, 'GET', '/web-service-out/metrics', viewer);
        assert.equal(before.status, 200);
        assert.match(before.headers.get('content-type') ?? '', /^text\/plain;.*\bversion=0\.0\.4\b/);
        const beforeText = await before.text();
        assert.deepEqual(
            [
                'ccaas_web_service_out_failed_total',
                'ccaas_web_service_out_dead_lettered_total',
                'ccaas_web_service_out_dead_letters',
                'ccaas_web_service_out_delivered_total',
            ].map((name) => sample(beforeText, name)),
            [3, 3, 3, 0],
        );
        const labels = parsePrometheusTextFormat(beforeText).find((family) => family.name === 'ccaas_web_service_out_failed_total')!.metrics[0]!.labels;
        assert.deepEqual(labels, { node_id: 'ws', node_name: 'CRM "calls"' });

        receiver.answer = () => ({ status: 200 });
        const replayed = await call(red, 'POST', '/web-service-out/deliveries/ws/replay-all', admin, {});
        assert.equal(replayed.status, 200);
        assert.deepEqual(await replayed.json(), { replayed: 3 });
        await until(() => receiver.received.filter((request) => request.status === 200).length === 3, 'three delivered', 10_000);
        const delivered = receiver.received.filter((request) => request.status === 200);
        assert.deepEqual(delivered.map((request) => request.key).sort(), failedKeys, 'their original keys');
        assert.equal(receiver.received.length, 6, 'each once');

        // A recent delivery opens as it was sent, the token masked, with the CRM's answer.
        let sent: { request?: { headers: Record<string, string> }; delivered?: { statusCode: number } } = {};
        for (let tries = 0; tries < 100 && !sent.delivered; tries++) {
            const answer = await call(red, 'GET', `/web-service-out/deliveries/ws/${failedKeys[0]}`, viewer);
            sent = answer.status === 200 ? ((await answer.json()) as typeof sent) : {};
        }
        assert.equal(sent.delivered?.statusCode, 200);
        assert.equal(sent.request?.headers.Authorization ?? sent.request?.headers.authorization, 'Bearer ***');

        let afterText = '';
        for (let tries = 0; tries < 100; tries++) {
            afterText = await (await call(red, 'GET', '/web-service-out/metrics', viewer)).text();
            if (sample(afterText, 'ccaas_web_service_out_delivered_total') === 3) break;
        }
        assert.equal(sample(afterText, 'ccaas_web_service_out_delivered_total'), delivered.length, 'what the CRM received');
        assert.equal(sample(afterText, 'ccaas_web_service_out_replayed_total'), 3);
        assert.equal(sample(afterText, 'ccaas_web_service_out_dead_letters'), 0);
        assert.equal(sample(afterText, 'ccaas_web_service_out_queued_requests'), 0);
        const histogram = parsePrometheusTextFormat(afterText).find((family) => family.name === 'ccaas_web_service_out_delivery_seconds')!;
        assert.equal(histogram.type, 'HISTOGRAM');
        // The parser reads a labelled histogram's buckets (not its _count): the +Inf bucket counts every delivery.
        assert.equal(Number(histogram.metrics[0]!.buckets?.['+Inf']), 3);
    });
});
