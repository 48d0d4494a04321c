import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { startRecorder, type Recorder } from '../nodes/web-service-out.recorder';

const TOKEN = 'browser-secret-token';

describe('editor: web service out dialog', function () {
    this.timeout(120_000);
    let recorder: Recorder;
    let session: EditorSession;
    let editor: Editor;
    let id: string;

    before(async () => {
        recorder = await startRecorder();
        session = await openEditorSession({ width: 1400, height: 1000 });
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

    it('is dragged from the palette and shows every part of the profile', async () => {
        id = await editor.dropFromPalette('web-service-out', 400, 200);
        const dialog = await editor.openEditDialog(id);
        const fields = await dialog.locator('[id^="node-input-"]').evaluateAll((els) => els.map((el) => el.id));
        for (const field of [
            'name',
            'method',
            'url',
            'bodyType',
            'contentType',
            'body',
            'authType',
            'timeout',
            'failureOutput',
            'retries',
            'concurrency',
            'rate',
            'idempotencyHeader',
            'signingSecret',
        ]) {
            assert.ok(fields.includes(`node-input-${field}`), `${field} in ${fields.join(', ')}`);
        }
        assert.deepEqual(await dialog.locator('#node-input-method option').evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value)), [
            'GET',
            'POST',
            'PUT',
            'PATCH',
            'DELETE',
        ]);
        for (const list of ['#ws-out-params', '#ws-out-headers', '#ws-out-form']) assert.equal(await dialog.locator(list).count(), 1, list);
        // The sample call comes from the runtime once the dialog has asked for it.
        await editor.page.waitForFunction(() => /"callId"/.test((document.querySelector('#ws-out-sample-call') as HTMLTextAreaElement | null)?.value ?? ''));
        assert.match(await dialog.locator('#ws-out-sample-call').inputValue(), /"callId": "1e0c9a8e/);
        await editor.screenshot('web-service-out-dialog');
    });

    it('marks a Target URL whose host comes from call data as invalid, saying why', async () => {
        await editor.page.locator('#node-input-url').fill('https://{{dnis}}.crm.example.com/calls');
        await editor.closeEditDialog('done');
        const badge = editor.canvasNode(id).locator('.red-ui-flow-node-error');
        await badge.waitFor();
        await badge.hover();
        // The runtime's own reason (POST ccaas-web-service/web-service-out/check), as the deploy would give it.
        const tip = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: 'placeholders are not allowed in the scheme, host or port' });
        await tip.waitFor();
        assert.match(
            (await tip.textContent()) ?? '',
            /Target URL: "https:\/\/\{\{dnis\}\}\.crm\.example\.com\/calls": placeholders are not allowed in the scheme, host or port/,
        );
    });

    it('previews without sending, then Test sends and shows the request as sent and the response', async () => {
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-url').fill(`${recorder.url}/crm/calls/{{callId}}`);
        await editor.page.locator('#node-input-method').selectOption('POST');
        await editor.page.locator('#node-input-authType').selectOption('bearer');
        await editor.page.locator('#node-input-token').fill(TOKEN);
        const result = editor.page.locator('#ws-out-result');

        await editor.page.locator('#ws-out-preview').click();
        await editor.page.waitForFunction(() => /^POST /.test(document.querySelector('#ws-out-result')?.textContent ?? ''));
        const preview = await result.innerText();
        assert.match(preview, new RegExp(`^POST ${recorder.url}/crm/calls/1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90`));
        assert.match(preview, /Authorization: Bearer \*\*\*/);
        assert.doesNotMatch(preview, /---/);
        assert.equal(recorder.arrived.length, 0);

        await editor.page.locator('#ws-out-test').click();
        await editor.page.waitForFunction(() => /--- 200 in \d+ ms/.test(document.querySelector('#ws-out-result')?.textContent ?? ''));
        const shown = await result.innerText();
        assert.match(shown, /Authorization: Bearer \*\*\*/);
        assert.ok(!shown.includes(TOKEN), 'the token is masked in the dialog');
        assert.equal(recorder.arrived.length, 1);
        assert.equal(recorder.arrived[0].requestLine, 'POST /crm/calls/1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90 HTTP/1.1');
        assert.equal(recorder.arrived[0].headers.authorization, `Bearer ${TOKEN}`);
        assert.match(shown, new RegExp(JSON.parse(recorder.arrived[0].body.toString()).caller));
        await editor.screenshot('web-service-out-test');
        await editor.closeEditDialog('done');
        await editor.canvasNode(id).locator('.red-ui-flow-node-error').waitFor({ state: 'hidden' });
    });

    it('offers the delivery settings with their defaults and says why a retry schedule is wrong', async () => {
        const dialog = await editor.openEditDialog(id);
        assert.equal(await dialog.locator('#node-input-retries').inputValue(), '1s, 5s, 30s, 2m, 10m, 1h, 3h, 6h, 10h');
        assert.equal(await dialog.locator('#node-input-concurrency').inputValue(), '16');
        assert.equal(await dialog.locator('#node-input-rate').inputValue(), '');
        assert.equal(await dialog.locator('#node-input-idempotencyHeader').inputValue(), 'Idempotency-Key');
        assert.equal(await dialog.locator('#node-input-signingSecret').getAttribute('type'), 'password');
        await editor.page.locator('#node-input-retries').fill('1s, soon');
        await editor.closeEditDialog('done');
        const badge = editor.canvasNode(id).locator('.red-ui-flow-node-error');
        await badge.waitFor();
        await badge.hover();
        const tip = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: 'is not a duration' });
        await tip.waitFor();
        assert.match((await tip.textContent()) ?? '', /Retries: "soon" is not a duration like 30s, 2m or 1h/);
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-retries').fill('0.5, 2s, 1m');
        // The largest concurrency the dialog accepts is the runtime's, read from its editor constants.
        await editor.page.locator('#node-input-concurrency').fill('1001');
        await editor.closeEditDialog('done');
        await badge.waitFor();
        await badge.hover();
        const bound = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: 'Concurrency' });
        await bound.waitFor();
        assert.match((await bound.textContent()) ?? '', /Concurrency must be a whole number from 1 to 1000/);
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-concurrency').fill('1000');
        await editor.closeEditDialog('done');
        await badge.waitFor({ state: 'hidden' });
    });

    it('an imported node with bearer authentication and no token is marked invalid, saying why; a token makes it valid', async () => {
        const imported = await editor.page.evaluate(() => {
            const RED = (window as any).RED;
            const node = {
                id: 'ws-no-token',
                type: 'web-service-out',
                z: RED.workspaces.active(),
                x: 400,
                y: 400,
                url: 'https://crm.example.com/calls',
                method: 'POST',
                authType: 'bearer',
                wires: [],
            };
            // touchImport: placed where it says, instead of following the mouse until a click drops it.
            RED.view.importNodes([node], { touchImport: true });
            return RED.nodes.node('ws-no-token') ? 'ws-no-token' : '';
        });
        assert.equal(imported, 'ws-no-token');
        const badge = editor.canvasNode(imported).locator('.red-ui-flow-node-error');
        await badge.waitFor();
        // The only reason: a flow of 0.1.0 lacks the newer properties, which must not make the node invalid.
        assert.deepEqual(await editor.page.evaluate(() => (window as any).RED.nodes.node('ws-no-token').validationErrors), [
            'Token is missing: the chosen authentication needs it',
        ]);
        await badge.hover();
        const tip = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: 'Token is missing' });
        await tip.waitFor();
        assert.match((await tip.textContent()) ?? '', /Token is missing: the chosen authentication needs it/);

        await editor.openEditDialog(imported);
        const authType = editor.page.locator('#node-input-authType');
        await editor.page.waitForFunction(() => document.querySelector('#node-input-authType')?.classList.contains('input-error'));
        await editor.page.locator('#node-input-token').fill(TOKEN);
        await editor.page.waitForFunction(() => !document.querySelector('#node-input-authType')?.classList.contains('input-error'));
        assert.equal(await authType.evaluate((el) => el.classList.contains('input-error')), false);
        await editor.closeEditDialog('done');
        await badge.waitFor({ state: 'hidden' });
        assert.equal(await editor.page.evaluate(() => (window as any).RED.nodes.node('ws-no-token').valid), true);
    });
});
