// Drives the real Node-RED editor in Debian's Chromium through playwright-core, the way a user works in it.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from './node-red-process';
export { userDirWithPackage };

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const root = path.resolve(__dirname, '../..');
export const SCREENSHOTS = path.join(root, 'test-output', 'screenshots');

export async function launchChromium(): Promise<Browser> {
    if (!fs.existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} not found: the editor tests need Debian's chromium (apt-get install -y chromium), or CHROMIUM_PATH`);
    }
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        // Without the background-networking flags Chromium keeps dialing out, which this machine refuses.
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
}

export interface EditorSession {
    nodeRed: NodeRedProcess;
    editor: Editor;
    /** Closes the browser, then stops Node-RED. */
    close(): Promise<void>;
}

export interface EditorSessionOptions {
    /** The flows Node-RED starts with (none by default). */
    flows?: object[];
    /** Extra lines of settings.js (adminAuth, say). */
    settings?: string;
    /** Signs the editor in as the user of this adminAuth token before it opens, as a login would. */
    signIn?: (nodeRed: NodeRedProcess) => Promise<string>;
}

/** How every editor test starts: a real Node-RED with this package installed and no flows, its editor open in Chromium. */
export async function openEditorSession(viewport: { width: number; height: number }, options: EditorSessionOptions = {}): Promise<EditorSession> {
    const nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: options.flows ?? [], settings: options.settings });
    let browser: Browser | undefined;
    try {
        browser = await launchChromium();
        const page = await browser.newPage({ viewport });
        if (options.signIn) {
            const token = await options.signIn(nodeRed);
            // Where the editor keeps the tokens of a login: it sends them with every admin request.
            await page.addInitScript((accessToken) => {
                localStorage.setItem('auth-tokens', JSON.stringify({ access_token: accessToken, expires_in: 3600, token_type: 'Bearer' }));
            }, token);
        }
        const editor = new Editor(page, nodeRed.url);
        await editor.open();
        const opened = browser;
        return {
            nodeRed,
            editor,
            close: async () => {
                await opened.close();
                await nodeRed.stop();
            },
        };
    } catch (err) {
        await browser?.close();
        await nodeRed.stop();
        throw err;
    }
}

export class Editor {
    readonly errors: string[] = [];

    constructor(
        readonly page: Page,
        readonly url: string,
    ) {
        page.on('pageerror', (err) => this.errors.push(err.message));
    }

    async open(): Promise<void> {
        await this.page.goto(this.url);
        await this.page.locator('#red-ui-palette-container').waitFor();
        await this.page.locator('.red-ui-palette-node').first().waitFor();
    }

    paletteNode(type: string): Locator {
        return this.page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
    }

    canvasNode(id: string): Locator {
        return this.page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
    }

    async nodeIds(): Promise<string[]> {
        return this.page.evaluate(() => {
            const ids: string[] = [];
            (window as any).RED.nodes.eachNode((node: { id: string }) => {
                ids.push(node.id);
            });
            return ids;
        });
    }

    /** Drags a node from the palette onto the canvas at (x, y) of the workspace and returns its id. */
    async dropFromPalette(type: string, x: number, y: number): Promise<string> {
        const before = new Set(await this.nodeIds());
        const entry = this.paletteNode(type);
        await entry.scrollIntoViewIfNeeded();
        const from = (await entry.boundingBox())!;
        const chart = (await this.page.locator('#red-ui-workspace-chart').boundingBox())!;
        await this.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
        await this.page.mouse.down();
        await this.page.mouse.move(from.x + from.width / 2 + 20, from.y + from.height / 2, { steps: 4 });
        await this.page.mouse.move(chart.x + x, chart.y + y, { steps: 12 });
        await this.page.mouse.up();
        const added = (await this.nodeIds()).filter((id) => !before.has(id));
        if (added.length !== 1) throw new Error(`dropping ${type} added ${added.length} nodes`);
        return added[0];
    }

    /** Draws a wire from a node's output port to another node's input, with the mouse. */
    async wire(fromId: string, toId: string, output = 0): Promise<void> {
        const port = (await this.canvasNode(fromId).locator('.red-ui-flow-port-output').nth(output).boundingBox())!;
        const input = (await this.canvasNode(toId).locator('.red-ui-flow-port-input').boundingBox())!;
        await this.page.mouse.move(port.x + port.width / 2, port.y + port.height / 2);
        await this.page.mouse.down();
        await this.page.mouse.move(input.x + input.width / 2, input.y + input.height / 2, { steps: 10 });
        await this.page.mouse.up();
    }

    async openEditDialog(id: string): Promise<Locator> {
        await this.canvasNode(id).locator('.red-ui-flow-node').dblclick();
        const dialog = this.page.locator('#dialog-form');
        await dialog.waitFor();
        // The tray slides in from the right; on a busy machine a click aimed at it while it moves lands beside it.
        await this.page.waitForFunction(() => {
            const trays = document.querySelectorAll('#red-ui-editor-stack .red-ui-tray');
            const top = trays[trays.length - 1];
            return top !== undefined && getComputedStyle(top).right === '0px';
        });
        return dialog;
    }

    /**
     * Clicks an editable list's add button (a rule of criteria filter, a header of web service out) and returns the
     * new row, clicking again if no row came of it (three tries).
     */
    async addListRow(list: Locator): Promise<Locator> {
        const rows = list.locator(':scope > li');
        const before = await rows.count();
        // Node-RED wraps the list in a div of class red-ui-editableList, which also holds the add button.
        const add = list
            .locator('xpath=ancestor::div[contains(concat(" ", normalize-space(@class), " "), " red-ui-editableList ")][1]')
            .locator('.red-ui-editableList-addButton');
        for (let attempt = 1; ; attempt += 1) {
            await add.click();
            try {
                await rows.nth(before).waitFor({ timeout: 5_000 });
                return rows.nth(before);
            } catch (err) {
                if (attempt >= 3) throw err;
            }
        }
    }

    async closeEditDialog(button: 'done' | 'cancel'): Promise<void> {
        await this.page.locator(`#node-dialog-${button === 'done' ? 'ok' : 'cancel'}`).click();
        await this.page.locator('#dialog-form').waitFor({ state: 'detached' });
    }

    /**
     * Deploys and waits for "Successfully deployed". When Node-RED asks first (unknown node types, nodes not properly
     * configured), that question is the failure: its text is thrown instead of waiting the timeout out, unless it is
     * the question `confirm` expects, which is then answered "Confirm deploy".
     */
    async deploy(options: { confirm?: RegExp } = {}): Promise<void> {
        await this.markNotificationsSeen();
        await this.page.locator('#red-ui-header-button-deploy').click();
        const confirmButton = this.page.locator('#red-ui-deploy-dialog-confirm-deploy-deploy');
        const question = this.page.locator('.red-ui-notification', { has: confirmButton });
        const deployed = this.newNotification('Successfully deployed');
        await deployed.or(question).first().waitFor();
        if (await question.isVisible()) {
            const text = (await question.innerText()).replace(/\s+/g, ' ');
            if (!options.confirm || !options.confirm.test(text)) throw new Error(`Deploy asked for confirmation: ${text}`);
            await confirmButton.click();
            await deployed.waitFor();
        }
    }

    async showSidebar(tab: 'debug' | 'help' | 'info'): Promise<void> {
        await this.selectTab(this.page.locator(`#red-ui-tab-${tab}-link-button`), (timeout) =>
            this.page.locator(`#red-ui-sidebar li#red-ui-tab-${tab}.active`).waitFor({ state: 'attached', timeout }),
        );
    }

    /**
     * Shows the deliveries tab of web service out. The sidebar has room for the buttons of its first tabs only: a tab
     * added by a package is reached through the sidebar's tab menu (the caret beside the buttons), as a user does.
     */
    async showDeliveries(): Promise<void> {
        const shown = (timeout: number) => this.page.locator('#red-ui-sidebar li#red-ui-tab-ccaas-deliveries.active').waitFor({ state: 'attached', timeout });
        const button = this.page.locator('#red-ui-tab-ccaas-deliveries-link-button');
        if (await button.isVisible()) {
            await this.selectTab(button, shown);
            return;
        }
        await this.selectTab(this.page.locator('#red-ui-sidebar .red-ui-tab-link-button-menu'), async (timeout) => {
            const option = this.page.locator('#red-ui-tabs-menu-option-ccaas-deliveries');
            await option.waitFor({ timeout });
            await option.click();
            await shown(timeout);
        });
    }

    /**
     * Clicks a tab of one of the editor's tab sets (workspaces, sidebar, the import dialog's sources) and waits until
     * `selected` says it is shown, clicking again if it is not. All of Node-RED's tab sets share one double-click
     * timer (`dblClickTime` in RED.tabs): a click on any tab within 400 ms of a click on another one, of any set, is
     * taken as the second half of a double-click and selects nothing. A person is rarely that quick, a test often is
     * (a workspace tab, then Menu > Import > Examples); the click after such a miss is a single click again.
     */
    private async selectTab(tab: Locator, selected: (timeout: number) => Promise<unknown>): Promise<void> {
        for (let attempt = 1; ; attempt += 1) {
            await tab.scrollIntoViewIfNeeded();
            await tab.click();
            try {
                await selected(5_000);
                return;
            } catch (err) {
                if (attempt >= 3) throw err;
            }
        }
    }

    /** Drags the sidebar's edge to the left, so that long debug messages fit. */
    async widenSidebar(pixels: number): Promise<void> {
        const edge = (await this.page.locator('#red-ui-sidebar-separator').boundingBox())!;
        const x = edge.x + edge.width / 2;
        const y = edge.y + edge.height / 2;
        await this.page.mouse.move(x, y);
        await this.page.mouse.down();
        await this.page.mouse.move(x - pixels, y, { steps: 8 });
        await this.page.mouse.up();
    }

    debugMessages(): Locator {
        return this.page.locator('#red-ui-sidebar-content .red-ui-debug-msg');
    }

    /** Picks an option of a typedInput's type menu, e.g. the debug node's "complete msg object" (`full`). */
    async selectTypedInputType(inputId: string, type: string): Promise<void> {
        await this.typedInput(inputId).locator('button.red-ui-typedInput-type-select').click();
        await this.page.locator(`.red-ui-typedInput-options a[value="${type}"]`).click();
    }

    /** The visible widget Node-RED puts after a typedInput's hidden input. */
    typedInput(inputId: string): Locator {
        return this.page.locator(`#${inputId} + .red-ui-typedInput-container`);
    }

    /** Clicks the button a node draws on the canvas (inject's, debug's toggle, call event in's simulate). */
    async clickNodeButton(id: string): Promise<void> {
        await this.canvasNode(id).locator('.red-ui-flow-node-button-button').click();
    }

    notification(text: string | RegExp): Locator {
        return this.page.locator('.red-ui-notification', { hasText: text });
    }

    /** Notifications of earlier steps stay a few seconds while they fade: marked, newNotification skips them. */
    async markNotificationsSeen(): Promise<void> {
        await this.page.evaluate(() => document.querySelectorAll('.red-ui-notification').forEach((el) => el.setAttribute('data-test-seen', '')));
    }

    newNotification(text: string | RegExp): Locator {
        return this.page.locator('.red-ui-notification:not([data-test-seen])', { hasText: text });
    }

    /** Shows the workspace tab with this label (a flow's tab). */
    async showWorkspace(label: string): Promise<void> {
        const tab = this.page.locator('#red-ui-workspace-tabs li.red-ui-tab', { has: this.page.getByText(label, { exact: true }) });
        await this.selectTab(tab.locator('a.red-ui-tab-label'), (timeout) =>
            this.page.waitForFunction(
                (wanted) => {
                    const RED = (window as any).RED;
                    return RED.nodes.workspace(RED.workspaces.active())?.label === wanted;
                },
                label,
                { timeout },
            ),
        );
    }

    /**
     * Menu > Import, its Examples source shown, and the package's folder opened: where a user picks an example.
     * Returns the examples' tree.
     */
    async openImportExamples(folder: string): Promise<Locator> {
        await this.page.locator('#red-ui-header-button-sidemenu').click();
        await this.page.locator('#menu-item-import').click();
        await this.page.locator('#red-ui-clipboard-dialog-import-tabs').waitFor();
        const library = this.page.locator('#red-ui-clipboard-dialog-import-tab-examples');
        await this.selectTab(this.page.locator('#red-ui-clipboard-dialog-import-tabs a', { hasText: 'Examples' }), (timeout) => library.waitFor({ timeout }));
        const folderLabel = this.treeLabel(library, folder);
        // The examples tree arrives from the runtime after the tab shows: the folder is opened once it is drawn, and
        // it is open when its first entry shows (a label click toggles it, so it is clicked again only if still shut).
        // Each tree level is an li holding the levels below it: the last li holding the folder's name is the folder.
        const firstEntry = library
            .locator('li', { has: this.page.getByText(folder, { exact: true }) })
            .last()
            .locator(':scope > .red-ui-editableList-item-content > .red-ui-editableList .red-ui-treeList-label')
            .first();
        for (let attempt = 1; !(await firstEntry.isVisible()); attempt += 1) {
            await folderLabel.click();
            try {
                await firstEntry.waitFor({ timeout: 5_000 });
            } catch (err) {
                if (attempt >= 3) throw err;
            }
        }
        return library;
    }

    /**
     * Menu > Import > Examples, the package's folder, one example, Import: the way a user brings an example in.
     * Returns the text of the "Imported" notification.
     */
    async importExample(folder: string, example: string): Promise<string> {
        // Node-RED rewrites a still-visible "Imported" notification in place (it has a fixed id), so the previous
        // one must be gone before this import's can be told apart.
        await this.notification('Imported').first().waitFor({ state: 'detached', timeout: 15_000 });
        const library = await this.openImportExamples(folder);
        const entry = this.treeLabel(library, example);
        // Import is enabled once the editor has fetched the chosen flow; on a busy machine a click that lands while
        // the tree list is still being drawn selects nothing, so the choice is made again (three tries at most).
        const importButton = this.page.locator('#red-ui-clipboard-dialog-ok:enabled');
        for (let attempt = 1; ; attempt += 1) {
            await entry.click();
            try {
                await importButton.waitFor({ timeout: 10_000 });
                break;
            } catch (err) {
                if (attempt >= 3) throw err;
            }
        }
        await this.markNotificationsSeen();
        await this.page.locator('#red-ui-clipboard-dialog-ok').click();
        const imported = this.newNotification('Imported');
        await imported.waitFor();
        const text = await imported.innerText();
        await this.page.locator('#red-ui-clipboard-dialog-ok').waitFor({ state: 'hidden' });
        return text;
    }

    private treeLabel(tree: Locator, text: string): Locator {
        return tree.locator('.red-ui-treeList-label', { has: this.page.getByText(text, { exact: true }) });
    }

    /**
     * Closes what a test may have left open (the import dialog, edit trays, a deploy question), so that the test after a
     * failed one starts on the editor as the failed one found it: without this, one failure leaves a modal overlay
     * that catches every later click, and the report names every test after it. Each editor test file calls it after
     * a failed test (its passing tests may hand an open dialog to the next step of the same story).
     */
    async leaveAsFound(): Promise<void> {
        const importCancel = this.page.locator('#red-ui-clipboard-dialog-cancel');
        if (await importCancel.isVisible()) {
            await importCancel.click();
            await importCancel.waitFor({ state: 'hidden' });
        }
        // Trays stack (a configuration node's above the node's that opened it), and only the top one is in the page:
        // cancelling it brings back the one below. Cancelled from the top until none is left.
        const cancels = ['#node-config-dialog-cancel', '#node-dialog-cancel'].map((id) => this.page.locator(id));
        for (let trays = 0; trays < 5; trays += 1) {
            const cancel = (await cancels[0].isVisible()) ? cancels[0] : (await cancels[1].isVisible()) ? cancels[1] : undefined;
            if (!cancel) break;
            await cancel.click();
            await cancel.waitFor({ state: 'detached' });
        }
        const question = this.page.locator('.red-ui-notification:visible', { has: this.page.getByRole('button', { name: 'Cancel' }) });
        // Notifications slide as the ones around them close, so a pointer click may wait for a question that never
        // stands still: its button's click handler is reached directly (this only clears up after a failure).
        for (let asked = 0; asked < 3 && (await question.count()) > 0; asked += 1) {
            const cancel = question.first().getByRole('button', { name: 'Cancel' });
            await cancel.dispatchEvent('click');
            await cancel.waitFor({ state: 'detached' });
        }
        await this.page.locator('.ui-widget-overlay').first().waitFor({ state: 'detached' });
    }

    /**
     * The text of one property of a message in the debug sidebar, found the way a user finds it: expanding the
     * message and each object on the way, e.g. ['request', 'method'].
     */
    async debugValue(message: Locator, keys: string[]): Promise<string> {
        const element = await this.expandDebugPath(message, keys);
        return (await element.locator(':scope > .red-ui-debug-msg-row > .red-ui-debug-msg-object-value').innerText()).trim();
    }

    /** Folds an object of a debug message shown by debugValue back up, to keep the sidebar readable. */
    async collapseDebugValue(message: Locator, keys: string[]): Promise<void> {
        const element = await this.expandDebugPath(message, keys);
        if (!(await element.evaluate((el) => el.classList.contains('collapsed')))) {
            await element.locator(':scope > .red-ui-debug-msg-row').click();
        }
    }

    /** Expands the message and each object on the way to `keys`, and returns the element of that property. */
    private async expandDebugPath(message: Locator, keys: string[]): Promise<Locator> {
        let element = message.locator('.red-ui-debug-msg-element.red-ui-debug-msg-top-level').first();
        for (const key of keys) {
            if (await element.evaluate((el) => el.classList.contains('collapsed'))) {
                await element.locator(':scope > .red-ui-debug-msg-row').click();
            }
            element = element
                .locator(':scope > .red-ui-debug-msg-object-entry > .red-ui-debug-msg-element')
                .filter({ has: this.page.locator(':scope > .red-ui-debug-msg-row > .red-ui-debug-msg-object-key', { hasText: new RegExp(`^${key}$`) }) });
            await element.waitFor();
        }
        return element;
    }

    /** A screenshot of the page, or of one part of it (the canvas, the sidebar). */
    async screenshot(name: string, part?: Locator): Promise<void> {
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        const file = path.join(SCREENSHOTS, `${name}.png`);
        if (part) await part.screenshot({ path: file });
        else await this.page.screenshot({ path: file });
    }
}
