import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import type { NodeRedProcess } from '../support/node-red-process';

const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
// Config nodes (ccaas-oauth2) are not in the palette: they are added from the dialog of a node that uses them.
const NODE_TYPES = Object.keys(pkg['node-red'].nodes as Record<string, string>).filter(
    (type) => !/category:\s*'config'/.test(fs.readFileSync(path.resolve(__dirname, '../../nodes', `${type}.html`), 'utf8')),
);
const PALETTE_LABELS: Record<string, string> = {
    'call-event-in': 'call event in',
    'criteria-filter': 'criteria filter',
    'placeholder-template': 'placeholder template',
    'web-service-out': 'web service out',
};

describe('editor: palette and help', function () {
    this.timeout(120_000);
    let nodeRed: NodeRedProcess;
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        session = await openEditorSession({ width: 1400, height: 900 });
        ({ editor, nodeRed } = session);
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
    });

    it('lists every node of the package under "contact center", with its label and icon', async () => {
        const category = editor.page.locator('#red-ui-palette-container-contact_center');
        await category.waitFor();
        assert.equal((await category.locator('.red-ui-palette-header').innerText()).trim(), 'contact center');
        for (const type of NODE_TYPES) {
            const entry = category.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
            assert.equal((await entry.locator('.red-ui-palette-label').innerText()).replace(/\s+/g, ' ').trim(), PALETTE_LABELS[type], type);
            const icon = await entry.locator('.red-ui-palette-icon').evaluate((el) => getComputedStyle(el).backgroundImage);
            assert.match(icon, new RegExp(`icons/${pkg.name.replace('/', '\\/')}/${type}\\.svg`), type);
            const iconResponse = await fetch(`${nodeRed.url}/icons/${pkg.name}/${type}.svg`);
            assert.equal(iconResponse.status, 200, `${type} icon`);
        }
        await editor.screenshot('palette');
    });

    for (const type of NODE_TYPES) {
        it(`shows the help of ${type} in the sidebar`, async () => {
            // The palette's hover tip carries a book button that opens the node's help in the sidebar.
            // A previous node's tip lingers while it fades; its book button would open that node's help.
            await editor.page.mouse.move(700, 500);
            await editor.page.locator('.red-ui-popover').waitFor({ state: 'detached' });
            await editor.paletteNode(type).hover();
            await editor.page.locator('.red-ui-popover button:has(i.fa-book)').click();
            // The panel keeps the previous node's help until this one's has loaded.
            const help = editor.page
                .locator('#red-ui-sidebar-content .red-ui-help')
                .filter({ hasText: new RegExp(`^\\s*${PALETTE_LABELS[type]}`) })
                .filter({ has: editor.page.locator('h3', { hasText: 'Details' }) })
                .first();
            await help.waitFor();
            const text = await help.innerText();
            assert.match(text, new RegExp(`^${PALETTE_LABELS[type]}`));
            assert.match(text, /Outputs/);
            await editor.screenshot(`help-${type}`);
        });
    }
});
