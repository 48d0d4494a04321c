import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';

describe('editor: criteria filter dialog', function () {
    this.timeout(120_000);
    let session: EditorSession;
    let editor: Editor;
    let id: string;

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

    async function setRule(field: string, op: string, value: string): Promise<void> {
        const row = editor.page.locator('#node-input-rule-container li').last();
        await row.locator('select.criteria-field').selectOption(field);
        await row.locator('select.criteria-op').selectOption(op);
        await row.locator('input.criteria-value').fill(value);
    }

    it('is dragged from the palette; a rule gets a field, an operator fit for it and a value', async () => {
        id = await editor.dropFromPalette('criteria-filter', 300, 250);
        const dialog = await editor.openEditDialog(id);
        for (const field of ['node-input-name', 'node-input-match', 'node-input-outputs']) {
            assert.equal(await dialog.locator(`#${field}`).count(), 1, field);
        }
        const row = await editor.addListRow(dialog.locator('#node-input-rule-container'));
        const fieldLabels = await row.locator('select.criteria-field option').allInnerTexts();
        assert.ok(fieldLabels.includes('Group/Skill') && fieldLabels.includes('Account Codes'), fieldLabels.join(', '));
        await row.locator('select.criteria-field').selectOption('time');
        const timeOps = await row.locator('select.criteria-op option').evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value));
        assert.ok(timeOps.includes('gt') && !timeOps.includes('regex'), `operators for a time: ${timeOps.join(', ')}`);
    });

    it('shows an invalid regex on its rule and on the node, with the reason', async () => {
        await setRule('group', 'regex', '(Sales');
        // The runtime judges the regex; until its answer arrives the row may still show the problem of a moment ago.
        const problem = editor.page.locator('#node-input-rule-container .criteria-row-problem', { hasText: 'invalid regex' }).last();
        await problem.waitFor();
        assert.equal(await problem.innerText(), 'rule 1: invalid regex: unterminated group at position 1');
        await editor.closeEditDialog('done');
        const badge = editor.canvasNode(id).locator('.red-ui-flow-node-error');
        await badge.waitFor();
        await badge.hover();
        const tip = editor.page.locator('.red-ui-flow-port-tooltip', { hasText: 'rule 1' });
        await tip.waitFor();
        assert.match((await tip.textContent()) ?? '', /rule 1: invalid regex: unterminated group at position 1/);
        await editor.screenshot('criteria-filter-invalid');
    });

    it('a valid rule clears the mark and becomes the node label', async () => {
        await editor.openEditDialog(id);
        await setRule('group', 'regex', 'Sales|Support');
        // The runtime's verdict on the new regex clears the previous one's problem.
        await editor.page.locator('#node-input-rule-container .criteria-row-problem').last().waitFor({ state: 'hidden' });
        await editor.page.locator('#criteria-filter-problems').waitFor({ state: 'hidden' });
        await editor.screenshot('criteria-filter-dialog');
        await editor.closeEditDialog('done');
        await editor.canvasNode(id).locator('.red-ui-flow-node-error').waitFor({ state: 'hidden' });
        const label = await editor.canvasNode(id).locator('.red-ui-flow-node-label').textContent();
        assert.match(label ?? '', /Sales\|Support/);
    });
});
