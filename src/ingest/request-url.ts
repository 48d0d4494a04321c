import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** What Express adds to a request; absent when the request comes straight from Node's http module. */
type ExpressRequest = IncomingMessage & { originalUrl?: string; protocol?: string };

/**
 * The full URL the platform called, as Twilio signs it: scheme, host, httpNodeRoot, path and query.
 *
 * With a *Public base URL* (a proxy in front changes what the platform sees): that base followed by the path as
 * Node-RED received it, httpNodeRoot included. A base that already ends with httpNodeRoot is not given it twice.
 *
 * Without one (the platform posts straight to Node-RED): built the way Twilio's own Express middleware builds it,
 * from the scheme Express reports (the socket's, or X-Forwarded-Proto only when the app trusts a proxy), the Host
 * header and the original URL. A proxy Node-RED is not told about changes the scheme or host Twilio signed: that
 * is what the Public base URL is for.
 */
export function platformRequestUrl(req: IncomingMessage, publicBaseUrl: string | undefined, httpNodeRoot: string = '/'): string | undefined {
    const request = req as ExpressRequest;
    const pathAndQuery = request.originalUrl ?? req.url ?? '/';
    if (publicBaseUrl) {
        const base = publicBaseUrl.replace(/\/+$/, '');
        const root = httpNodeRoot.replace(/\/+$/, '');
        const alreadyRooted = root !== '' && base.toLowerCase().endsWith(root.toLowerCase()) && pathAndQuery.toLowerCase().startsWith(root.toLowerCase());
        return `${base}${alreadyRooted ? pathAndQuery.slice(root.length) : pathAndQuery}`;
    }
    const host = req.headers.host;
    if (!host) return undefined;
    const scheme = request.protocol ?? ((req.socket as TLSSocket).encrypted ? 'https' : 'http');
    return `${scheme}://${host}${pathAndQuery}`;
}
