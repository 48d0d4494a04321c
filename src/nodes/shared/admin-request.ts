import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { NodeAPI } from 'node-red';

/**
 * Bytes of JSON one admin request of the package (preview, rule check, test, simulate) may carry. The largest
 * honest body is a web service out test: a config with a 64 KiB body template plus a call of a few KiB. Node-RED
 * parses admin bodies up to its own `apiMaxLength` (5 MB by default) before any route runs, so this bound limits
 * the work done, not what Node-RED reads.
 */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;

/**
 * The JSON size of a parsed body, counted without building the text and without recursion (a deeply nested body
 * would overflow JSON.stringify's stack). Counting stops as soon as `limit` is passed, so the walk costs at most
 * about `limit` steps whatever the body.
 */
export function jsonSizeOver(value: unknown, limit: number): boolean {
    let size = 0;
    const pending: unknown[] = [value];
    while (pending.length > 0) {
        const item = pending.pop();
        if (typeof item === 'string') size += item.length + 2;
        else if (Array.isArray(item)) {
            size += 1 + item.length;
            if (size > limit) return true;
            for (const member of item) pending.push(member);
        } else if (typeof item === 'object' && item !== null) {
            const keys = Object.keys(item);
            size += 1 + keys.length;
            for (const key of keys) {
                size += key.length + 3;
                if (size > limit) return true;
                pending.push((item as Record<string, unknown>)[key]);
            }
        } else size += String(item).length;
        if (size > limit) return true;
    }
    return false;
}

function refuseOversized(route: string): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
        const declared = Number(req.headers['content-length']);
        const over = (Number.isFinite(declared) && declared > MAX_ADMIN_BODY_BYTES) || jsonSizeOver(req.body, MAX_ADMIN_BODY_BYTES);
        if (!over) {
            next();
            return;
        }
        const size = Number.isFinite(declared) && declared > MAX_ADMIN_BODY_BYTES ? ` ${declared} bytes,` : '';
        res.status(413).json({ error: `${route}: the request body is${size} over the limit of ${MAX_ADMIN_BODY_BYTES} bytes`, code: 'input' });
    };
}

/**
 * Node-RED's own check of a permission (`<type>.read`, `<type>.write`). Node-RED answers a signed-in user who lacks
 * the permission with 401, the answer for "who are you?", which makes the editor ask for a login again; such a user
 * is known and refused, so this turns that case (and only it: `req.user` is set) into 403.
 */
export function needsPermission(RED: NodeAPI, permission: string): RequestHandler {
    const check = RED.auth.needsPermission(permission);
    return (req: Request, res: Response, next: NextFunction) => {
        const status = res.status.bind(res);
        res.status = ((code: number) => status(code === 401 && (req as { user?: unknown }).user ? 403 : code)) as Response['status'];
        check(req, res, (err?: unknown) => {
            res.status = status;
            next(err);
        });
    };
}

/**
 * The guard every computing admin route of the package puts before its handler: the node type's `write`
 * permission (a read-only editor user can look, not make the runtime work), then a bounded body. Rendering and
 * matching inside the handlers run under the domain's own budgets (template output and steps, regex steps).
 */
export function computingAdminRoute(RED: NodeAPI, nodeType: string, route: string): RequestHandler[] {
    return [needsPermission(RED, `${nodeType}.write`), refuseOversized(route)];
}
