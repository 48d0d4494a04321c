import type { HttpTransport } from '../delivery/http-transport';
import type { OAuth2Credentials, OAuth2Settings } from './oauth2-settings';
import { requestToken, TokenFailure, type TokenAnswer } from './token-request';
import { CodedError } from '../errors/coded-error';

/**
 * A token is renewed this long before the provider says it expires, so a request built with it does not arrive
 * just after it ran out (clock skew, a slow network, a request queued behind others).
 */
export const EXPIRY_MARGIN_MS = 60_000;

/** An access token as requests use it. */
export interface AccessGrant {
    readonly accessToken: string;
    /** Salesforce's instance_url, when the provider sent one. */
    readonly instanceUrl?: string;
    /** When the token is renewed, ms since 1970; undefined: used until the target answers 401. */
    readonly renewAt?: number;
}

export interface TokenSourceOptions {
    /** A refresh token kept from an earlier rotation; wins over the one in the credentials. */
    refreshToken?: string;
    /** The provider rotated the refresh token: the caller keeps the new one across restarts. */
    onRotated?: (refreshToken: string) => void;
    timeoutMs?: number;
    now?: () => number;
}

/**
 * The one access token of a config node, shared by every node that uses it: fetched on first use, kept until
 * shortly before it expires, and fetched once for all callers that wait for it at the same time.
 */
export class TokenSource {
    private current: AccessGrant | undefined;
    private pending: Promise<AccessGrant> | undefined;
    private refreshToken: string | undefined;
    private readonly now: () => number;
    /** Token requests sent so far: the work bound tests check (a burst must cost one). */
    tokenRequests = 0;

    constructor(
        readonly settings: OAuth2Settings,
        private readonly credentials: OAuth2Credentials,
        private readonly options: TokenSourceOptions = {},
    ) {
        this.refreshToken = options.refreshToken ?? credentials.refreshToken;
        this.now = options.now ?? Date.now;
    }

    /** A valid token: the cached one, the one already being fetched, or a new one fetched over `transport`. */
    grant(transport: HttpTransport): Promise<AccessGrant> {
        const cached = this.current;
        if (cached && (cached.renewAt === undefined || this.now() < cached.renewAt)) return Promise.resolve(cached);
        this.pending ??= this.fetch(transport).finally(() => {
            this.pending = undefined;
        });
        return this.pending;
    }

    /** The target refused this token (401): the next grant() fetches another, unless one already replaced it. */
    invalidate(grant: AccessGrant): void {
        if (this.current === grant) this.current = undefined;
    }

    /** Every secret value this source holds or held in this run, for masking anything shown or logged. */
    secrets(): string[] {
        return [this.credentials.clientSecret, this.credentials.refreshToken, this.refreshToken, this.current?.accessToken].filter((value): value is string =>
            Boolean(value),
        );
    }

    private async fetch(transport: HttpTransport): Promise<AccessGrant> {
        this.tokenRequests += 1;
        let answer: TokenAnswer;
        try {
            answer = await requestToken(transport, this.settings, this.credentials, { refreshToken: this.refreshToken, timeoutMs: this.options.timeoutMs });
        } catch (err) {
            if (err instanceof TokenFailure) throw err;
            throw new TokenFailure(
                new CodedError('network', `OAuth 2.0 token request to ${this.settings.tokenUrl} failed: ${String((err as Error)?.message ?? err)}`),
                {
                    kind: 'retry',
                },
            );
        }
        if (this.settings.grant === 'refresh_token' && answer.refreshToken && answer.refreshToken !== this.refreshToken) {
            this.refreshToken = answer.refreshToken;
            this.options.onRotated?.(answer.refreshToken);
        }
        const lifetimeMs = answer.expiresIn !== undefined ? answer.expiresIn * 1000 : undefined;
        // A token that lives less than twice the margin is renewed at half its life, so it is still used at all.
        const renewAt = lifetimeMs === undefined ? undefined : this.now() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
        const grant: AccessGrant = {
            accessToken: answer.accessToken,
            ...(answer.instanceUrl ? { instanceUrl: answer.instanceUrl } : {}),
            ...(renewAt !== undefined ? { renewAt } : {}),
        };
        this.current = grant;
        return grant;
    }
}
