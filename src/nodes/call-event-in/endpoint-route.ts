import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import type { RawEvent } from '../../call/raw-event';
import { errorText } from '../../errors/error-text';
import { endpointPath, type EndpointPath } from '../../ingest/endpoint-path';
import { receiveEventPost } from '../../ingest/event-endpoint';
import { refusalStatus } from '../../ingest/refusal-status';
import { platformRequestUrl } from '../../ingest/request-url';
import { closeUnfinishedRequest } from '../../ingest/unread-body';
import type { CallEventInOptions } from './config';
import { captureRawBodyFor, capturedBody } from './raw-body-capture';

// Which node serves which endpoint path (by EndpointPath.key, so `/a` and `/A/` are one path): a second claim is
// refused, never silently shadowed.
const claimedPaths = new Map<string, { nodeId: string; path: string }>();

export interface EndpointRouteHooks {
    /** Records the events (resolves once they are durable) or rejects with the error the answer is chosen by. */
    take(events: RawEvent[]): Promise<void>;
    /** A refused request: the caller's mistake, rate-limited by the node. */
    refused(text: { method: string; path: string; status: number; problem: string }): void;
    /** A failure of ours (a 5xx). */
    failed(text: { path: string; problem: string }): void;
}

export type PathClaim = { taken: false; release(): void } | { taken: true; owner: string; ownerPath: string; path: string };

function removeRoute(app: unknown, route: RegExp): void {
    // Express 4 keeps routes in app._router; Express 5 (Node-RED 5) in app.router.
    const express = app as { _router?: { stack: unknown[] }; router?: { stack: unknown[] } };
    const stack = (express._router ?? express.router)?.stack as Array<{ route?: { path: unknown; methods: Record<string, boolean> } }> | undefined;
    if (!stack) return;
    for (let index = stack.length - 1; index >= 0; index -= 1) {
        const layer = stack[index].route;
        if (layer && layer.path === route && layer.methods.post) stack.splice(index, 1);
    }
}

/**
 * Serves the node's endpoint on RED.httpNode: claims the path (refused when another node serves the same path to
 * Express), captures the raw body before any parser, and answers each POST. `release()` undoes all three.
 */
export function serveEventEndpoint(RED: NodeAPI, nodeId: string, options: CallEventInOptions, hooks: EndpointRouteHooks): PathClaim {
    const httpNodeRoot = String(RED.settings.httpNodeRoot ?? '/');
    const claim: EndpointPath = endpointPath(options.path, httpNodeRoot);
    const owner = claimedPaths.get(claim.key);
    if (owner && owner.nodeId !== nodeId) return { taken: true, owner: owner.nodeId, ownerPath: owner.path, path: claim.path };
    claimedPaths.set(claim.key, { nodeId, path: claim.path });
    const { maxBodyBytes, auth, adapter, limits } = options;
    const stopCapture = captureRawBodyFor(RED.httpNode, claim, maxBodyBytes);
    const json = { 'content-type': 'application/json; charset=utf-8' };
    RED.httpNode.post(claim.route, (req: IncomingMessage, res: ServerResponse) => {
        const answer = async (): Promise<void> => {
            const outcome = await receiveEventPost(req, {
                maxBodyBytes,
                auth,
                adapter,
                publicUrl: adapter ? platformRequestUrl(req, options.publicUrl, httpNodeRoot) : undefined,
                body: capturedBody(req, maxBodyBytes),
                limits,
            });
            if (outcome.error) {
                hooks.refused({ method: String(req.method), path: claim.path, status: outcome.status, problem: outcome.error.message });
            } else {
                try {
                    await hooks.take(outcome.events);
                } catch (err) {
                    outcome.release?.();
                    const status = refusalStatus(err);
                    // A 503 is not acknowledged, so the platform sends the events again; those already applied are
                    // then recognised as duplicates. A 400 or 413 applied nothing.
                    if (status >= 500) hooks.failed({ path: claim.path, problem: errorText(err) });
                    else hooks.refused({ method: String(req.method), path: claim.path, status, problem: errorText(err) });
                    res.writeHead(status, json).end(JSON.stringify({ error: status === 500 ? 'internal error' : errorText(err) }));
                    return;
                }
            }
            res.writeHead(outcome.status, outcome.headers).end(outcome.body);
            if (outcome.unreadBody) closeUnfinishedRequest(req, res);
        };
        answer().catch((err: unknown) => {
            hooks.failed({ path: claim.path, problem: errorText(err) });
            if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
        });
    });
    return {
        taken: false,
        release: () => {
            stopCapture();
            removeRoute(RED.httpNode, claim.route);
            if (claimedPaths.get(claim.key)?.nodeId === nodeId) claimedPaths.delete(claim.key);
        },
    };
}
