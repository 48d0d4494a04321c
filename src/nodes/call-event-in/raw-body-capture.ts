import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../../ingest/event-endpoint';
import { requestPathSpellings, type EndpointPath } from '../../ingest/endpoint-path';

/**
 * The body as it arrived, read before any parser; 'too-large' when it passed the route's limit; 'size-unknown'
 * when another middleware parsed it without saying how big it was.
 */
export type CapturedBody = Buffer | 'too-large' | 'size-unknown';

type RequestWithBody = IncomingMessage & { ccaasRawBody?: CapturedBody; _body?: boolean; body?: unknown };

interface ExpressApp {
    parent?: ExpressApp;
    use(handler: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void): void;
    _router?: { stack: Array<{ handle: unknown }> };
    router?: { stack: Array<{ handle: unknown }> };
}

interface CapturedRoute {
    endpoint: EndpointPath;
    limitBytes: number;
}

// One entry per call event in node serving a path; looked up by the same pattern the route is registered with.
const capturedRoutes = new Set<CapturedRoute>();
const installedOn = new WeakSet<object>();

function routeOf(req: IncomingMessage): CapturedRoute | undefined {
    if (req.method !== 'POST' || capturedRoutes.size === 0) return undefined;
    const spellings = requestPathSpellings(req.url ?? '/');
    for (const route of capturedRoutes) {
        if (spellings.some((spelling) => route.endpoint.matchesFullPath(spelling))) return route;
    }
    return undefined;
}

function captureRawBody(req: IncomingMessage, _res: ServerResponse, next: (err?: unknown) => void): void {
    const route = routeOf(req);
    // A body something in front of Node-RED already read cannot be read again (it would wait for an end that never
    // comes): the route measures what that parser left instead.
    const alreadyRead = (req as RequestWithBody)._body === true || req.readableEnded;
    if (!route || alreadyRead) {
        next();
        return;
    }
    readBody(req, route.limitBytes).then((body) => {
        const request = req as RequestWithBody;
        request.ccaasRawBody = body;
        // body-parser skips a request marked as already parsed.
        request._body = true;
        next();
    }, next);
}

/**
 * When httpAdminRoot and httpNodeRoot are the same (both "/" by default), the editor's JSON parser (with its own,
 * larger limit) runs first and consumes every JSON body before a node's route sees it. Like Node-RED's own http-in
 * node, read the raw body of our routes at the very top of the root app, which signature checks need byte for
 * byte anyway. Every spelling the route answers (letter case, trailing slash) is captured, so none reaches a parser
 * with a bigger limit. Returns the function that stops the capture.
 */
export function captureRawBodyFor(httpNode: unknown, endpoint: EndpointPath, limitBytes: number): () => void {
    const route: CapturedRoute = { endpoint, limitBytes };
    capturedRoutes.add(route);
    let root = httpNode as ExpressApp;
    while (root.parent) root = root.parent;
    if (!installedOn.has(root) && typeof root.use === 'function') {
        root.use(captureRawBody);
        const stack = (root._router ?? root.router)?.stack;
        const index = stack ? stack.findIndex((layer) => layer.handle === captureRawBody) : -1;
        if (stack && index > 0) stack.unshift(...stack.splice(index, 1));
        installedOn.add(root);
    }
    return () => capturedRoutes.delete(route);
}

/**
 * The body captured at the top of the app; else, when some other middleware parsed it first (the bytes are gone,
 * so signatures cannot be checked on them), what it left, measured against the limit by its Content-Length (the
 * parser checked that length): a body of unknown size counts as too large, since it may be anything. Undefined
 * when nothing read the body yet (the route reads the stream).
 */
export function capturedBody(req: IncomingMessage, limitBytes: number): CapturedBody | undefined {
    const request = req as RequestWithBody;
    if (request.ccaasRawBody !== undefined) return request.ccaasRawBody;
    if (!request.readableEnded && !request._body) return undefined;
    const declared = Number(req.headers['content-length']);
    if (req.headers['content-length'] === undefined || !Number.isFinite(declared)) return 'size-unknown';
    if (declared > limitBytes) return 'too-large';
    const parsed = request.body;
    if (Buffer.isBuffer(parsed)) return parsed;
    try {
        return Buffer.from(typeof parsed === 'string' ? parsed : JSON.stringify(parsed ?? null));
    } catch {
        // A parsed value too deep to serialise is not something the node could take anyway.
        return 'size-unknown';
    }
}
