// node-red-node-test-helper, started once for the whole run. The runtime is the Node-RED installed as a dev
// dependency unless NODE_RED_PATH names another one (the Node-RED 5 leg of npm run test:matrix).
import helper from 'node-red-node-test-helper';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { NodeAPI } from 'node-red';

/** The node-red package directory (or its entry file) the tests run against. */
const runtimePath = process.env.NODE_RED_PATH ? require.resolve(path.resolve(process.env.NODE_RED_PATH)) : require.resolve('node-red');

// Nodes that keep files (the outbox of "web service out") keep them under the user directory: a temporary one.
helper.init(runtimePath, { telemetry: { enabled: false }, userDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-helper-')) } as Record<string, unknown>);

/** Gives the nodes loaded next a new, empty user directory, so no outbox of an earlier test is resumed. */
export function freshUserDir(): string {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-helper-'));
    helper.settings().userDir = userDir;
    return userDir;
}

/**
 * A node's runtime module, loaded from its TypeScript source (tsx compiles it on the fly), so node tests never
 * depend on a build. The compiled package is exercised by test/package/.
 */
export function nodeModule(name: string): unknown {
    const folder = path.resolve(__dirname, '../../src/nodes', name);
    const source = fs.existsSync(path.join(folder, 'index.ts')) ? path.join(folder, 'index.ts') : `${folder}.ts`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const register = require(source) as (RED: NodeAPI) => void;
    return (RED: NodeAPI) => register(translating(RED, name));
}

/**
 * The helper's RED._ returns the key it is given; Node-RED's translates it from the node's catalog. The node sees
 * the latter here, so tests read the English a user reads.
 */
function translating(RED: NodeAPI, name: string): NodeAPI {
    const catalog = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../nodes/locales/en-US', `${name}.json`), 'utf8')) as Record<string, unknown>;
    const translate = (key: string, values: Record<string, unknown> = {}): string => {
        const colon = key.indexOf(':');
        // A key of another namespace (node-red:common...) is not in this catalog: it comes back as the key.
        if (colon >= 0 && key.slice(0, colon) !== name) return key;
        let found: unknown = catalog;
        for (const part of key.slice(colon + 1).split('.')) found = found && typeof found === 'object' ? (found as Record<string, unknown>)[part] : undefined;
        if (typeof found !== 'string') return key;
        return found.replace(/__([A-Za-z0-9_]+)__/g, (whole, field: string) => (field in values ? String(values[field]) : whole));
    };
    return new Proxy(RED, { get: (target, property) => (property === '_' ? translate : Reflect.get(target, property)) });
}

/** Node-RED's own Catch node, of the runtime under test, loaded beside ours to prove errors are Catch-able. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const catchNode: unknown = require(require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [path.dirname(runtimePath)] }));

/** Node-RED's Status node, to see what a node shows under it the way a flow would. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const statusNode: unknown = require(require.resolve('@node-red/nodes/core/common/25-status.js', { paths: [path.dirname(runtimePath)] }));

/**
 * A node module whose HTTP endpoints are served for real. The helper gives nodes an httpNode app it never serves:
 * this keeps the Node-RED API the module registered with and serves its httpNode on loopback, as Node-RED does.
 */
export function servedNodeModule(name: string): { register: (RED: NodeAPI) => void; serve(): Promise<{ server: http.Server; base: string }> } {
    const registerNode = nodeModule(name) as (RED: NodeAPI) => void;
    let red: NodeAPI | undefined;
    return {
        register: (RED) => {
            red = RED;
            registerNode(RED);
        },
        serve: async () => {
            if (!red) throw new Error(`${name} is not loaded: pass its register to helper.load first`);
            const server = http.createServer(red.httpNode as unknown as http.RequestListener);
            await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
            return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
        },
    };
}

export { helper };

/**
 * The last status this node showed. The helper spies on Node.prototype.status, so `node.status.lastCall` is the last
 * status of any node of the flow: with several nodes loaded, another node's (a throttled one shown later) may be it.
 */
export function lastStatusOf(node: object): { fill?: string; shape?: string; text?: string } | undefined {
    const spy = (node as { status: { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> } }).status;
    const own = spy.getCalls().filter((call) => call.thisValue === node);
    return own.at(-1)?.args[0] as { fill?: string; shape?: string; text?: string } | undefined;
}

/** Every msg a helper node of the loaded flow receives from now on, in order. */
export function collect(id: string): Array<Record<string, any>> {
    const messages: Array<Record<string, any>> = [];
    helper.getNode(id).on('input', (msg: Record<string, any>) => messages.push(msg));
    return messages;
}

/** The texts of the warnings logged so far (node.warn). */
export function warningsLogged(): string[] {
    return helper
        .log()
        .args.map((args) => args[0] as { level?: number; msg?: unknown })
        .filter((entry) => entry.level === 30)
        .map((entry) => String(entry.msg));
}
