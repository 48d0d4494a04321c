import { CodedError, ConfigError } from '../errors/coded-error';
import { compileTemplate, type CompiledTemplate } from '../placeholders/template';

/**
 * The Target URL split into the fixed origin (scheme, host, port: never touched by call data) and the path and
 * query templates, each escaped for where its values land.
 */
export interface UrlTemplate {
    /** `https://host:port`, fixed on deploy; PROVIDER_ORIGIN when the OAuth 2.0 provider names it. */
    readonly origin: string;
    /** `providerOrigin`: the instance URL the token came with, for a URL starting with PROVIDER_ORIGIN. */
    render(call: object, providerOrigin?: string): string;
}

/**
 * The one placeholder allowed as the scheme and host: the provider's `instance_url` (Salesforce) comes with the
 * token, from the token endpoint the node's credentials trust, never from call data.
 */
export const PROVIDER_ORIGIN = '{{oauth.instanceUrl}}';
// Stands in for the provider's origin while the path and query are parsed on deploy.
const PLACEHOLDER_ORIGIN = 'https://oauth-instance-url.invalid';

export interface UrlOptions {
    /** The node authenticates with OAuth 2.0, so PROVIDER_ORIGIN may start the URL. */
    providerOrigin?: boolean;
}

/** The origin of a provider's instance URL: http(s), nothing but scheme, host and port. */
function providerOriginOf(instanceUrl: string | undefined): string {
    let parsed: URL;
    try {
        parsed = new URL(instanceUrl ?? '');
    } catch {
        throw new CodedError('auth', `url: ${PROVIDER_ORIGIN} is used, but the OAuth 2.0 token answer had no valid instance_url`);
    }
    if (
        (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') ||
        parsed.username ||
        parsed.password ||
        parsed.search ||
        parsed.hash ||
        parsed.pathname.replace(/\/$/, '') !== ''
    ) {
        throw new CodedError('auth', `url: the OAuth 2.0 instance_url "${parsed.href}" is not a plain http(s) origin`);
    }
    return parsed.origin;
}

function compileProviderUrl(url: string): UrlTemplate {
    const rest = compileUrl(PLACEHOLDER_ORIGIN + url.slice(PROVIDER_ORIGIN.length));
    return {
        origin: PROVIDER_ORIGIN,
        render(call: object, providerOrigin?: string): string {
            // The Preview has no token yet: it shows where the instance URL goes.
            if (providerOrigin === undefined) return PROVIDER_ORIGIN + rest.render(call).slice(PLACEHOLDER_ORIGIN.length);
            const origin = providerOriginOf(providerOrigin);
            return new URL(origin + rest.render(call).slice(PLACEHOLDER_ORIGIN.length)).href;
        },
    };
}

// Each Mustache tag (triple-stash first) becomes a run of NULs of the same length, so the URL's structure can be
// read from the literal text alone: a `/` inside `{{/section}}` is not a path separator.
function maskTags(source: string): string {
    return source.replace(/\{\{\{[\s\S]*?\}\}\}|\{\{[\s\S]*?\}\}/g, (tag) => '\u0000'.repeat(tag.length));
}

function firstIndex(text: string, chars: string, from: number): number {
    for (let index = from; index < text.length; index++) {
        if (chars.includes(text[index])) return index;
    }
    return text.length;
}

export function compileUrl(source: string, options: UrlOptions = {}): UrlTemplate {
    if (typeof source !== 'string' || source.trim() === '') throw new ConfigError('url: the Target URL is empty');
    const url = source.trim();
    if (url.startsWith(PROVIDER_ORIGIN)) {
        if (!options.providerOrigin) throw new ConfigError(`url: ${PROVIDER_ORIGIN} is only available with OAuth 2.0 authentication`);
        return compileProviderUrl(url);
    }
    // A set-delimiter tag would make the structure check below read placeholders as literal text.
    if (url.includes('{{=')) throw new ConfigError('url: changing the Mustache delimiters ({{=...=}}) is not supported in the Target URL');
    const masked = maskTags(url);
    const scheme = /^(https?):\/\//i.exec(masked);
    if (!scheme) {
        const reason = /^[^/]*\u0000/.test(masked)
            ? 'placeholders are not allowed in the scheme, host or port, so call data can never redirect the request'
            : 'must start with http:// or https://';
        throw new ConfigError(`url: "${url}" ${reason}`);
    }
    const authorityStart = scheme[0].length;
    const authorityEnd = firstIndex(masked, '/?#', authorityStart);
    const authority = url.slice(authorityStart, authorityEnd);
    if (masked.slice(authorityStart, authorityEnd).includes('\u0000') || authority.includes('{{')) {
        throw new ConfigError(`url: "${url}": placeholders are not allowed in the scheme, host or port, so call data can never redirect the request`);
    }
    // user:password@ would put a secret into the flow JSON; the node's credentials hold it instead.
    if (authority.includes('@')) throw new ConfigError('url: user names and passwords do not belong in the Target URL: use the Authentication settings');
    let origin: string;
    try {
        const parsed = new URL(`${scheme[1].toLowerCase()}://${authority}/`);
        if (!parsed.hostname) throw new Error('no host');
        origin = parsed.origin;
    } catch {
        throw new ConfigError(`url: "${url}" has no valid host`);
    }
    const queryStart = firstIndex(masked, '?#', authorityEnd);
    // The fragment is never sent to a server, so it is left out of the request.
    const fragmentStart = firstIndex(masked, '#', authorityEnd);
    const pathSource = url.slice(authorityEnd, queryStart);
    const querySource = queryStart < fragmentStart ? url.slice(queryStart + 1, fragmentStart) : undefined;
    const path = compileTemplate(pathSource, 'url-path', { where: 'URL path' });
    const query: CompiledTemplate | undefined = querySource === undefined ? undefined : compileTemplate(querySource, 'url-query', { where: 'URL query' });

    if (path.isPlainText && (!query || query.isPlainText)) {
        // No placeholder: the URL is the same for every call, so it is built and checked once, here.
        const fixed = checkedUrl(origin, path.render({}), query?.render({}), (problem) => new ConfigError(`url: "${url}" ${problem}`));
        return { origin, render: () => fixed };
    }
    return {
        origin,
        render: (call: object) =>
            checkedUrl(
                origin,
                path.render(call),
                query?.render(call),
                (problem) => new CodedError('url', `the URL built for call ${String((call as { callId?: unknown }).callId)} ${problem}`),
            ),
    };
}

/**
 * The URL of a rendered path and query under the fixed origin, serialised; `failure` makes the error for a text that
 * is no URL or that leaves the origin (a ConfigError on deploy for a URL without placeholders, a `url` error of the
 * call otherwise).
 */
function checkedUrl(origin: string, renderedPath: string, renderedQuery: string | undefined, failure: (problem: string) => Error): string {
    const text = origin + (renderedPath.startsWith('/') ? renderedPath : `/${renderedPath}`) + (renderedQuery === undefined ? '' : `?${renderedQuery}`);
    let parsed: URL;
    try {
        parsed = new URL(text);
    } catch {
        throw failure(`is not valid: ${text}`);
    }
    // Escaping already keeps call data inside the path and query; this is the last line of defence.
    if (parsed.origin !== origin) throw failure(`leaves ${origin}`);
    return parsed.href;
}
