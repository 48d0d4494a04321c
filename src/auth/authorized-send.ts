import type { ExchangeResult } from '../delivery/exchange';
import type { HttpTransport } from '../delivery/http-transport';
import type { Verdict } from '../delivery/retry-policy';
import { TokenFailure } from './token-request';
import type { AccessGrant, TokenSource } from './token-source';

export interface AuthorizedResult {
    result: ExchangeResult;
    /** Set when the token could not be had: the token endpoint's verdict, not the target's. */
    verdict?: Verdict;
    /** Sends beyond the first: 1 when a 401 made the node fetch a new token and send once more. */
    resent: number;
    /** The token the last send used (the Test shows that it was fetched, masked). */
    grant?: AccessGrant;
}

/**
 * One attempt of a request that carries an OAuth 2.0 token: the token is added at send time, so a request kept
 * in the outbox works after the token changed. A 401 means the token was revoked or expired early: it is dropped,
 * a new one is fetched and the request sent once more; a second 401 is the target's final answer.
 */
export async function sendAuthorized(
    source: TokenSource,
    transport: HttpTransport,
    send: (grant: AccessGrant) => Promise<ExchangeResult>,
): Promise<AuthorizedResult> {
    let resent = 0;
    for (;;) {
        let grant: AccessGrant;
        try {
            grant = await source.grant(transport);
        } catch (err) {
            if (!(err instanceof TokenFailure)) throw err;
            return { result: { error: err.error, secrets: source.secrets() }, verdict: err.verdict, resent };
        }
        const result = await send(grant);
        result.secrets = [...(result.secrets ?? []), ...source.secrets()];
        if (result.response?.statusCode !== 401 || resent > 0) return { result, resent, grant };
        source.invalidate(grant);
        resent += 1;
    }
}

/** The token step as the Test dialog shows it: where the token came from and what came with it, never the token. */
export function describeGrant(source: TokenSource, authorized: AuthorizedResult, requestsBefore: number): Record<string, unknown> {
    const fetched = source.tokenRequests - requestsBefore;
    const step: Record<string, unknown> = {
        tokenUrl: source.settings.tokenUrl,
        grant: source.settings.grant,
        fetched: fetched > 0 ? `${fetched} token request${fetched === 1 ? '' : 's'}` : 'cached',
    };
    if (authorized.grant) {
        step.accessToken = '***';
        if (authorized.grant.instanceUrl) step.instanceUrl = authorized.grant.instanceUrl;
        if (authorized.grant.renewAt !== undefined) step.renewsAt = new Date(authorized.grant.renewAt).toISOString();
    } else if (authorized.verdict) step.error = authorized.result.error?.message;
    if (authorized.resent) step.resent = 'the target answered 401: a new token was fetched and the request sent once more';
    return step;
}
