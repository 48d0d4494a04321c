// A settled request or an outbox problem, as the flow and the log see it.
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import { restoredPayload, type OutboxEntry } from '../../delivery/outbox';
import type { SettledRequest, StoreProblem } from '../../delivery/sender';
import type { DeliveryStatus } from './status';

export type Send = (msg: NodeMessage | (NodeMessage | null)[]) => void;
export type Msg = NodeMessageInFlow & Record<string, unknown>;

/** A message this node accepted since it started; a request resumed from the outbox has none. */
export interface Waiting {
    msg: Msg;
    send: Send;
    done: (err?: Error) => void;
}

/** What a request resumed from the outbox reports on: the message rebuilt from what was stored. */
function resumedMessage(RED: NodeAPI, entry: OutboxEntry): Msg {
    const msg: Record<string, unknown> = { _msgid: RED.util.generateId(), call: entry.call };
    if (entry.topic !== undefined) msg.topic = entry.topic;
    const payload = restoredPayload(entry);
    if (payload !== undefined) msg.payload = payload;
    return msg as Msg;
}

/** The request's msg with what happened to it (msg.request, msg.response, msg.delivery), and where it goes. */
export function reportedMessage(RED: NodeAPI, node: Node, request: SettledRequest<Waiting>): { msg: Msg; send: Send } {
    const { entry, context, result } = request;
    const msg = context?.msg ?? resumedMessage(RED, entry);
    if (result.request) msg.request = result.request;
    if (result.response) {
        msg.response = result.response;
        msg.statusCode = result.response.statusCode;
    }
    msg.delivery = { attempts: request.attempts, totalMs: request.totalMs, idempotencyKey: entry.idempotencyKey, queuedAt: entry.queuedAt };
    return { msg, send: context?.send ?? ((out) => node.send(out)) };
}

export type Warning = (key: string, values?: Record<string, string | number>) => string;

/** Says what the outbox's problem means for the user's requests: once in the log, and lasting ones in the status. */
export function showStoreProblem(node: Node, status: DeliveryStatus, warning: Warning, warnSometimes: (text: string) => void, problem: StoreProblem): void {
    switch (problem.kind) {
        case 'memory':
            status.notice = status.text('notDurable');
            node.warn(warning('memory'));
            break;
        case 'recovered':
            status.notice = status.text('recovered', { summary: problem.summary });
            node.warn(warning('recovered', { path: problem.logPath, summary: problem.summary }));
            break;
        case 'unreadable':
            node.warn(warning('unreadable', { count: problem.count }));
            break;
        case 'unavailable':
            node.error(warning('unavailable', { reason: problem.reason, wait: `${Math.round(problem.retryMs / 1000)} s` }));
            break;
        case 'reopened':
            node.warn(warning('reopened'));
            break;
        case 'write':
            warnSometimes(warning('write', { reason: problem.reason }));
            break;
        case 'not-writable':
            node.error(warning('notWritable', { reason: problem.reason }));
            break;
        case 'writable':
            node.warn(warning('writable'));
            break;
        case 'redis-unavailable':
            node.error(warning('redisUnavailable', { reason: problem.reason }));
            break;
        case 'redis-reconnected':
            node.log(warning('redisReconnected'));
            break;
    }
    status.refresh();
}
