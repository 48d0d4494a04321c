import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { startRecorder, type Recorder } from '../nodes/web-service-out.recorder';

// The whole product as a user puts it together: dragged, wired and configured in the editor, deployed, and a call
// played with the simulate button on the canvas.
describe('editor: the pipeline, built by hand and played', function () {
    this.timeout(120_000);
    let recorder: Recorder;
    let session: EditorSession;
    let editor: Editor;
    const ids: Record<string, string> = {};
    let callId: string;

    before(async () => {
        recorder = await startRecorder();
        session = await openEditorSession({ width: 1600, height: 1000 });
        ({ editor } = session);
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
        await recorder?.close();
    });

    it('is dragged from the palette and wired: call event in -> criteria filter -> placeholder template -> web service out -> debug', async () => {
        // A staircase, so that long labels never overlap.
        const layout: [string, string][] = [
            ['events', 'call-event-in'],
            ['criteria', 'criteria-filter'],
            ['template', 'placeholder-template'],
            ['send', 'web-service-out'],
            ['debug', 'debug'],
        ];
        for (const [index, [role, type]] of layout.entries()) {
            ids[role] = await editor.dropFromPalette(type, 240 + index * 170, 80 + index * 80);
        }
        for (let index = 0; index < layout.length - 1; index += 1) {
            await editor.wire(ids[layout[index][0]], ids[layout[index + 1][0]]);
        }
        const wires = await editor.page.evaluate(() => {
            const links: string[] = [];
            (window as any).RED.nodes.eachLink((link: { source: { type: string }; target: { type: string } }) => {
                links.push(`${link.source.type} -> ${link.target.type}`);
            });
            return links.sort();
        });
        assert.deepEqual(
            wires,
            [
                'call-event-in -> criteria-filter',
                'criteria-filter -> placeholder-template',
                'placeholder-template -> web-service-out',
                'web-service-out -> debug',
            ].sort(),
        );
        // Each wire is drawn on the canvas (the view redraws after the model changed).
        await editor.page.locator('#red-ui-workspace-chart path.red-ui-flow-link-line').nth(3).waitFor();
        assert.equal(await editor.page.locator('#red-ui-workspace-chart path.red-ui-flow-link-line').count(), 4);
    });

    it('is configured in the edit dialogs', async () => {
        let dialog = await editor.openEditDialog(ids.events);
        for (const field of ['name', 'path', 'source', 'auth', 'maxBody', 'recordingWait', 'retention', 'maxCalls']) {
            assert.equal(await dialog.locator(`#node-input-${field}`).count(), 1, field);
        }
        // The five triggering events are offered, loaded from the runtime.
        await dialog.locator('#call-event-in-events input[type="checkbox"]').nth(4).waitFor();
        assert.equal(await dialog.locator('#call-event-in-events input[type="checkbox"]').count(), 5);
        assert.equal(await dialog.locator('#node-input-path').inputValue(), '/ccaas/call-events');
        await editor.closeEditDialog('done');

        // One rule every simulated call passes once: its "complete" trigger.
        dialog = await editor.openEditDialog(ids.criteria);
        const row = await editor.addListRow(dialog.locator('#node-input-rule-container'));
        await row.locator('select.criteria-field').selectOption('event');
        await row.locator('select.criteria-op').selectOption('eq');
        await row.locator('input.criteria-value').fill('complete');
        await editor.closeEditDialog('done');
        assert.match((await editor.canvasNode(ids.criteria).locator('.red-ui-flow-node-label').textContent()) ?? '', /complete/);

        dialog = await editor.openEditDialog(ids.template);
        assert.equal(await dialog.locator('#node-input-format').inputValue(), 'json');
        await editor.closeEditDialog('done');

        dialog = await editor.openEditDialog(ids.send);
        await dialog.locator('#node-input-method').selectOption('POST');
        await dialog.locator('#node-input-url').fill(`${recorder.url}/crm/calls/{{callId}}`);
        // The placeholder template's rendering is the body.
        await dialog.locator('#node-input-bodyType').selectOption('payload');
        await editor.closeEditDialog('done');
        assert.equal((await editor.canvasNode(ids.send).locator('.red-ui-flow-node-label').textContent())?.trim(), `POST ${recorder.url}/crm/calls/{{callId}}`);

        dialog = await editor.openEditDialog(ids.debug);
        await editor.selectTypedInputType('node-input-typed-complete', 'full');
        assert.match(await editor.typedInput('node-input-typed-complete').innerText(), /complete msg object/);
        await editor.closeEditDialog('done');

        assert.equal(await editor.page.locator('#red-ui-workspace-chart .red-ui-flow-node-error:visible').count(), 0, 'no node is marked invalid');
    });

    it('deploys, and the simulate button on call event in plays a call', async () => {
        await editor.deploy();
        // The running node reports itself: a green dot with its call count.
        await editor.canvasNode(ids.events).locator('.red-ui-flow-node-status-label', { hasText: /calls/ }).waitFor();
        await editor.showSidebar('debug');
        await editor.widenSidebar(250);
        await editor.clickNodeButton(ids.events);
        const started = editor.notification(/Playing a simulated call/);
        await started.waitFor();
        callId = /\(([0-9a-f-]{36})\)/.exec(await started.innerText())![1];
    });

    it('shows the request and the response in the debug sidebar, and the CRM got the request', async () => {
        const messages = editor.debugMessages();
        await messages.first().waitFor({ timeout: 20_000 });
        const message = messages.first();
        assert.match(await message.locator('.red-ui-debug-msg-topic').innerText(), /msg : Object/);
        assert.equal(await editor.debugValue(message, ['event']), '"complete"');
        assert.equal(await editor.debugValue(message, ['call', 'callId']), `"${callId}"`);
        await editor.collapseDebugValue(message, ['call']);
        assert.equal(await editor.debugValue(message, ['request', 'method']), '"POST"');
        assert.equal(await editor.debugValue(message, ['request', 'url']), `"${recorder.url}/crm/calls/${callId}"`);
        assert.equal(await editor.debugValue(message, ['response', 'statusCode']), '200');
        assert.match(await editor.debugValue(message, ['response', 'body']), /^"\{"ok":true,"path":"\/crm\/calls\//);
        await editor.screenshot('debug-sidebar', editor.page.locator('#red-ui-sidebar'));
        await editor.screenshot('pipeline');

        // The filter let exactly one trigger of the call through, and it arrived as the template rendered it.
        assert.equal(recorder.arrived.length, 1);
        const arrived = recorder.arrived[0];
        assert.equal(arrived.requestLine, `POST /crm/calls/${callId} HTTP/1.1`);
        const body = JSON.parse(arrived.body.toString('utf8'));
        assert.equal(body.callId, callId);
        assert.equal(body.event, 'complete');
        // The nodes say what happened, on the canvas.
        assert.match((await editor.canvasNode(ids.send).locator('.red-ui-flow-node-status-label').textContent()) ?? '', /^200 · \d+ ms/);
        assert.match((await editor.canvasNode(ids.criteria).locator('.red-ui-flow-node-status-label').textContent()) ?? '', /^passed 1, failed \d+$/);
        assert.equal(await messages.count(), 1);
    });
});
