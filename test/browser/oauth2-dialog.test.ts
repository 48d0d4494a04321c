// The OAuth 2.0 choice of the web service out dialog in a real editor (issue 20): a ccaas-oauth2 configuration is
// added from the dialog, deployed, and the Test gets a token from a real OAuth 2.0 server first, showing that step
// with the token masked.
import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { startProvider, type Provider } from '../support/oauth2-provider';
import { startRecorder, type Recorder } from '../nodes/web-service-out.recorder';

describe('editor: web service out with OAuth 2.0', function () {
    this.timeout(120_000);
    let provider: Provider;
    let recorder: Recorder;
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        provider = await startProvider();
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
        await provider?.stop();
    });

    it('adds the configuration from the dialog, and the Test shows the token step masked before the request', async () => {
        const id = await editor.dropFromPalette('web-service-out', 400, 200);
        const dialog = await editor.openEditDialog(id);
        await editor.page.locator('#node-input-url').fill(`${recorder.url}/crm/calls/{{callId}}`);
        await editor.page.locator('#node-input-bodyType').selectOption('none');
        assert.equal(await dialog.locator('.ws-out-auth-oauth2').isVisible(), false, 'the OAuth 2.0 row shows only for OAuth 2.0');
        await editor.page.locator('#node-input-authType').selectOption('oauth2');
        await dialog.locator('.ws-out-auth-oauth2').waitFor();
        // Node-RED 4 puts an add (+) and an edit (pencil) button beside a config node select.
        await editor.page.locator('#node-input-btn-oauth2-add').click();
        await editor.page.locator('#node-config-input-tokenUrl').fill(provider.tokenUrl);
        assert.equal(await editor.page.locator('#node-config-input-grant').inputValue(), 'client_credentials');
        assert.equal(await editor.page.locator('#node-config-input-clientAuth').inputValue(), 'basic');
        assert.equal(await editor.page.locator('.ccaas-oauth2-refresh').isVisible(), false, 'no refresh token for client credentials');
        assert.equal(await editor.page.locator('#node-config-input-clientSecret').getAttribute('type'), 'password');
        await editor.page.locator('#node-config-input-clientId').fill(provider.clientId);
        await editor.page.locator('#node-config-input-clientSecret').fill(provider.clientSecret);
        await editor.screenshot('oauth2-config-dialog');
        await editor.page.locator('#node-config-dialog-ok').click();
        await editor.page.locator('#node-config-input-tokenUrl').waitFor({ state: 'detached' });
        await editor.closeEditDialog('done');
        await editor.deploy();

        await editor.openEditDialog(id);
        await editor.page.locator('#ws-out-test').click();
        await editor.page.waitForFunction(() => /--- 200 in \d+ ms/.test(document.querySelector('#ws-out-result')?.textContent ?? ''));
        const shown = await editor.page.locator('#ws-out-result').innerText();
        assert.match(
            shown,
            new RegExp(`^POST ${provider.tokenUrl.replace(/[.]/g, '\\.')} \\(client_credentials\\): access token \\*\\*\\* \\(1 token request\\)`),
        );
        assert.match(shown, /Authorization: Bearer \*\*\*/);
        assert.equal(recorder.arrived.length, 1);
        assert.equal(recorder.arrived[0]!.headers.authorization, `Bearer ${provider.issued[0]}`);
        for (const secret of [provider.clientSecret, provider.issued[0]!]) assert.ok(!shown.includes(secret), 'a secret in the dialog');
        await editor.screenshot('oauth2-test');
        await editor.closeEditDialog('done');
        assert.deepEqual(editor.errors, []);
    });

    // Issue 18: the runtime refuses a configuration without its client id, or without the secret its grant takes,
    // so the editor marks it invalid, and with it every web service out that uses it.
    it('marks a configuration missing a credential invalid, and the web service out using it, until it is filled in', async () => {
        const id = await editor.dropFromPalette('web-service-out', 400, 320);
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-url').fill(`${recorder.url}/crm/calls/{{callId}}`);
        await editor.page.locator('#node-input-authType').selectOption('oauth2');
        await editor.page.locator('#node-input-btn-oauth2-add').click();
        await editor.page.locator('#node-config-input-tokenUrl').fill(provider.tokenUrl);
        await editor.page.locator('#node-config-input-clientSecret').fill(provider.clientSecret);
        await editor.page.locator('#node-config-dialog-ok').click();
        await editor.page.locator('#node-config-input-tokenUrl').waitFor({ state: 'detached' });
        const configId = await editor.page.locator('#node-input-oauth2').inputValue();
        await editor.closeEditDialog('done');
        const validity = (configNode: string) =>
            editor.page.evaluate((configNodeId) => (window as any).RED.nodes.node(configNodeId).valid as boolean, configNode);
        assert.equal(await validity(configId), false, 'a configuration without its client id');
        const mark = editor.canvasNode(id).locator('.red-ui-flow-node-error');
        await mark.waitFor();
        assert.equal(await validity(id), false, 'a web service out using it');

        // The refresh token grant takes a refresh token, not a client secret.
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-btn-oauth2-edit').click();
        await editor.page.locator('#node-config-input-clientId').fill(provider.clientId);
        await editor.page.locator('#node-config-input-grant').selectOption('refresh_token');
        await editor.page.locator('#node-config-dialog-ok').click();
        await editor.page.locator('#node-config-input-tokenUrl').waitFor({ state: 'detached' });
        await editor.closeEditDialog('done');
        assert.equal(await validity(configId), false, 'a refresh token grant without its refresh token');
        assert.equal(await validity(id), false);

        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-btn-oauth2-edit').click();
        await editor.page.locator('#node-config-input-refreshToken').fill('a-refresh-token');
        await editor.page.locator('#node-config-dialog-ok').click();
        await editor.page.locator('#node-config-input-tokenUrl').waitFor({ state: 'detached' });
        await editor.closeEditDialog('done');
        assert.equal(await validity(configId), true, 'complete');
        await mark.waitFor({ state: 'hidden' });
        assert.equal(await validity(id), true);
        assert.deepEqual(editor.errors, []);
    });
});
