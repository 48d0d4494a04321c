import { CodedError } from '../errors/coded-error';
import type { DeliveryError, ReceivedResponse } from '../delivery/delivery-error';
import type { HttpTransport } from '../delivery/http-transport';
import { verdictOf, type Verdict } from '../delivery/retry-policy';
import { DEFAULT_USER_AGENT, type OutgoingRequest } from '../request/build-request';
import { logText } from '../logging/log-text';
import { maskText } from '../request/masking';
import type { OAuth2Credentials, OAuth2Settings } from './oauth2-settings';

/** A provider's error text is outside data: this much of it goes into a message. */
const MAX_PROVIDER_TEXT = 300;

/** What a successful token answer (RFC 6749 5.1) carries that this package uses. */
export interface TokenAnswer {
    accessToken: string;
    /** Seconds; undefined when the provider does not say (the token is then used until a 401). */
    expiresIn?: number;
    /** A new refresh token: the provider rotated it, and the old one may no longer work. */
    refreshToken?: string;
    /** Salesforce's `instance_url`: the origin the token is good for. */
    instanceUrl?: string;
}

/** The token endpoint refused the client or the grant: the credential needs attention, retrying will not help. */
export class AuthError extends CodedError {
    constructor(message: string) {
        super('auth', message);
        this.name = 'AuthError';
    }
}

/** A token request that failed; `verdict` says whether the request that needed the token may be tried again. */
export class TokenFailure extends Error {
    constructor(
        readonly error: CodedError,
        readonly verdict: Verdict,
    ) {
        super(error.message);
        this.name = 'TokenFailure';
    }
}

/** RFC 6749 Appendix B: the client id and secret are form-encoded before they are joined for Basic. */
function formEncode(text: string): string {
    return new URLSearchParams([['', text]]).toString().slice(1);
}

/** The token request exactly as it goes on the wire, with every secret it holds listed for masking. */
export function tokenRequest(settings: OAuth2Settings, credentials: OAuth2Credentials, refreshToken?: string): OutgoingRequest {
    const form = new URLSearchParams();
    form.set('grant_type', settings.grant);
    if (settings.grant === 'refresh_token') form.set('refresh_token', refreshToken ?? credentials.refreshToken ?? '');
    if (settings.scope) form.set('scope', settings.scope);
    if (settings.audience) form.set('audience', settings.audience);
    const clientId = credentials.clientId ?? '';
    const clientSecret = credentials.clientSecret ?? '';
    const secrets = [clientSecret, refreshToken ?? '', credentials.refreshToken ?? ''].filter(Boolean);
    const headers: Record<string, string> = {
        host: new URL(settings.tokenUrl).host,
        connection: 'keep-alive',
        'User-Agent': DEFAULT_USER_AGENT,
        Accept: 'application/json',
    };
    // A public client (no secret) always names itself in the form (RFC 6749 3.2.1).
    if (settings.clientAuth === 'basic' && clientSecret) {
        const encoded = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64');
        secrets.push(encoded);
        headers.Authorization = `Basic ${encoded}`;
    } else {
        form.set('client_id', clientId);
        if (clientSecret) form.set('client_secret', clientSecret);
    }
    const body = Buffer.from(form.toString(), 'utf8');
    for (const value of [...secrets]) secrets.push(formEncode(value));
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(body.length);
    return { method: 'POST', url: settings.tokenUrl, headers, body, secrets };
}

function jsonOf(response: ReceivedResponse): Record<string, unknown> | undefined {
    try {
        const parsed: unknown = JSON.parse(response.body.toString('utf8'));
        return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

function providerText(value: unknown, secrets: string[]): string {
    return logText(maskText(String(value), secrets), MAX_PROVIDER_TEXT);
}

/** A 2xx answer read as RFC 6749 5.1; anything else in a 2xx is the provider's fault and final. */
function tokenAnswerOf(response: ReceivedResponse, where: string): TokenAnswer {
    const json = jsonOf(response);
    if (!json || typeof json.access_token !== 'string' || json.access_token === '') {
        throw new TokenFailure(new AuthError(`${where}: the answer has no access_token`), { kind: 'final' });
    }
    if (typeof json.token_type === 'string' && json.token_type.toLowerCase() !== 'bearer') {
        throw new TokenFailure(new AuthError(`${where}: token_type "${logText(json.token_type, 40)}" is not Bearer, the only type this node sends`), {
            kind: 'final',
        });
    }
    if (/[^\x21-\x7e]/.test(json.access_token)) {
        throw new TokenFailure(new AuthError(`${where}: the access token contains characters an HTTP header cannot carry`), { kind: 'final' });
    }
    const expiresIn = Number(json.expires_in);
    const answer: TokenAnswer = { accessToken: json.access_token };
    if (json.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn > 0) answer.expiresIn = expiresIn;
    if (typeof json.refresh_token === 'string' && json.refresh_token) answer.refreshToken = json.refresh_token;
    if (typeof json.instance_url === 'string' && json.instance_url) answer.instanceUrl = json.instance_url;
    return answer;
}

/**
 * Asks the token endpoint for an access token over the package's own transport (the same TLS, proxy, timeout and
 * no-redirect rules as every request). Resolves with the answer or throws a TokenFailure: a 4xx (invalid_client,
 * invalid_grant, ...) is final with code `auth`; the network, 408, 429 and 5xx are retryable like any request.
 */
export async function requestToken(
    transport: HttpTransport,
    settings: OAuth2Settings,
    credentials: OAuth2Credentials,
    options: { refreshToken?: string; timeoutMs?: number } = {},
): Promise<TokenAnswer> {
    const request = tokenRequest(settings, credentials, options.refreshToken);
    const where = `OAuth 2.0 token request to ${settings.tokenUrl}`;
    const outcome = await transport.send(request, { timeoutMs: options.timeoutMs });
    if (outcome.ok) return tokenAnswerOf(outcome.response, where);
    const failure: DeliveryError = outcome.error;
    const response = failure.response;
    const status = response?.statusCode;
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
        // The token endpoint's answer is not the target's: it is not reported as msg.response.
        const verdict = verdictOf({ error: failure, response });
        return Promise.reject(new TokenFailure(new CodedError(failure.code, `${where} failed: ${maskText(failure.message, request.secrets)}`), verdict));
    }
    const json = response ? jsonOf(response) : undefined;
    const named = typeof json?.error === 'string' ? providerText(json.error, request.secrets) : undefined;
    const description = typeof json?.error_description === 'string' ? providerText(json.error_description, request.secrets) : undefined;
    const said = named
        ? `${named}${description ? ` (${description})` : ''}`
        : `${status}${response?.statusMessage ? ` ${logText(response.statusMessage, 60)}` : ''}`;
    throw new TokenFailure(new AuthError(`${where} was refused: ${said}; the OAuth 2.0 credential needs attention`), { kind: 'final' });
}
