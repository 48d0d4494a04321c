// A real OAuth 2.0 authorization server on 127.0.0.1 (oauth2-mock-server), with the checks a real provider makes
// (client id and secret, the current refresh token) and a record of every token request it received.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Server } from 'oauth2-mock-server';

export interface SeenTokenRequest {
    headers: IncomingHttpHeaders;
    form: Record<string, string>;
}

export interface Provider {
    tokenUrl: string;
    port: number;
    clientId: string;
    clientSecret: string;
    /** The refresh token the provider accepts now; each refresh rotates it. */
    refreshToken: string;
    /** Every token request received, in order. */
    seen: SeenTokenRequest[];
    /** Every access token issued, in order. */
    issued: string[];
    expiresIn: number;
    /** Sent as instance_url when set (Salesforce). */
    instanceUrl?: string;
    /** false: a refresh is answered without a new refresh token (Salesforce unless the app enables rotation). */
    rotatesRefreshToken: boolean;
    /** false: answers carry no expires_in (Salesforce: a token lives until its session times out). */
    sendsExpiresIn: boolean;
    /** true: a refresh needs the client secret too (Salesforce's "Require Secret for Refresh Token Flow"). */
    refreshNeedsSecret: boolean;
    /** Answers the next token requests with this status (5xx: the provider is down), then normally again. */
    failNext: { count: number; status: number };
    /** Answers with this error instead of checking (invalid_client, invalid_grant). */
    refuseWith?: { status: number; error: string; description: string };
    stop(): Promise<void>;
    /** Starts again on the same port after stop(). */
    restart(): Promise<void>;
}

function clientOf(headers: IncomingHttpHeaders, form: Record<string, string>): { id?: string; secret?: string } {
    const basic = /^Basic (.+)$/i.exec(String(headers.authorization ?? ''));
    if (!basic) return { id: form.client_id, secret: form.client_secret };
    const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    // RFC 6749 2.3.1: both parts are form-encoded before they are joined.
    const decode = (text = ''): string => decodeURIComponent(text.replace(/\+/g, ' '));
    return { id: decode(id), secret: decode(secret) };
}

export async function startProvider(
    options: { clientId?: string; clientSecret?: string; refreshToken?: string; expiresIn?: number; port?: number } = {},
): Promise<Provider> {
    const server = new OAuth2Server();
    await server.issuer.keys.generate('RS256');
    // Two tokens issued in the same second would otherwise be the same JWT.
    server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
        token.payload.jti = randomUUID();
    });
    await server.start(options.port ?? 0, '127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    const provider: Provider = {
        tokenUrl: `http://127.0.0.1:${port}/token`,
        port,
        clientId: options.clientId ?? 'node red:client',
        clientSecret: options.clientSecret ?? 's3cr3t+/= with space&amp',
        refreshToken: options.refreshToken ?? 'refresh-token-0',
        seen: [],
        issued: [],
        expiresIn: options.expiresIn ?? 3600,
        failNext: { count: 0, status: 503 },
        rotatesRefreshToken: true,
        sendsExpiresIn: true,
        refreshNeedsSecret: false,
        stop: () => server.stop(),
        restart: async () => {
            await server.start(port, '127.0.0.1');
        },
    };
    server.service.on(
        'beforeResponse',
        (response: { statusCode: number; body: Record<string, unknown> }, req: { headers: IncomingHttpHeaders; body: Record<string, string> }) => {
            const form = { ...req.body };
            provider.seen.push({ headers: req.headers, form });
            const refuse = (status: number, error: string, description: string): void => {
                response.statusCode = status;
                response.body = { error, error_description: description };
            };
            if (provider.failNext.count > 0) {
                provider.failNext.count -= 1;
                response.statusCode = provider.failNext.status;
                response.body = { error: 'temporarily_unavailable' };
                return;
            }
            if (provider.refuseWith) return refuse(provider.refuseWith.status, provider.refuseWith.error, provider.refuseWith.description);
            const client = clientOf(req.headers, form);
            if (client.id !== provider.clientId) return refuse(401, 'invalid_client', 'unknown client');
            if (form.grant_type === 'client_credentials' && client.secret !== provider.clientSecret)
                return refuse(401, 'invalid_client', 'client authentication failed');
            if (form.grant_type === 'refresh_token') {
                if (provider.refreshNeedsSecret && client.secret !== provider.clientSecret) return refuse(400, 'invalid_client', 'invalid client credentials');
                if (form.refresh_token !== provider.refreshToken) return refuse(400, 'invalid_grant', 'the refresh token is revoked or unknown');
                if (provider.rotatesRefreshToken) provider.refreshToken = String(response.body.refresh_token);
                else delete response.body.refresh_token;
            }
            if (provider.sendsExpiresIn) response.body.expires_in = provider.expiresIn;
            else delete response.body.expires_in;
            if (provider.instanceUrl) response.body.instance_url = provider.instanceUrl;
            provider.issued.push(String(response.body.access_token));
        },
    );
    return provider;
}
