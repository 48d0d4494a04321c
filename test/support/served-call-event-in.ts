// One call event in in the test helper's Node-RED, its endpoint served over real HTTP and its triggers collected: how
// the platform tests play a platform's requests into the node. Registers its own mocha hooks, so call it inside a
// describe; each test loads the node it needs, and the node is unloaded after the test.
import type http from 'node:http';
import { freshUserDir, helper, servedNodeModule } from './node-red-runtime';

const callEventIn = servedNodeModule('call-event-in');

/** A message call event in sent, as a test reads it. */
export interface TriggerMessage {
    topic: string;
    event: string;
    call: Record<string, unknown>;
}

export interface ServedCallEventIn {
    /** Loads a call event in with these properties and credentials; resolves to its base URL and what it sends. */
    load(properties: Record<string, unknown>, credentials: Record<string, string>): Promise<{ base: string; out: TriggerMessage[] }>;
}

export function servedCallEventIn(): ServedCallEventIn {
    let server: http.Server | undefined;
    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(() => freshUserDir());
    afterEach(async () => {
        await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
        server = undefined;
        await helper.unload();
    });
    return {
        async load(properties, credentials) {
            await helper.load(
                callEventIn.register,
                [
                    { id: 'tab', type: 'tab' },
                    { id: 'in', z: 'tab', type: 'call-event-in', wires: [['out']], ...properties },
                    { id: 'out', z: 'tab', type: 'helper' },
                ],
                { in: credentials },
            );
            const out: TriggerMessage[] = [];
            helper.getNode('out').on('input', (msg: TriggerMessage) => out.push(msg));
            const served = await callEventIn.serve();
            server = served.server;
            return { base: served.base, out };
        },
    };
}
