// The load client: how events are sent to the pipeline under test, closed loop (as fast as the window allows) or
// paced (a steady rate), and the Pool-shaped clients it sends through besides undici's own.
import { Pool } from 'undici';
import { HttpTransport } from '../src/delivery/http-transport';
import type { OutgoingRequest } from '../src/request/build-request';
import { benchEvent, crmBody } from './flows';
import type { Options } from './options';
import type { Sink } from './sink-control';

export interface LoadResult {
    /** Events sent and accepted by the receiving end (202 from call event in, 200 elsewhere). */
    sent: number;
    /** Answers other than the expected status, and errors. */
    failed: number;
    startNs: bigint;
}

export interface ClosedLoop {
    pool: Pool;
    path: string;
    count: number;
    seconds: number;
    concurrency: number;
    window: number;
    sink: Sink;
    expectStatus: number;
    body(index: number, sentNs: bigint): string;
}

/**
 * A bounded client: `concurrency` requests at a time, never more than `window` events sent but not yet at the
 * sink, stopping at `count` events or after `seconds`, whichever comes first.
 */
export async function closedLoop(load: ClosedLoop): Promise<LoadResult> {
    const startNs = process.hrtime.bigint();
    const deadline = performance.now() + load.seconds * 1000;
    let next = 0;
    let sent = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
        while (next < load.count && performance.now() < deadline) {
            if (next - load.sink.received >= load.window) {
                await load.sink.nextProgress();
                continue;
            }
            const index = next++;
            try {
                const response = await load.pool.request({
                    path: load.path,
                    method: 'POST',
                    headers: { 'content-type': 'application/json' },
                    body: load.body(index, process.hrtime.bigint()),
                });
                await response.body.dump();
                if (response.statusCode === load.expectStatus) sent += 1;
                else failed += 1;
            } catch {
                failed += 1;
            }
        }
    };
    await Promise.all(Array.from({ length: load.concurrency }, worker));
    return { sent, failed, startNs };
}

interface Paced {
    pool: Pool;
    path: string;
    rate: number;
    seconds: number;
    expectStatus: number;
    body(index: number, sentNs: bigint): string;
}

/** An open-loop client: events at a steady `rate`, whatever the receiver does, for `seconds`. */
export async function paced(load: Paced): Promise<LoadResult> {
    const startNs = process.hrtime.bigint();
    const started = performance.now();
    const count = Math.max(1, Math.round(load.rate * load.seconds));
    let next = 0;
    let sent = 0;
    let failed = 0;
    const pending: Promise<void>[] = [];
    while (next < count) {
        const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * load.rate) + 1);
        while (next < due) {
            const index = next++;
            pending.push(
                load.pool
                    .request({
                        path: load.path,
                        method: 'POST',
                        headers: { 'content-type': 'application/json' },
                        body: load.body(index, process.hrtime.bigint()),
                    })
                    .then(async (response) => {
                        await response.body.dump();
                        if (response.statusCode === load.expectStatus) sent += 1;
                        else failed += 1;
                    })
                    .catch(() => {
                        failed += 1;
                    }),
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(pending);
    return { sent, failed, startNs };
}

/**
 * The load client of scenario X: web service out's own transport (HttpTransport: axios over its undici adapter, the
 * client the node sends with), shaped as the Pool the load loops take. What X costs over C is the client the issue
 * keeps; what W costs over X is the node, Node-RED and the outbox.
 */
export function transportClient(baseUrl: string, connections: number): { pool: Pool; close(): void } {
    const transport = new HttpTransport({ maxSockets: connections });
    const request = async (options: { path: string; method: string; headers: Record<string, string>; body: string }) => {
        const outcome = await transport.send({
            method: options.method as OutgoingRequest['method'],
            url: `${baseUrl}${options.path}`,
            headers: options.headers,
            body: Buffer.from(options.body),
            secrets: [],
        });
        const statusCode = outcome.ok ? outcome.response.statusCode : (outcome.error.response?.statusCode ?? 0);
        return { statusCode, body: { dump: async () => undefined } };
    };
    return { pool: { request } as unknown as Pool, close: () => transport.close() };
}

/** One load client over several instances, as a round-robin load balancer spreads it. */
export function roundRobin(pools: Pool[]): Pool {
    let next = 0;
    return { request: (options: Parameters<Pool['request']>[0]) => pools[next++ % pools.length].request(options) } as unknown as Pool;
}

/** A body of the pipelines' load: ringing call `${prefix}-${index}`, stamped when it is sent. */
export const eventBody = (prefix: string) => (index: number, sentNs: bigint) => JSON.stringify(benchEvent(`${prefix}-${index}`, sentNs));
/** A body of the clients' load (C, X): the CRM body the template makes of that call, posted straight to the sink. */
export const crmBodyOf = (prefix: string) => (index: number, sentNs: bigint) => JSON.stringify(crmBody(benchEvent(`${prefix}-${index}`, sentNs)));

/** One closed loop of a round's load, as every load scenario runs it: the run's connections, window and time limit. */
export const roundLoad =
    ({ options, sink }: { options: Options; sink: Sink }, pool: Pool, pathName: string, count: number, expectStatus: number, body: ClosedLoop['body']) =>
    () =>
        closedLoop({
            pool,
            path: pathName,
            count,
            seconds: options.seconds,
            concurrency: options.connections,
            window: options.window,
            sink,
            expectStatus,
            body,
        });

/** A round's load of call events into a pipeline (A, B, R1, R2): call ids `${prefix}-${round}-${index}`. */
export const pipelineLoad = (
    bench: { options: Options; sink: Sink },
    round: number,
    pool: Pool,
    pathName: string,
    prefix: string,
    count: number,
    expectStatus = 202,
) => roundLoad(bench, pool, pathName, count, expectStatus, eventBody(`${prefix}-${round}`));
