// Drives the real Node-RED editor in Debian's Chromium through playwright-core, the way a user works in it.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
export { userDirWithPackage } from './node-red-process';

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

export class Editor {
    readonly errors: string[] = [];

    constructor(readonly page: Page, readonly url: string) {
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
        return dialog;
    }

    async closeEditDialog(button: 'done' | 'cancel'): Promise<void> {
        await this.page.locator(`#node-dialog-${button === 'done' ? 'ok' : 'cancel'}`).click();
        await this.page.locator('#dialog-form').waitFor({ state: 'detached' });
    }

    async deploy(): Promise<void> {
        await this.page.locator('#red-ui-header-button-deploy').click();
        await this.page.locator('.red-ui-notification', { hasText: 'Successfully deployed' }).waitFor();
    }

    async showSidebar(tab: 'debug' | 'help' | 'info'): Promise<void> {
        await this.page.locator(`#red-ui-tab-${tab}-link-button`).click();
    }

    debugMessages(): Locator {
        return this.page.locator('#red-ui-sidebar-content .red-ui-debug-msg');
    }

    async screenshot(name: string): Promise<void> {
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        await this.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
    }
}
