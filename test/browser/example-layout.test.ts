// A user's first look at the package is an example tab: every example and the demo, imported through the editor,
// must draw without two nodes (with their labels, buttons and ports as drawn) overlapping, with every wire running
// left to right, and each comment above what it explains. Measured on the SVG the editor draws, not on the flow JSON,
// because a node's width comes from its label as the browser renders it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

interface FlowNode {
    id: string;
    type: string;
    label?: string;
    x?: number;
}

interface DrawnBox {
    id: string;
    type: string;
    label: string;
    left: number;
    top: number;
    right: number;
    bottom: number;
}

const examples = fs
    .readdirSync(path.join(root, 'examples'))
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file.replace(/\.json$/, ''), flow: JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')) as FlowNode[] }));

/** The drawn box of every node of the active workspace (the whole SVG group: body, label, status, ports, button). */
async function drawnBoxes(editor: Editor): Promise<DrawnBox[]> {
    return editor.page.evaluate(() => {
        const boxes: DrawnBox[] = [];
        for (const group of Array.from(document.querySelectorAll<SVGGElement>('#red-ui-workspace-chart g.red-ui-flow-node-group'))) {
            const rect = group.getBoundingClientRect();
            const node = (window as any).RED.nodes.node(group.id) as { type: string } | null;
            const label = group.querySelector('.red-ui-flow-node-label')?.textContent ?? '';
            boxes.push({ id: group.id, type: node?.type ?? '?', label, left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom });
        }
        return boxes;
    });
}

/** Source and target ids of every wire drawn on the active workspace. */
async function drawnWires(editor: Editor): Promise<Array<{ source: string; target: string }>> {
    return editor.page.evaluate(() => {
        const RED = (window as any).RED;
        const active = RED.workspaces.active();
        return RED.nodes
            .filterLinks({})
            .filter((link: { source: { z: string } }) => link.source.z === active)
            .map((link: { source: { id: string }; target: { id: string } }) => ({ source: link.source.id, target: link.target.id }));
    });
}

const overlaps = (a: DrawnBox, b: DrawnBox): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const describeBox = (box: DrawnBox): string =>
    `${box.type} "${box.label}" [${Math.round(box.left)}..${Math.round(box.right)} x ${Math.round(box.top)}..${Math.round(box.bottom)}]`;

describe('editor: every example and the demo are laid out to be read', function () {
    this.timeout(180_000);
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        session = await openEditorSession({ width: 1600, height: 1000 });
        ({ editor } = session);
    });

    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
    });

    for (const { name, flow } of examples) {
        it(`"${name}": no two nodes overlap, wires run left to right, comments sit above what they explain`, async () => {
            const tab = flow.find((node) => node.type === 'tab')!;
            // A configuration node (ccaas-oauth2) has no position: the editor draws it nowhere.
            const nodes = flow.filter((node) => node.type !== 'tab' && node.x !== undefined);
            await editor.importExample(pkg.name, name);
            await editor.showWorkspace(tab.label!);
            const chart = editor.page.locator('#red-ui-workspace-chart');
            await chart
                .locator('g.red-ui-flow-node-group')
                .nth(nodes.length - 1)
                .waitFor();

            const boxes = await drawnBoxes(editor);
            assert.deepEqual(boxes.map((box) => box.id).sort(), nodes.map((node) => node.id).sort(), 'every node of the example is drawn');
            for (const box of boxes) assert.ok(box.right > box.left && box.bottom > box.top, `${describeBox(box)} has a size`);

            const overlapping: string[] = [];
            for (let i = 0; i < boxes.length; i += 1) {
                for (let j = i + 1; j < boxes.length; j += 1) {
                    if (overlaps(boxes[i], boxes[j])) overlapping.push(`${describeBox(boxes[i])} overlaps ${describeBox(boxes[j])}`);
                }
            }
            assert.deepEqual(overlapping, [], 'no two drawn nodes overlap');

            const byId = new Map(boxes.map((box) => [box.id, box]));
            const wires = await drawnWires(editor);
            assert.ok(wires.length >= 1, 'the example has wires');
            const backwards = wires
                .map(({ source, target }) => [byId.get(source)!, byId.get(target)!])
                .filter(([source, target]) => !(source.right < target.left))
                .map(([source, target]) => `${describeBox(source)} -> ${describeBox(target)}`);
            assert.deepEqual(backwards, [], 'every wire leaves its node on the right and enters the next one on its left');

            // The nearest node a comment shares columns with is the one it explains: it must be below the comment.
            for (const comment of boxes.filter((box) => box.type === 'comment')) {
                const sharingColumns = boxes.filter((box) => box.type !== 'comment' && box.left < comment.right && comment.left < box.right);
                assert.ok(sharingColumns.length > 0, `${describeBox(comment)} stands over no node`);
                const nearest = sharingColumns.reduce((best, box) => (Math.abs(box.top - comment.bottom) < Math.abs(best.top - comment.bottom) ? box : best));
                assert.ok(nearest.top >= comment.bottom, `${describeBox(comment)} is not above ${describeBox(nearest)}`);
            }

            await editor.screenshot(`layout-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, chart);
        });
    }
});
