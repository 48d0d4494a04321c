import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

interface FlowNode {
    id: string;
    type: string;
    name?: string;
    label?: string;
    info?: string;
    authType?: string;
    apiKeyHeader?: string;
    oauth2?: string;
    x?: number;
}

/**
 * A node an example leaves waiting for its secret, which an example never carries: a web service out whose chosen
 * authentication takes one, and an OAuth 2.0 configuration (ccaas-oauth2), whose client id and secret or refresh
 * token are the user's. A web service out using that configuration is invalid with it (nodes/web-service-out.html).
 */
function needsSecret(node: FlowNode): boolean {
    if (node.type === 'ccaas-oauth2') return true;
    if (node.type !== 'web-service-out') return false;
    return node.authType === 'basic' || node.authType === 'bearer' || node.authType === 'oauth2' || Boolean(node.apiKeyHeader?.trim());
}

/** Configuration nodes (ccaas-oauth2) have no position: the editor lists them apart and draws them nowhere. */
const isConfigNode = (node: FlowNode): boolean => node.x === undefined;

// Node-RED lists every .json file of the package's examples/ folder under its name, without the extension.
const examples = fs
    .readdirSync(path.join(root, 'examples'))
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file.replace(/\.json$/, ''), flow: JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')) as FlowNode[] }));

// Importing an example is only the start: it leaves the secrets to the user, as its comment says ("Fill in:").
// Until then the runtime refuses the web service out with this error; any other error is a fault of the example.
const MISSING_SECRET = /^(bearer authentication|basic authentication|API key header "[^"]+"): the (token|password|key) is missing from the node's credentials$/;
const MISSING_CLIENT_ID = 'clientId: the client id is missing from the credentials';

/** The debug sidebar shows a string's first 80 characters (the editor's MAX_STRING_LENGTH), then "...". */
const shownInSidebar = (text: string): string => (text.length > 80 ? `${text.slice(0, 80)}...` : text);

/** What an example's OAuth 2.0 configuration, and each node using it, report without the configuration's client id. */
function missingClientId(flow: FlowNode[]): string[] {
    const users = flow.filter((node) => node.type === 'web-service-out' && node.authType === 'oauth2');
    if (users.length === 0) return [];
    return [MISSING_CLIENT_ID, ...users.map((node) => `oauth2: the OAuth 2.0 configuration ${node.oauth2} cannot work: ${MISSING_CLIENT_ID}`)].map(
        shownInSidebar,
    );
}

describe('editor: Import > Examples', function () {
    this.timeout(180_000);
    let session: EditorSession;
    let editor: Editor;
    let awaitingSecret = 0;

    before(async () => {
        session = await openEditorSession({ width: 1600, height: 1000 });
        ({ editor } = session);
        await editor.showSidebar('debug');
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
    });

    it(`lists every file of examples/ under the ${pkg.name} folder`, async () => {
        const library = await editor.openImportExamples(pkg.name);
        // The folder's entries are the labels indented one level below it.
        const folder = library.locator('li', { has: editor.page.getByText(pkg.name, { exact: true }) }).last();
        const entries = folder.locator(':scope > .red-ui-editableList-item-content > .red-ui-editableList .red-ui-treeList-label-text');
        await entries.nth(examples.length - 1).waitFor();
        assert.deepEqual(
            await entries.allInnerTexts(),
            examples.map((example) => example.name),
        );
        await editor.screenshot('import-examples');
        await editor.page.locator('#red-ui-clipboard-dialog-cancel').click();
        await editor.page.locator('#red-ui-clipboard-dialog-cancel').waitFor({ state: 'hidden' });
    });

    for (const { name, flow } of examples) {
        it(`imports "${name}" and deploys it without errors`, async () => {
            const tab = flow.find((node) => node.type === 'tab')!;
            const nodes = flow.filter((node) => node.type !== 'tab');
            const drawn = nodes.filter((node) => !isConfigNode(node));
            const configs = nodes.length - drawn.length;

            const imported = await editor.importExample(pkg.name, name);
            assert.doesNotMatch(imported, /unrecognised/i, imported);
            const configLine = configs === 0 ? '' : `\\s+${configs} configuration nodes?`;
            assert.match(imported, new RegExp(`^Imported:\\s+1 flow\\s+${drawn.length} nodes${configLine}$`), imported);

            await editor.showWorkspace(tab.label!);
            const chart = editor.page.locator('#red-ui-workspace-chart');
            await chart
                .locator('g.red-ui-flow-node-group')
                .nth(drawn.length - 1)
                .waitFor();
            assert.equal(await chart.locator('g.red-ui-flow-node-group').count(), drawn.length, 'every node of the example is on its tab');
            assert.equal(await chart.locator('.red-ui-flow-node-unknown').count(), 0, 'no unknown node type');
            // An example leaves its secrets to the user: exactly the nodes that need one (needsSecret) are marked
            // invalid until it is filled in, and the example's comment says to fill it in.
            const needSecret = nodes.filter(needsSecret).map((node) => `${node.type} ${node.id}`);
            const drawnNeedingSecret = drawn.filter(needsSecret).length;
            assert.equal(
                await chart.locator('.red-ui-flow-node-error:visible').count(),
                drawnNeedingSecret,
                'only nodes without their secret carry the invalid mark',
            );
            const invalid = await editor.page.evaluate((z) => {
                const names: string[] = [];
                // Inline callbacks only: a named function here would be compiled to a helper the page lacks.
                for (const each of ['eachNode', 'eachConfig']) {
                    (window as any).RED.nodes[each]((node: { z: string; valid: boolean; type: string; id: string }) => {
                        if (node.z === z && node.valid === false) names.push(`${node.type} ${node.id}`);
                    });
                }
                return names;
            }, tab.id);
            assert.deepEqual(invalid.sort(), needSecret.sort(), 'the editor finds every node valid but those missing a secret');
            const fillIn = nodes.some((node) => node.type === 'comment' && /\*\*Fill in:\*\*/.test(node.info ?? ''));
            if (needSecret.length > 0) assert.ok(fillIn, `"${name}" has nodes without their secret but no "Fill in:" comment`);

            await editor.page.locator('#red-ui-sidebar-debug-clear').click();
            // The examples imported before stay on their tabs, so the deploy asks about every node still waiting
            // for its secret: web service out nodes and OAuth 2.0 configurations, once an example has had one.
            awaitingSecret += needSecret.length;
            // The editor names the first five and counts the rest ("+ 2 more").
            await editor.deploy(
                awaitingSecret > 0
                    ? { confirm: /not properly configured: (\[[^\]]+\] [^()]+ \((web-service-out|ccaas-oauth2)\) ){1,5}(\+ \d+ more )?Are you sure/ }
                    : {},
            );
            // The example's endpoint is running once its call event in reports its calls.
            const events = flow.find((node) => node.type === 'call-event-in');
            if (events) await editor.canvasNode(events.id).locator('.red-ui-flow-node-status-label', { hasText: /calls/ }).waitFor();
            // Errors a node reports when it starts arrive in the debug sidebar within moments of the flow starting.
            await editor.page.waitForTimeout(1000);
            const names = new Set(nodes.map((node) => node.name).filter(Boolean));
            const errors: string[] = [];
            for (const message of await editor.page.locator('#red-ui-sidebar-content .red-ui-debug-msg.red-ui-debug-msg-level-20').all()) {
                const source = (await message.locator('.red-ui-debug-msg-name').innerText()).replace(/^node: /, '');
                if (names.has(source)) errors.push((await message.locator('.red-ui-debug-msg-payload').innerText()).trim().replace(/^"|"$/g, ''));
            }
            const oauth2Errors = missingClientId(flow);
            for (const error of errors) {
                assert.ok(
                    fillIn && (MISSING_SECRET.test(error) || oauth2Errors.includes(error)),
                    `"${name}" reports an error its comment does not prepare the user for: ${error}`,
                );
            }
            if (name.startsWith('01 ')) await editor.screenshot('example-flow');
        });
    }
});
