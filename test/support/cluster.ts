// Several real Node-RED processes running one flow against one Redis: the cluster of issue 17, on 127.0.0.1.
import assert from 'node:assert/strict';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from './node-red-process';

export interface ClusterFlowOptions {
    redisUrl: string;
    crmUrl: string;
    prefix?: string;
    /** web service out's retry schedule; short waits keep tests quick. */
    retries?: string;
    concurrency?: number;
    rate?: number;
    timeoutSeconds?: number;
    recordingWaitMinutes?: number;
    /** A catch node that counts Catch-able errors of web service out into the log, for fault tests. */
    logCaught?: boolean;
    /** More properties of the ccaas-redis node (sentinel mode, minReplicas), over `redisUrl` and `prefix`. */
    redis?: Record<string, unknown>;
}

/** call event in (POST /events) -> web service out -> the CRM, both kept in one ccaas-redis. */
export function clusterFlow(options: ClusterFlowOptions): object[] {
    const flow: object[] = [
        { id: 'tab', type: 'tab', label: 'cluster test' },
        { id: 'redis', type: 'ccaas-redis', url: options.redisUrl, prefix: options.prefix ?? 'cluster-test', ...options.redis },
        {
            id: 'events',
            z: 'tab',
            type: 'call-event-in',
            path: '/events',
            source: 'raw',
            events: [],
            auth: 'none',
            recordingWait: options.recordingWaitMinutes ?? 15,
            retention: 60,
            maxCalls: 10_000,
            store: 'redis',
            wires: [['send']],
        },
        {
            id: 'send',
            z: 'tab',
            type: 'web-service-out',
            url: options.crmUrl,
            method: 'POST',
            bodyType: 'custom',
            contentType: 'application/json',
            body: '{"callId":"{{callId}}","event":"{{event}}","updateSeq":"{{updateSeq}}"}',
            params: [],
            headers: [],
            form: [],
            timeout: options.timeoutSeconds ?? 5,
            retries: options.retries ?? Array(400).fill('0.2').join(', '),
            concurrency: options.concurrency ?? 16,
            rate: options.rate ?? '',
            store: 'redis',
            wires: [[]],
        },
    ];
    if (options.logCaught) {
        flow.push(
            { id: 'catcher', z: 'tab', type: 'catch', scope: ['send'], uncaught: false, wires: [['caught']] },
            {
                id: 'caught',
                z: 'tab',
                type: 'function',
                func: 'node.warn("caught " + msg.error.code + ": " + msg.error.message); return null;',
                outputs: 0,
                wires: [],
            },
        );
    }
    return flow;
}

/** Starts `count` Node-RED instances of `flows`, each with its own user directory holding this package. */
export async function startCluster(count: number, flows: object[]): Promise<NodeRedProcess[]> {
    const started = await Promise.allSettled(Array.from({ length: count }, () => startNodeRed({ userDir: userDirWithPackage(), flows })));
    const instances = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) {
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
        throw (failure as PromiseRejectedResult).reason;
    }
    return instances;
}

/** POSTs raw events to one instance; resolves with the status and body of its answer. */
export async function postEvents(instance: NodeRedProcess, events: object[]): Promise<{ status: number; body: string }> {
    const answer = await fetch(`${instance.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(15_000),
    });
    return { status: answer.status, body: await answer.text() };
}

/**
 * Posts until the cluster acknowledges, as a platform does: a 503 (or no answer) while Redis is away, or while a
 * write is not yet on enough replicas, is the cue to send again. Resolves with the number of refusals.
 */
export async function postUntilTaken(instance: NodeRedProcess, events: object[], timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    let refused = 0;
    for (;;) {
        const answer = await postEvents(instance, events).catch((err: Error) => ({ status: 0, body: err.message }));
        if (answer.status === 202) return refused;
        assert.ok(answer.status === 503 || answer.status === 0, `only 503 while Redis is away, got ${answer.status} ${answer.body}`);
        refused += 1;
        if (Date.now() - started > timeoutMs) throw new Error(`not taken within ${timeoutMs} ms: ${answer.status} ${answer.body}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/** The agent of every call the cluster tests play. */
export const AGENT = { name: 'John Doe', extension: '154' };

/** A short life with no recording: five triggers (presenting, connected, complete, processed, updated#1). */
export function shortLife(callId: string): object[] {
    return [
        { type: 'presenting', callId, eventId: `${callId}-p`, agent: AGENT, direction: 'Inbound' },
        { type: 'connected', callId, eventId: `${callId}-c`, agent: AGENT },
        { type: 'complete', callId, eventId: `${callId}-x`, pendingRecordings: 0 },
    ];
}

/** The triggers a short life fires, as the sink names them. */
export const SHORT_LIFE_TRIGGERS = ['presenting', 'connected', 'complete', 'processed', 'updated#1'];
