/**
 * The set of request paths one endpoint answers, spelled out once so the route, the raw-body capture in front of
 * every parser and the duplicate check all agree. Express (4 and 5) matches a string route case-insensitively,
 * with an optional trailing slash, and against the path as sent (percent-encoding is not decoded for matching);
 * the endpoint is routed by this pattern instead, so characters such as `:` or `*` are plain text, not parameters.
 */
export interface EndpointPath {
    /** As configured, with a leading slash: `/ccaas/call-events`. */
    path: string;
    /** Equal for two paths Express would treat as one: letter case folded, trailing slash dropped. */
    key: string;
    /** What the route is registered with, relative to httpNodeRoot. */
    route: RegExp;
    /** Whether a request path seen at the very top of the server (httpNodeRoot included) is this endpoint. */
    matchesFullPath(requestPath: string): boolean;
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function withoutTrailingSlash(path: string): string {
    return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function pathPattern(path: string): RegExp {
    const bare = withoutTrailingSlash(path);
    return new RegExp(`^${bare === '/' ? '' : escapeRegExp(bare)}\\/?$`, 'i');
}

export function endpointPath(configured: string, httpNodeRoot: string = '/'): EndpointPath {
    const path = configured.startsWith('/') ? configured : `/${configured}`;
    const root = withoutTrailingSlash(httpNodeRoot.startsWith('/') ? httpNodeRoot : `/${httpNodeRoot}`);
    const full = pathPattern(`${root === '/' ? '' : root}${path}`);
    return {
        path,
        key: withoutTrailingSlash(path).toLowerCase(),
        route: pathPattern(path),
        matchesFullPath: (requestPath) => full.test(requestPath),
    };
}

/**
 * The request's path as Express reads it for routing (up to `?` or `#`, not decoded), and, for an absolute-form
 * request target, as a URL parser reads it: the capture takes the body when either spelling is the endpoint's, so
 * it never reads less than the route serves.
 */
export function requestPathSpellings(url: string): string[] {
    const cut = url.search(/[?#]/);
    const raw = cut < 0 ? url : url.slice(0, cut);
    if (raw.startsWith('/')) return [raw];
    try {
        return [new URL(url).pathname];
    } catch {
        return [raw];
    }
}
