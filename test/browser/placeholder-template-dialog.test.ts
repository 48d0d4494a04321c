import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { CALL_FIELDS } from '../../src/call/call-fields';

describe('editor: placeholder template dialog', function () {
    this.timeout(120_000);
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        session = await openEditorSession({ width: 1400, height: 900 });
        ({ editor } = session);
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
    });

    async function replaceTemplate(text: string): Promise<void> {
        const code = editor.page.locator('#node-input-template-editor');
        await code.click();
        await editor.page.keyboard.press('Control+A');
        await editor.page.keyboard.press('Delete');
        // insertText types without the code editor's auto-closing of braces and quotes.
        await editor.page.keyboard.insertText(text);
    }

    it('is dragged from the palette and shows every field, a preview and the placeholder picker', async () => {
        const id = await editor.dropFromPalette('placeholder-template', 300, 200);
        const dialog = await editor.openEditDialog(id);
        const fields = await dialog.locator('[id^="node-input-"]').evaluateAll((els) => els.map((el) => el.id));
        for (const field of ['node-input-name', 'node-input-property', 'node-input-format', 'node-input-output', 'node-input-template']) {
            assert.ok(fields.includes(field), `${field} in ${fields.join(', ')}`);
        }
        assert.deepEqual(await dialog.locator('#node-input-format option').evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value)), [
            'json',
            'xml',
            'form',
            'text',
        ]);
        const picker = dialog.locator('#ccaas-placeholder-picker option');
        // One option a call field (the runtime's list, which the dialog reads).
        await picker.nth(CALL_FIELDS.length - 1).waitFor({ state: 'attached' });
        assert.equal(await picker.count(), CALL_FIELDS.length);
        assert.equal(await picker.nth(0).innerText(), 'Call ID  {{callId}}');
        // The default template rendered from the sample call.
        const preview = dialog.locator('#ccaas-template-preview');
        await editor.page.waitForFunction(() => /"callId": "1e0c9a8e/.test(document.querySelector('#ccaas-template-preview')?.textContent ?? ''));
        assert.match(await preview.innerText(), /"agent": "John Doe \(154\)"/);
        await editor.screenshot('placeholder-template-dialog');
    });

    it('inserts the picked placeholder at the cursor and previews it', async () => {
        await editor.page.locator('#node-input-format').selectOption('text');
        await replaceTemplate('Agent: ');
        await editor.page.locator('#ccaas-placeholder-picker').selectOption('agentExtension');
        await editor.page.locator('#ccaas-placeholder-insert').click();
        await editor.page.waitForFunction(() => document.querySelector('#ccaas-template-preview')?.textContent === 'Agent: 154');
        assert.equal(await editor.page.locator('#ccaas-template-preview').innerText(), 'Agent: 154');
    });

    it('marks a template that does not parse, in the preview and on the node', async () => {
        // An opened section that is never closed (brackets would be auto-closed by the code editor as one types).
        await replaceTemplate('Tags: {{#tags}}x');
        const typed = await editor.page.locator('#node-input-template-editor .view-lines').innerText();
        assert.equal(typed.replace(/\u00a0/g, ' ').trim(), 'Tags: {{#tags}}x');
        await editor.page.locator('#ccaas-template-preview-refresh').click();
        const preview = editor.page.locator('#ccaas-template-preview.ccaas-preview-error');
        await preview.waitFor();
        assert.match(await preview.innerText(), /Template does not parse: Unclosed section "tags"/);
        const id = (await editor.nodeIds())[0];
        await editor.closeEditDialog('done');
        // Node-RED draws the invalid-node triangle on nodes whose validation fails; its tip says why.
        const badge = editor.canvasNode(id).locator('.red-ui-flow-node-error');
        await badge.waitFor();
        await badge.hover();
        const tip = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: 'Template does not parse' });
        await tip.waitFor();
        assert.match((await tip.textContent()) ?? '', /Unclosed section "tags"/);
        await editor.screenshot('placeholder-template-invalid');
    });
});
