// proxy-from-env ships no types; this is the one function the transport calls.
declare module 'proxy-from-env' {
    /** The proxy URL for `url` from http_proxy, https_proxy, all_proxy and no_proxy (either case), or ''. */
    export function getProxyForUrl(url: string | URL): string;
}
