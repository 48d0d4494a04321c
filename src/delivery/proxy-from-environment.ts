import { getProxyForUrl } from 'proxy-from-env';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|0\.0\.0\.0)$/;

function noProxyEntries(): string[] {
    return (process.env.no_proxy || process.env.NO_PROXY || '')
        .toLowerCase()
        .split(/[\s,]+/)
        .filter(Boolean);
}

/**
 * The proxy for a target, read from the environment at send time as axios's http adapter reads it: proxy-from-env
 * picks `http_proxy`/`https_proxy`/`all_proxy` unless `no_proxy` names the host (suffix, `*`, port), and, as axios
 * adds, a loopback name in `no_proxy` covers every loopback address (`localhost` also bypasses 127.0.0.1).
 */
export function proxyFor(url: URL): string | undefined {
    // Most installations set no proxy: two variables answer that without parsing no_proxy for every request.
    const scheme = url.protocol === 'https:' ? 'https' : 'http';
    const env = process.env;
    if (!(env[`${scheme}_proxy`] || env[`${scheme.toUpperCase()}_PROXY`] || env.all_proxy || env.ALL_PROXY)) return undefined;
    const proxy = getProxyForUrl(url);
    if (!proxy) return undefined;
    if (LOOPBACK.test(url.hostname) && noProxyEntries().some((entry) => LOOPBACK.test(entry.replace(/:\d+$/, '')))) return undefined;
    return proxy;
}
