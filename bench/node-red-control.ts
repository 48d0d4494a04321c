// What the bench does to a running Node-RED (deploy a flow, press an inject) and which Node-RED it runs: the
// package's own, and Node-RED 5 on Node 22 from the test matrix's install.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { NodeRedProcess } from '../test/support/node-red-process';

/**
 * Deploys `flows` with none of the state an earlier round left: removing the nodes first deletes their call state
 * and outbox, so a round never starts by restoring the calls of the rounds before it.
 */
export async function freshDeploy(nodeRed: NodeRedProcess, flows: object[]): Promise<void> {
    await deploy(nodeRed, []);
    await deploy(nodeRed, flows);
}

export async function deploy(nodeRed: NodeRedProcess, flows: object[]): Promise<void> {
    const started = (nodeRed.log().match(/Started flows/g) ?? []).length;
    const response = await fetch(`${nodeRed.url}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify(flows),
    });
    if (response.status !== 204 && response.status !== 200) throw new Error(`deploy answered ${response.status}: ${await response.text()}`);
    const deadline = performance.now() + 30_000;
    while ((nodeRed.log().match(/Started flows/g) ?? []).length <= started) {
        if (performance.now() > deadline) throw new Error(`flows did not start after deploy:\n${nodeRed.log()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

export async function inject(nodeRed: NodeRedProcess, id: string): Promise<void> {
    const response = await fetch(`${nodeRed.url}/inject/${id}`, { method: 'POST' });
    if (response.status !== 200) throw new Error(`inject ${id} answered ${response.status}`);
}

export function nodeRedVersion(): string {
    return (JSON.parse(fs.readFileSync(require.resolve('node-red/package.json'), 'utf8')) as { version: string }).version;
}

/** A runtime of the test matrix (scripts/test-matrix.js): where its Node-RED and its Node binary are. */
interface MatrixLeg {
    name: string;
    nodeRedDir: string;
    nodeBinary(): string;
}

/** Node-RED 5 on Node 22 from the test matrix's install, if it is there. */
export function nodeRed5(): { nodeRedPath: string; nodeBinary: string; version: string } | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const matrix = require('../scripts/test-matrix.js') as { LEGS: MatrixLeg[]; installed(leg: MatrixLeg): boolean };
    const leg = matrix.LEGS.find((each) => each.name === 'node-red-5')!;
    if (!matrix.installed(leg)) return undefined;
    const nodeRedPath = path.join(leg.nodeRedDir, 'red.js');
    const nodeBinary = leg.nodeBinary();
    const version = (JSON.parse(fs.readFileSync(path.join(leg.nodeRedDir, 'package.json'), 'utf8')) as { version: string }).version;
    const node = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' }).stdout.trim();
    return { nodeRedPath, nodeBinary, version: `${version} on Node ${node}` };
}
