import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';

describe('editor: call event in dialog', function () {
    this.timeout(120_000);
    let session: EditorSession;
    let editor: Editor;
    let id: string;

    before(async () => {
        session = await openEditorSession({ width: 1400, height: 1000 });
        ({ editor } = session);
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
    });

    async function expectInvalid(reason: RegExp): Promise<void> {
        const badge = editor.canvasNode(id).locator('.red-ui-flow-node-error');
        await badge.waitFor();
        await badge.hover();
        const tip = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: reason });
        await tip.waitFor();
        assert.match((await tip.textContent()) ?? '', reason);
        // Let the tip go, so the next double-click reaches the node.
        await editor.page.mouse.move(700, 800);
    }

    it('is dragged from the palette and shows every field, and the five triggering events', async () => {
        id = await editor.dropFromPalette('call-event-in', 350, 200);
        const dialog = await editor.openEditDialog(id);
        for (const field of [
            'name',
            'path',
            'source',
            'auth',
            'maxBody',
            'recordingWait',
            'retention',
            'maxCalls',
            'maxEvents',
            'maxFieldLength',
            'maxListMembers',
            'maxCallListMembers',
            'maxCallSize',
            'maxStateSize',
        ]) {
            assert.equal(await dialog.locator(`#node-input-${field}:visible`).count(), 1, field);
        }
        assert.equal(await dialog.locator('#node-input-path').inputValue(), '/ccaas/call-events');
        assert.deepEqual(await dialog.locator('#node-input-source option').evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value)), [
            'raw',
            'aircall',
            'dialpad',
            'twilio',
            'amazon-connect',
            'genesys-cloud',
            'ringcentral',
            'zoom',
            'custom',
        ]);
        const events = dialog.locator('#call-event-in-events label');
        await events.nth(4).waitFor();
        assert.deepEqual(
            (await events.allInnerTexts()).map((text) => text.trim()),
            ['Call is Presenting', 'Call is Connected', 'Call is Complete', 'Call and Recordings Processed', 'Call is Updated'],
        );
        // The settings of a source or an authentication appear only when it is chosen.
        assert.equal(await dialog.locator('#node-input-mapping').isVisible(), false);
        assert.equal(await dialog.locator('#node-input-secret').isVisible(), false);
        await dialog.locator('#node-input-auth').selectOption('header');
        assert.equal(await dialog.locator('#node-input-authHeader').isVisible(), true);
        assert.equal(await dialog.locator('#node-input-secret').isVisible(), true);
        await dialog.locator('#node-input-auth').selectOption('none');
        assert.equal(await dialog.locator('#node-input-secret').isVisible(), false);
        await editor.screenshot('call-event-in-dialog');
    });

    it('marks a path with characters a URL path cannot hold, saying why', async () => {
        await editor.page.locator('#node-input-path').fill('/calls?from=crm');
        await editor.closeEditDialog('done');
        await expectInvalid(/The path may only hold letters, digits and - _ \/ \. ~ :/);
    });

    it('marks a custom mapping that is not JSON, saying why', async () => {
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-path').fill('/ccaas/call-events');
        await editor.page.locator('#node-input-source').selectOption('custom');
        const mapping = editor.page.locator('#node-input-mapping');
        assert.equal(await mapping.isVisible(), true);
        await mapping.fill('{ "callId": ');
        await editor.closeEditDialog('done');
        await expectInvalid(/The mapping is not JSON: /);
    });

    it('asks each platform for what it uses: a secret of its own, names for the ids it sends, recordings to wait for', async () => {
        await editor.openEditDialog(id);
        const source = editor.page.locator('#node-input-source');
        const secret = editor.page.locator('#node-input-platformSecret');
        const names = editor.page.locator('#node-input-names');
        const recordings = editor.page.locator('#node-input-recordingsPerCall');
        await source.selectOption('aircall');
        assert.deepEqual([await secret.isVisible(), await names.isVisible(), await recordings.isVisible()], [true, false, false]);
        await source.selectOption('zoom');
        assert.deepEqual([await secret.isVisible(), await names.isVisible(), await recordings.isVisible()], [true, true, true]);
        assert.match(await editor.page.locator('#call-event-in-platform-secret-tip').innerText(), /Secret Token.*x-zm-signature/);
        await source.selectOption('ringcentral');
        assert.match(await editor.page.locator('#call-event-in-platform-secret-tip').innerText(), /Verification-Token/);
        // Amazon Connect and Genesys Cloud authenticate with the node's own Authentication: no platform secret.
        for (const eventBridge of ['amazon-connect', 'genesys-cloud']) {
            await source.selectOption(eventBridge);
            assert.deepEqual([await secret.isVisible(), await names.isVisible()], [false, true], eventBridge);
        }
        await names.fill('["not", "an object"]');
        await editor.closeEditDialog('done');
        await expectInvalid(/The names must be a JSON object of id to name/);
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-names').fill('{"arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/a-1": "John Doe (154)"}');
        await editor.closeEditDialog('done');
        await editor.canvasNode(id).locator('.red-ui-flow-node-error').waitFor({ state: 'hidden' });
    });

    it('keeps the events ticked, and a valid node loses the mark', async () => {
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-source').selectOption('raw');
        const complete = editor.page.locator('#call-event-in-events label', { hasText: 'Call is Complete' }).locator('input');
        await complete.check();
        await editor.closeEditDialog('done');
        await editor.canvasNode(id).locator('.red-ui-flow-node-error').waitFor({ state: 'hidden' });
        await editor.openEditDialog(id);
        const ticked = await editor.page
            .locator('#call-event-in-events label')
            .filter({ has: editor.page.locator('input:checked') })
            .allInnerTexts();
        assert.deepEqual(
            ticked.map((text) => text.trim()),
            ['Call is Complete'],
        );
        await editor.closeEditDialog('cancel');
    });

    it('shows the input limits with their defaults, and marks one that is not a whole number, saying why', async () => {
        const dialog = await editor.openEditDialog(id);
        assert.match((await dialog.textContent()) ?? '', /Input limits/);
        const defaults: Record<string, string> = {
            maxEvents: '500',
            maxFieldLength: '4096',
            maxListMembers: '100',
            maxCallListMembers: '500',
            maxCallSize: '64',
            maxStateSize: '96',
        };
        for (const [field, value] of Object.entries(defaults)) assert.equal(await dialog.locator(`#node-input-${field}`).inputValue(), value, field);
        await editor.page.locator('#node-input-maxEvents').fill('2.5');
        await editor.closeEditDialog('done');
        await expectInvalid(/Enter a whole number of at least 1, or leave empty for the default/);
        await editor.openEditDialog(id);
        await editor.page.locator('#node-input-maxEvents').fill('1000');
        await editor.closeEditDialog('done');
        await editor.canvasNode(id).locator('.red-ui-flow-node-error').waitFor({ state: 'hidden' });
    });
});
