import { CodedError, ConfigError } from '../errors/coded-error';
import type { PlaceholderFormat } from '../placeholders/escaping';
import { parseRenderedJson } from '../placeholders/json-body';
import { compileTemplate, type CompiledTemplate } from '../placeholders/template';
import {
    DEFAULT_CONTENT_TYPE,
    isAuthType,
    isBodyType,
    isHttpMethod,
    type HttpMethod,
    type NameValue,
    type RequestConfig,
    type RequestCredentials,
} from './request-config';
import { MASK } from './masking';
import { compileUrl, PROVIDER_ORIGIN } from './url-template';

/** Sent unless the profile sets its own; the receiver can tell who is calling. */
export const DEFAULT_USER_AGENT = '@ccaas/node-red-web-service';
const DEFAULT_ACCEPT = 'application/json, text/plain, */*';
const ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * One request exactly as it goes on the wire: every header the client sends is listed here (the transport adds
 * none), so what the debug sidebar shows is what the server receives.
 */
export interface OutgoingRequest {
    method: HttpMethod;
    url: string;
    headers: Record<string, string>;
    /** The encoded body; undefined when the request has none. */
    body?: Buffer;
    /** Values that must show as *** wherever this request is displayed or logged. */
    secrets: string[];
}

/** The OAuth 2.0 access token of one send; it is given at send time, so it is never stored with a request. */
export interface RequestGrant {
    accessToken: string;
    instanceUrl?: string;
}

/** A compiled profile: every template parsed once, on deploy. */
export interface RequestBuilder {
    /** `payload` is only read when the body type is `payload`; `grant` is needed by authType `oauth2` (not by the Preview). */
    build(call: object, payload?: unknown, grant?: RequestGrant): OutgoingRequest;
}

// The transport owns these: letting a profile set them would desynchronise what is shown from what is sent.
const TRANSPORT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'accept-encoding']);

// RFC 9110 token: what a header name may consist of.
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function rows(value: unknown, property: string): NameValue[] {
    if (value === undefined || value === null || value === '') return [];
    if (!Array.isArray(value)) throw new ConfigError(`${property}: must be a list of { name, value }`);
    return value.map((row, index) => {
        const name = (row as NameValue | null)?.name;
        const text = (row as NameValue | null)?.value;
        if (typeof name !== 'string' || name.trim() === '') throw new ConfigError(`${property}: row ${index + 1} has no name`);
        return { name: name.trim(), value: typeof text === 'string' ? text : text === undefined || text === null ? '' : String(text) };
    });
}

function callIdOf(call: object): string {
    return String((call as { callId?: unknown }).callId);
}

function percentEncode(text: string, where: string): string {
    try {
        return encodeURIComponent(text);
    } catch {
        // encodeURIComponent throws on a lone surrogate, which no URL can carry.
        throw new CodedError('url', `${where}: the value contains an unpaired UTF-16 surrogate`);
    }
}

function formEncode(text: string): string {
    return new URLSearchParams([['', text]]).toString().slice(1);
}

/**
 * A value template mixing literal text and placeholders: the placeholders come out escaped, and the literal text
 * is encoded here as the user meant it (an `&` typed in a value is part of the value). `%XX` sequences are kept,
 * so escaped placeholder values pass unchanged; in a form value `+` is kept too, as the escaped form of a space.
 */
function encodeLiteralRuns(text: string, format: 'url-query' | 'form', where: string): string {
    const runs = format === 'form' ? /%[0-9A-Fa-f]{2}|\+|[^%+]+|%/g : /%[0-9A-Fa-f]{2}|[^%]+|%/g;
    return text.replace(runs, (run) => {
        if (run === '+' || /^%[0-9A-Fa-f]{2}$/.test(run)) return run;
        return format === 'form' ? formEncode(run) : percentEncode(run, where);
    });
}

interface EncodedValue {
    render(call: object): string;
}

function encodedValue(source: string, format: 'url-query' | 'form', where: string): EncodedValue {
    const compiled = compileTemplate(source, format, { where });
    if (compiled.isPlainText) {
        const fixed = format === 'form' ? formEncode(source) : percentEncode(source, where);
        return { render: () => fixed };
    }
    return { render: (call) => encodeLiteralRuns(compiled.render(call), format, `${where} of call ${callIdOf(call)}`) };
}

function encodedPairs(list: NameValue[], format: 'url-query' | 'form', label: string): (call: object) => string {
    const pairs = list.map((row) => ({
        name: format === 'form' ? formEncode(row.name) : percentEncode(row.name, `${label} "${row.name}"`),
        value: encodedValue(row.value, format, `${label} "${row.name}"`),
    }));
    return (call) => pairs.map((pair) => `${pair.name}=${pair.value.render(call)}`).join('&');
}

/** How placeholders in a custom body are escaped: picked from its content type. */
export function bodyFormatFor(contentType: string): PlaceholderFormat {
    const type = contentType.toLowerCase();
    if (/json/.test(type)) return 'json';
    if (/xml/.test(type)) return 'xml';
    if (/x-www-form-urlencoded/.test(type)) return 'form';
    return 'text';
}

function payloadBody(payload: unknown): { body?: Buffer; contentType?: string } {
    if (payload === undefined || payload === null) return {};
    if (Buffer.isBuffer(payload)) return { body: payload, contentType: 'application/octet-stream' };
    if (typeof payload === 'string') return { body: Buffer.from(payload, 'utf8'), contentType: 'text/plain; charset=utf-8' };
    let json: string | undefined;
    try {
        json = JSON.stringify(payload);
    } catch (err) {
        throw new CodedError('render', `msg.payload cannot be sent as JSON: ${(err as Error).message}`);
    }
    if (json === undefined) return {};
    return { body: Buffer.from(json, 'utf8'), contentType: 'application/json' };
}

interface CompiledHeader {
    name: string;
    template: CompiledTemplate;
}

/**
 * Parses every template of a profile and checks everything that can be checked before a call exists, so a broken
 * profile is a red status on deploy and never a surprise on the first message.
 */
export function compileRequest(config: Partial<RequestConfig>, credentials: RequestCredentials = {}): RequestBuilder {
    const method = (config.method ?? 'POST').toUpperCase();
    if (!isHttpMethod(method)) throw new ConfigError(`method: "${String(config.method)}" is not one of GET, POST, PUT, PATCH, DELETE`);
    const bodyType = config.bodyType ?? 'none';
    if (!isBodyType(bodyType)) throw new ConfigError(`bodyType: "${String(bodyType)}" is not one of none, form, custom, payload`);
    const authType = config.authType || 'none';
    if (!isAuthType(authType)) throw new ConfigError(`authType: "${String(authType)}" is not one of none, basic, bearer, oauth2`);

    const url = compileUrl(config.url ?? '', { providerOrigin: authType === 'oauth2' });
    // Call data never reaches the origin, so the Host header is fixed on deploy unless the provider names the origin.
    const fixedHost = url.origin === PROVIDER_ORIGIN ? undefined : new URL(url.origin).host;
    const query = encodedPairs(rows(config.params, 'params'), 'url-query', 'URL parameter');

    const seen = new Set<string>();
    const claim = (name: string, what: string): void => {
        const key = name.toLowerCase();
        if (!HEADER_NAME.test(name)) throw new ConfigError(`${what}: "${name}" is not a valid header name`);
        if (TRANSPORT_HEADERS.has(key)) throw new ConfigError(`${what}: "${name}" is set by the HTTP client and cannot be configured`);
        if (seen.has(key)) throw new ConfigError(`${what}: "${name}" is set more than once`);
        seen.add(key);
    };

    const headers: CompiledHeader[] = rows(config.headers, 'headers').map((row) => {
        claim(row.name, 'headers');
        return { name: row.name, template: compileTemplate(row.value, 'header', { where: `header "${row.name}"` }) };
    });

    const secrets: string[] = [];
    const secretHeaders: Record<string, string> = {};
    const secret = (value: string | undefined, what: string): string => {
        if (!value) throw new ConfigError(`${what} is missing from the node's credentials`);
        if (/[\r\n]/.test(value) || /[^\t\x20-\x7e\x80-\xff]/.test(value)) {
            throw new ConfigError(`${what} contains characters an HTTP header cannot carry`);
        }
        secrets.push(value);
        return value;
    };
    if (authType === 'basic') {
        claim('Authorization', 'authentication');
        const user = credentials.user ?? '';
        if (user.includes(':')) throw new ConfigError('basic authentication: the user name cannot contain ":"');
        const password = secret(credentials.password, 'basic authentication: the password');
        const encoded = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
        secrets.push(encoded);
        secretHeaders.Authorization = `Basic ${encoded}`;
    } else if (authType === 'bearer') {
        claim('Authorization', 'authentication');
        secretHeaders.Authorization = `Bearer ${secret(credentials.token, 'bearer authentication: the token')}`;
    } else if (authType === 'oauth2') {
        claim('Authorization', 'authentication');
        if (!config.oauth2) throw new ConfigError('oauth2: OAuth 2.0 authentication needs an OAuth 2.0 configuration');
    }
    const apiKeyHeader = (config.apiKeyHeader ?? '').trim();
    if (apiKeyHeader) {
        claim(apiKeyHeader, 'API key header');
        secretHeaders[apiKeyHeader] = secret(credentials.apiKey, `API key header "${apiKeyHeader}": the key`);
    }

    let renderBody: (call: object, payload: unknown) => { body?: Buffer; contentType?: string };
    if (bodyType === 'form') {
        const form = encodedPairs(rows(config.form, 'form'), 'form', 'form parameter');
        renderBody = (call) => ({ body: Buffer.from(form(call), 'utf8'), contentType: 'application/x-www-form-urlencoded' });
    } else if (bodyType === 'custom') {
        const contentType = (config.contentType ?? '').trim() || DEFAULT_CONTENT_TYPE;
        if (/[\r\n]/.test(contentType)) throw new ConfigError('contentType: must be one line');
        const format = bodyFormatFor(contentType);
        const template = compileTemplate(config.body ?? '', format, { where: 'custom body' });
        renderBody = (call) => {
            const text = template.render(call);
            if (format === 'json') parseRenderedJson(text, `custom body of call ${callIdOf(call)}`);
            return { body: Buffer.from(text, 'utf8'), contentType };
        };
    } else if (bodyType === 'payload') {
        renderBody = (_call, payload) => payloadBody(payload);
    } else {
        renderBody = () => ({});
    }

    return {
        build(call: object, payload?: unknown, grant?: RequestGrant): OutgoingRequest {
            // With a grant but no instance URL the provider origin is missing: render says so ("" is not undefined).
            let target = url.render(call, grant ? (grant.instanceUrl ?? '') : undefined);
            // Only the Preview builds without a grant; its URL may still show the provider's origin as a placeholder.
            const preview = authType === 'oauth2' && !grant;
            const parse = (text: string): URL => new URL(preview ? text.replace(PROVIDER_ORIGIN, 'https://instance') : text);
            const params = query(call);
            // The URL template gives a parsed and serialised URL; only added parameters make it text to parse again.
            if (params) {
                target = target + (parse(target).search ? '&' : target.endsWith('?') ? '' : '?') + params;
                if (!preview) target = new URL(target).href;
            }
            const host = fixedHost ?? (preview && target.startsWith(PROVIDER_ORIGIN) ? PROVIDER_ORIGIN.slice(2, -2) : parse(target).host);
            const { body, contentType } = renderBody(call, payload);

            const defaults: Record<string, string> = { 'User-Agent': DEFAULT_USER_AGENT, Accept: DEFAULT_ACCEPT };
            const own: Record<string, string> = {};
            // Surrounding spaces and tabs are not part of a header value (the client strips them), so they are
            // dropped here, where the shown request is made.
            for (const header of headers) own[header.name] = header.template.render(call).replace(/^[ \t]+|[ \t]+$/g, '');
            const ownKeys = new Set(Object.keys(own).map((name) => name.toLowerCase()));
            // Named and placed as undici writes them: host and connection first, content-length last.
            const sent: Record<string, string> = { host, connection: 'keep-alive' };
            for (const [name, value] of Object.entries(defaults)) if (!ownKeys.has(name.toLowerCase())) sent[name] = value;
            Object.assign(sent, own, secretHeaders);
            const sentSecrets = [...secrets];
            if (authType === 'oauth2') {
                sent.Authorization = `Bearer ${grant ? grant.accessToken : MASK}`;
                if (grant) sentSecrets.push(grant.accessToken);
            }
            if (contentType && !ownKeys.has('content-type')) sent['Content-Type'] = contentType;
            // Node's client announces an empty body for these methods itself; listing it keeps the shown request whole.
            sent['Accept-Encoding'] = ACCEPT_ENCODING;
            if (body) sent['content-length'] = String(body.length);
            else if (method === 'POST' || method === 'PUT' || method === 'PATCH') sent['content-length'] = '0';
            return { method: method as HttpMethod, url: target, headers: sent, body, secrets: sentSecrets };
        },
    };
}
