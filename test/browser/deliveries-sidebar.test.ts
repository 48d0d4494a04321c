// The editor's deliveries sidebar against a real Node-RED: a web service out whose CRM (on 127.0.0.1) refuses every
// request with 400 keeps three dead letters; the tab shows them, opens one, and once the CRM is fixed "replay all"
// sends each once more under its key, the tab following through the runtime's comms messages. A second node's
// request waits for a retry (retry now, then discard), both nodes show in "all nodes", and a read-only user of a
// Node-RED with adminAuth sees the dead letters but is refused the replay.
import assert from 'node:assert/strict';
import { adminAuthLine, adminToken } from '../support/admin-auth';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { startReceiver, type Receiver } from '../support/scripted-receiver';
import { until } from '../support/wait';

/** A web service out node posting `{"label": callerName}` to `url`. */
function webServiceOut(id: string, name: string, url: string, retries: string, y: number) {
    return {
        id,
        z: 'tab',
        type: 'web-service-out',
        name,
        url,
        method: 'POST',
        bodyType: 'custom',
        contentType: 'application/json',
        body: '{"label":"{{callerName}}"}',
        authType: 'none',
        params: [],
        headers: [],
        form: [],
        timeout: 5,
        retries,
        x: 520,
        y,
        wires: [[]],
    };
}

/** An http in at `path` whose body `{ call }` goes to `target` as msg.call, answered 202. */
function feed(path: string, target: string, y: number) {
    const unwrap = `unwrap-${target}`;
    return [
        { id: `feed-${target}`, z: 'tab', type: 'http in', url: path, method: 'post', x: 120, y, wires: [[unwrap]] },
        {
            id: unwrap,
            z: 'tab',
            type: 'change',
            rules: [
                { t: 'set', p: 'call', pt: 'msg', to: 'payload.call', tot: 'msg' },
                { t: 'set', p: 'payload', pt: 'msg', to: '{}', tot: 'json' },
            ],
            x: 300,
            y,
            wires: [[target, `answer-${target}`]],
        },
        { id: `answer-${target}`, z: 'tab', type: 'http response', statusCode: '202', x: 520, y: y + 40, wires: [] },
    ];
}

/** The flow tab with "CRM calls" (id `ws`, default retries) fed at /crm, posting to `crm`. */
function crmFlow(crm: Receiver): object[] {
    return [{ id: 'tab', type: 'tab', label: 'dead letters' }, ...feed('/crm', 'ws', 100), webServiceOut('ws', 'CRM calls', `${crm.url}/hook`, '', 100)];
}

async function play(session: EditorSession, path: string, callId: string, callerName: string): Promise<void> {
    const send = () =>
        fetch(`${session.nodeRed.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ call: { callId, event: 'complete', callerName } }),
        });
    let fed = await send();
    // Until the flow has started, its http in is not there yet (404: nothing was taken).
    for (let tries = 0; tries < 100 && fed.status === 404; tries++) fed = await send();
    assert.equal(fed.status, 202, `${path} took ${callId}`);
}

const keysOf = (rows: ReturnType<Editor['page']['locator']>) => rows.evaluateAll((found) => found.map((row) => row.getAttribute('data-key')));

describe('editor: deliveries sidebar', function () {
    this.timeout(120_000);
    let crm: Receiver;
    let helpdesk: Receiver;
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        crm = await startReceiver();
        crm.answer = () => ({ status: 400 });
        helpdesk = await startReceiver();
        session = await openEditorSession(
            { width: 1400, height: 1000 },
            {
                flows: [
                    ...crmFlow(crm),
                    ...feed('/helpdesk', 'ws2', 260),
                    // One retry, an hour later: only "retry now" makes it happen within the test.
                    webServiceOut('ws2', 'Helpdesk', `${helpdesk.url}/tickets`, '1h', 260),
                ],
            },
        );
        ({ editor } = session);
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
        await crm?.close();
        await helpdesk?.close();
    });

    it('shows the dead letters of a refusing CRM, opens one, and replays them all once it is fixed', async () => {
        for (const label of ['A', 'B', 'C']) await play(session, '/crm', `call-${label}`, label);
        await until(() => crm.received.length === 3, 'three refused requests', 10_000);
        const failedKeys = crm.received.map((request) => request.key).sort();

        await editor.showDeliveries();
        const page = editor.page;
        // Selected on the canvas, a web service out node is the one the tab shows.
        await editor.canvasNode('ws').locator('.red-ui-flow-node').click();
        await page.waitForFunction(() => (document.querySelector('#ccaas-deliveries-node') as HTMLSelectElement | null)?.value === 'ws');
        const deadRows = page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-row');
        const deliveredRows = page.locator('#ccaas-deliveries-delivered .ccaas-deliveries-row');
        await deadRows.nth(2).waitFor();
        assert.equal(await deadRows.count(), 3);
        const target = `POST ${crm.url}/hook`;
        for (const text of await deadRows.allInnerTexts()) {
            assert.ok(text.includes(` · complete · ${target} · http-4xx 400 · attempts: 1 · failed `), text);
            assert.match(text, /^call-[ABC] · /);
        }
        assert.deepEqual((await keysOf(deadRows)).sort(), failedKeys);
        assert.match(await page.locator('#ccaas-deliveries-summary').innerText(), /0 queued · 0 in flight · 3 dead letters · 0 delivered · 3 failed/);
        await editor.screenshot('deliveries-sidebar', page.locator('#red-ui-sidebar'));

        // Opened, a dead letter shows the request it makes and the CRM's answer, as the debug sidebar shows objects.
        await deadRows.first().locator('.ccaas-deliveries-row-text').click();
        const detail = page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-detail');
        await detail.locator('.red-ui-debug-msg-element').first().waitFor();
        assert.equal(await editor.debugValue(detail, ['request', 'url']), `"${crm.url}/hook"`);
        assert.equal(await editor.debugValue(detail, ['response', 'statusCode']), '400');

        crm.answer = () => ({ status: 200 });
        await page.locator('#ccaas-deliveries-dead-letters button.ccaas-deliveries-replay-all').click();
        // The lists follow the runtime's comms messages as the replays are delivered: no reload, no polling.
        await page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-empty').waitFor();
        await deliveredRows.nth(2).waitFor();
        assert.equal(await deadRows.count(), 0);
        assert.equal(await page.locator('.ccaas-deliveries-detail').count(), 0, 'the replayed letter took its detail with it');
        assert.deepEqual((await keysOf(deliveredRows)).sort(), failedKeys);
        await until(() => crm.received.length === 6, 'three replays', 10_000);
        for (const key of failedKeys) {
            assert.deepEqual(
                crm.received.filter((request) => request.key === key).map((request) => request.status),
                [400, 200],
                `${key} arrived once more`,
            );
        }
        for (const text of await deliveredRows.allInnerTexts()) assert.ok(text.includes(` · ${target} · 200 · attempts: 1 · `), text);

        // A delivery opens too: the request as it was sent and the CRM's answer.
        await deliveredRows.first().locator('.ccaas-deliveries-row-text').click();
        const sent = page.locator('#ccaas-deliveries-delivered .ccaas-deliveries-detail');
        await sent.locator('.red-ui-debug-msg-element').first().waitFor();
        assert.equal(await editor.debugValue(sent, ['request', 'method']), '"POST"');
        assert.equal(await editor.debugValue(sent, ['response', 'statusCode']), '200');
        await deliveredRows.first().locator('.ccaas-deliveries-row-text').click();
        await sent.waitFor({ state: 'detached' });
        assert.deepEqual(editor.errors, []);
    });

    it('retries a waiting request now, then discards its dead letter', async () => {
        helpdesk.answer = (_request, attempt) => ({ status: attempt === 1 ? 503 : 422 });
        await play(session, '/helpdesk', 'call-H', 'H');
        const page = editor.page;
        await editor.canvasNode('ws2').locator('.red-ui-flow-node').click();
        await page.waitForFunction(() => (document.querySelector('#ccaas-deliveries-node') as HTMLSelectElement | null)?.value === 'ws2');
        const queuedRows = page.locator('#ccaas-deliveries-queued .ccaas-deliveries-row');
        const retry = queuedRows.first().locator('button.ccaas-deliveries-retry');
        await retry.waitFor();
        const waiting = await queuedRows.first().innerText();
        assert.ok(waiting.includes(`call-H · complete · POST ${helpdesk.url}/tickets · attempts: 1 · next retry `), waiting);
        assert.match(waiting, / · http-5xx 503/);
        await retry.click();

        // Attempted now rather than in an hour, refused for good (422): a dead letter.
        const deadRows = page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-row');
        await deadRows.first().waitFor();
        await page.locator('#ccaas-deliveries-queued .ccaas-deliveries-empty').waitFor();
        assert.deepEqual(
            helpdesk.received.map((request) => request.status),
            [503, 422],
        );
        assert.match(await deadRows.first().innerText(), /http-4xx 422 · attempts: 2 · failed /);
        await deadRows.first().locator('button.ccaas-deliveries-discard').click();
        await page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-empty').waitFor();
        const left = (await (await fetch(`${session.nodeRed.url}/web-service-out/deliveries/ws2`)).json()) as { deadLetters: number };
        assert.equal(left.deadLetters, 0);
        assert.equal(helpdesk.received.length, 2, 'a discarded letter is not sent');
        assert.deepEqual(editor.errors, []);
    });

    it('shows every node at once, each row naming its node', async () => {
        helpdesk.answer = () => ({ status: 201 });
        await play(session, '/helpdesk', 'call-I', 'I');
        await until(() => helpdesk.received.length === 3, 'the helpdesk request', 10_000);
        const page = editor.page;
        await page.locator('#ccaas-deliveries-node').selectOption('*');
        const deliveredRows = page.locator('#ccaas-deliveries-delivered .ccaas-deliveries-row');
        await deliveredRows.nth(3).waitFor();
        const texts = await deliveredRows.allInnerTexts();
        assert.equal(texts.length, 4);
        // Newest first, across the nodes.
        assert.ok(texts[0]!.startsWith('Helpdesk · call-I · complete · '), texts[0]);
        for (const text of texts.slice(1)) assert.ok(text.startsWith('CRM calls · call-'), text);
        assert.match(await page.locator('#ccaas-deliveries-summary').innerText(), /^0 queued · 0 in flight · 0 dead letters · 4 delivered · 4 failed$/);
        assert.deepEqual(editor.errors, []);
    });
});

describe('editor: deliveries sidebar of a read-only user', function () {
    this.timeout(120_000);
    let crm: Receiver;
    let session: EditorSession;

    before(async () => {
        crm = await startReceiver();
        crm.answer = () => ({ status: 400 });
        session = await openEditorSession(
            { width: 1400, height: 1000 },
            {
                flows: crmFlow(crm),
                settings: adminAuthLine({ admin: '*', viewer: 'read' }),
                signIn: (nodeRed) => adminToken(nodeRed, 'viewer', 'read'),
            },
        );
    });

    after(async () => {
        await session?.close();
        await crm?.close();
    });

    it('sees the dead letters, and a replay is refused with a notification, sending nothing', async () => {
        await play(session, '/crm', 'call-R', 'R');
        await until(() => crm.received.length === 1, 'the refused request', 10_000);
        const { editor } = session;
        const page = editor.page;
        await editor.showDeliveries();
        const deadRows = page.locator('#ccaas-deliveries-dead-letters .ccaas-deliveries-row');
        await deadRows.first().waitFor();
        crm.answer = () => ({ status: 200 });
        await deadRows.first().locator('button.ccaas-deliveries-replay').click();
        const notice = page.locator('.red-ui-notification', { hasText: 'permission denied: acting needs web-service-out.write' });
        await notice.waitFor();
        assert.equal(await deadRows.count(), 1, 'the dead letter stays');
        assert.equal(crm.received.length, 1, 'nothing was sent again');
        assert.deepEqual(editor.errors, []);
    });
});
