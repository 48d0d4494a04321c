import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../ingest/event-endpoint';

/** The body as it arrived, read before any parser, or 'too-large' when it passed the route's limit. */
export type CapturedBody = Buffer | 'too-large';

type RequestWithBody = IncomingMessage & { ccaasRawBody?: CapturedBody; _body?: boolean; body?: unknown };

interface ExpressApp {
    parent?: ExpressApp;
    use(handler: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void): void;
    _router?: { stack: Array<{ handle: unknown }> };
    router?: { stack: Array<{ handle: unknown }> };
}

// Full request path -> body limit of the call event in node serving it.
const capturedRoutes = new Map<string, number>();
const installedOn = new WeakSet<object>();

function captureRawBody(req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void {
    const limit = req.method === 'POST' ? capturedRoutes.get(new URL(req.url ?? '/', 'http://host').pathname) : undefined;
    if (limit === undefined) {
        next();
        return;
    }
    readBody(req, limit).then((body) => {
        const request = req as RequestWithBody;
        request.ccaasRawBody = body;
        // body-parser skips a request marked as already parsed.
        request._body = true;
        next();
    }, next);
}

/**
 * When httpAdminRoot and httpNodeRoot are the same (both "/" by default), the editor's JSON parser runs first and
 * consumes every JSON body before a node's route sees it. Like Node-RED's own http-in node, read the raw body of
 * our routes at the very top of the root app, which signature checks need byte for byte anyway.
 */
export function captureRawBodyFor(httpNode: unknown, fullPath: string, limitBytes: number): void {
    capturedRoutes.set(fullPath, limitBytes);
    let root = httpNode as ExpressApp;
    while (root.parent) root = root.parent;
    if (installedOn.has(root) || typeof root.use !== 'function') return;
    root.use(captureRawBody);
    const stack = (root._router ?? root.router)?.stack;
    const index = stack ? stack.findIndex((layer) => layer.handle === captureRawBody) : -1;
    if (stack && index > 0) stack.unshift(...stack.splice(index, 1));
    installedOn.add(root);
}

export function releaseRawBody(fullPath: string): void {
    capturedRoutes.delete(fullPath);
}

/** The body captured at the top of the app, else what another parser left, else nothing (read the stream). */
export function capturedBody(req: IncomingMessage): CapturedBody | undefined {
    const request = req as RequestWithBody;
    if (request.ccaasRawBody !== undefined) return request.ccaasRawBody;
    if (!request.readableEnded && !request._body) return undefined;
    // Some other middleware parsed it first: the bytes are gone, so signatures cannot be checked on them.
    const parsed = request.body;
    if (Buffer.isBuffer(parsed)) return parsed;
    return Buffer.from(typeof parsed === 'string' ? parsed : JSON.stringify(parsed ?? null));
}
