/**
 * The settings of a "Web Service Integration Profile" as the "web service out" node stores them. The property
 * names are the node's public flow JSON: never rename one.
 */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const BODY_TYPES = ['none', 'form', 'custom', 'payload'] as const;
export type BodyType = (typeof BODY_TYPES)[number];

export const AUTH_TYPES = ['none', 'basic', 'bearer', 'oauth2'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

/** One row of the URL parameters, headers or form parameters: the value is a template over `msg.call`. */
export interface NameValue {
    name: string;
    value: string;
}

export interface RequestConfig {
    url: string;
    method: HttpMethod;
    params: NameValue[];
    headers: NameValue[];
    form: NameValue[];
    bodyType: BodyType;
    /** Content type of the custom body; it also picks how placeholders in the body are escaped. */
    contentType: string;
    /** The custom body template. */
    body: string;
    authType: AuthType;
    /** Name of the header that carries the secret `apiKey` credential, e.g. `X-API-Key` (empty: none). */
    apiKeyHeader: string;
    /** Id of the `ccaas-oauth2` config node, for authType `oauth2`. */
    oauth2: string;
}

/** What lives in Node-RED credentials, so that none of it is ever in the flow JSON. */
export interface RequestCredentials {
    user?: string;
    password?: string;
    token?: string;
    apiKey?: string;
}

export const DEFAULT_CONTENT_TYPE = 'application/json';

export function isHttpMethod(value: unknown): value is HttpMethod {
    return (HTTP_METHODS as readonly unknown[]).includes(value);
}

export function isBodyType(value: unknown): value is BodyType {
    return (BODY_TYPES as readonly unknown[]).includes(value);
}

export function isAuthType(value: unknown): value is AuthType {
    return (AUTH_TYPES as readonly unknown[]).includes(value);
}

/** A secret the chosen authentication needs, by its credential field. */
export type RequiredSecret = 'password' | 'token' | 'apiKey';

/**
 * The first secret the profile's authentication needs and the credentials lack: Basic needs the password (the user
 * may be empty, as some services expect), Bearer the token, a named API key header the key. The editor's
 * `validate` of nodes/web-service-out.html asks the same questions, so a node the runtime would refuse carries the
 * red triangle before it is deployed.
 */
export function missingSecret(config: Partial<RequestConfig>, credentials: RequestCredentials): RequiredSecret | undefined {
    if (config.authType === 'basic' && !credentials.password) return 'password';
    if (config.authType === 'bearer' && !credentials.token) return 'token';
    if ((config.apiKeyHeader ?? '').trim() && !credentials.apiKey) return 'apiKey';
    return undefined;
}
