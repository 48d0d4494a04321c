// The editor's deliveries sidebar against a real Node-RED: a web service out whose CRM (on 127.0.0.1) refuses every
// request with 400 keeps three dead letters; the tab shows them, opens one, and once the CRM is fixed "replay all"
// sends each once more under its key, the tab following through the runtime's comms messages.
import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { startReceiver, type Receiver } from '../support/scripted-receiver';
import { until } from '../support/wait';

describe('editor: deliveries sidebar', function () {
    this.timeout(120_000);
    let receiver: Receiver;
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        receiver = await startReceiver();
        receiver.answer = () => ({ status: 400 });
        session = await openEditorSession({ width: 1400, height: 1000 });
        ({ editor } = session);
        const deployed = await fetch(`${session.nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([
                { id: 'tab', type: 'tab', label: 'dead letters' },
                { id: 'feed', z: 'tab', type: 'http in', url: '/feed', method: 'post', x: 120, y: 100, wires: [['unwrap']] },
                {
                    id: 'unwrap',
                    z: 'tab',
                    type: 'change',
                    rules: [
                        { t: 'set', p: 'call', pt: 'msg', to: 'payload.call', tot: 'msg' },
                        { t: 'set', p: 'payload', pt: 'msg', to: 'payload.payload', tot: 'msg' },
                    ],
                    x: 300,
                    y: 100,
                    wires: [['ws', 'answer']],
                },
                { id: 'answer', z: 'tab', type: 'http response', statusCode: '202', x: 500, y: 160, wires: [] },
                {
                    id: 'ws',
                    z: 'tab',
                    type: 'web-service-out',
                    name: 'CRM calls',
                    url: `${receiver.url}/hook`,
                    method: 'POST',
                    bodyType: 'custom',
                    contentType: 'application/json',
                    body: '{"label":"{{callerName}}"}',
                    authType: 'none',
                    params: [],
                    headers: [],
                    form: [],
                    timeout: 5,
                    retries: '',
                    x: 500,
                    y: 100,
                    wires: [[]],
                },
            ]),
        });
        assert.equal(deployed.status, 204, await deployed.text());
        // The editor opened on the empty flows: loaded again, it shows the deployed ones.
        await editor.open();
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
        await receiver?.close();
    });

    it('shows the dead letters of a refusing CRM, opens one, and replays them all once it is fixed', async () => {
        for (const label of ['A', 'B', 'C']) {
            const feed = () =>
                fetch(`${session.nodeRed.url}/feed`, {
                    method: 'POST',
                    headers: { 'content-type': 'application/json' },
                    body: JSON.stringify({ call: { callId: `call-${label}`, event: 'complete', callerName: label }, payload: {} }),
                });
            let fed = await feed();
            // Until the deployed flow has started, its http in is not there yet (404: nothing was taken).
            for (let tries = 0; tries < 100 && fed.status === 404; tries++) fed = await feed();
            assert.equal(fed.status, 202);
        }
        await until(() => receiver.received.length === 3, 'three refused requests', 10_000);
        const failedKeys = receiver.received.map((request) => request.key).sort();

        await editor.showDeliveries();
        const page = editor.page;
        const deadRows = page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-row');
        const deliveredRows = page.locator('#ccaas-deliveries-delivered .ccaas-deliveries-row');
        await deadRows.nth(2).waitFor();
        assert.equal(await page.locator('#ccaas-deliveries-node').inputValue(), 'ws');
        assert.equal(await deadRows.count(), 3);
        for (const text of await deadRows.allInnerTexts()) assert.match(text, /call-[ABC] · complete · http-4xx 400 · attempts: 1 · failed /);
        assert.deepEqual((await deadRows.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')))).sort(), failedKeys);
        assert.match(await page.locator('#ccaas-deliveries-summary').innerText(), /0 queued · 0 in flight · 3 dead letters · 0 delivered · 3 failed/);
        await editor.screenshot('deliveries-sidebar', page.locator('#red-ui-sidebar'));

        // Opened, a dead letter shows the request it makes and the CRM's answer, as the debug sidebar shows objects.
        await deadRows.first().locator('.ccaas-deliveries-row-text').click();
        const detail = page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-detail');
        await detail.locator('.red-ui-debug-msg-element').first().waitFor();
        assert.equal(await editor.debugValue(detail, ['request', 'url']), `"${receiver.url}/hook"`);
        assert.equal(await editor.debugValue(detail, ['response', 'statusCode']), '400');

        receiver.answer = () => ({ status: 200 });
        await page.locator('#ccaas-deliveries-dead-letters button.ccaas-deliveries-replay-all').click();
        // The lists follow the runtime's comms messages as the replays are delivered: no reload, no polling.
        await page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-empty').waitFor();
        await deliveredRows.nth(2).waitFor();
        assert.equal(await deadRows.count(), 0);
        assert.equal(await page.locator('#ccaas-deliveries-detail, #ccaas-deliveries-dead-letters .ccaas-deliveries-detail').count(), 0);
        assert.deepEqual((await deliveredRows.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')))).sort(), failedKeys);
        await until(() => receiver.received.length === 6, 'three replays', 10_000);
        for (const key of failedKeys) {
            assert.deepEqual(
                receiver.received.filter((request) => request.key === key).map((request) => request.status),
                [400, 200],
                `${key} arrived once more`,
            );
        }
        assert.deepEqual(editor.errors, []);
    });
});
