import { ConfigError } from '../errors/coded-error';

/**
 * The settings of a `ccaas-oauth2` config node as the flow JSON stores them. The property names are public flow
 * JSON: never rename one.
 */
export const GRANTS = ['client_credentials', 'refresh_token'] as const;
export type Grant = (typeof GRANTS)[number];

/** `basic`: client id and secret in an Authorization header (RFC 6749 2.3.1, preferred); `body`: in the form. */
export const CLIENT_AUTHS = ['basic', 'body'] as const;
export type ClientAuth = (typeof CLIENT_AUTHS)[number];

export interface OAuth2Settings {
    tokenUrl: string;
    grant: Grant;
    /** Space-separated scopes; empty: the provider's default. */
    scope: string;
    /** The extra `audience` parameter some providers (Auth0, Okta) require; empty: not sent. */
    audience: string;
    clientAuth: ClientAuth;
}

/** What lives in Node-RED credentials, never in the flow JSON. */
export interface OAuth2Credentials {
    clientId?: string;
    clientSecret?: string;
    refreshToken?: string;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, property: string): T {
    if (value === undefined || value === null || value === '') return fallback;
    if ((allowed as readonly unknown[]).includes(value)) return value as T;
    throw new ConfigError(`${property}: "${String(value)}" is not one of ${allowed.join(', ')}`);
}

/**
 * Checks a config node's properties and credentials on deploy, so a token URL that cannot work is a red mark on
 * deploy and not a surprise on the first call.
 */
export function parseOAuth2Settings(config: Record<string, unknown>, credentials: OAuth2Credentials): OAuth2Settings {
    const tokenUrl = typeof config.tokenUrl === 'string' ? config.tokenUrl.trim() : '';
    if (!tokenUrl) throw new ConfigError('tokenUrl: the token URL is empty');
    let parsed: URL;
    try {
        parsed = new URL(tokenUrl);
    } catch {
        throw new ConfigError(`tokenUrl: "${tokenUrl}" is not a valid URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError(`tokenUrl: "${tokenUrl}" must start with https:// or http://`);
    if (parsed.username || parsed.password) throw new ConfigError('tokenUrl: the client id and secret belong in the credentials, not in the URL');
    const grant = oneOf(config.grant, GRANTS, 'client_credentials', 'grant');
    const clientAuth = oneOf(config.clientAuth, CLIENT_AUTHS, 'basic', 'clientAuth');
    const scope = typeof config.scope === 'string' ? config.scope.trim() : '';
    const audience = typeof config.audience === 'string' ? config.audience.trim() : '';
    if (!credentials.clientId) throw new ConfigError('clientId: the client id is missing from the credentials');
    if (grant === 'client_credentials' && !credentials.clientSecret) {
        throw new ConfigError('clientSecret: the client credentials grant needs the client secret');
    }
    if (grant === 'refresh_token' && !credentials.refreshToken) throw new ConfigError('refreshToken: the refresh token grant needs a refresh token');
    return { tokenUrl: parsed.href, grant, scope, audience, clientAuth };
}
