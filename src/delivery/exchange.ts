import { CodedError } from '../errors/coded-error';
import type { OutgoingRequest, RequestBuilder, RequestGrant } from '../request/build-request';
import { displayRequest, type DisplayedRequest } from '../request/masking';
import type { HttpTransport } from './http-transport';
import { viewResponse, type ResponseView } from './response-body';

/** One call turned into one request and, when sent, its answer: what a message or the Test button reports. */
export interface ExchangeResult {
    /** The request exactly as sent (or as it would be sent), secrets masked; absent when it could not be built. */
    request?: DisplayedRequest;
    response?: ResponseView;
    error?: CodedError;
    /** The secret values of the request, for masking anything else that is shown (the Test dialog masks all). */
    secrets?: string[];
}

export interface ExchangeOptions {
    timeoutMs?: number;
    /** false: build the request only (the Preview). */
    send?: boolean;
    /** Adds what is not part of the profile (the idempotency key, a signature) to the built request. */
    decorate?: (request: OutgoingRequest) => OutgoingRequest;
    /** The OAuth 2.0 access token for this send (authType oauth2). */
    grant?: RequestGrant;
}

/**
 * Builds the request for a call and sends it. The node's input handler and the editor's Test endpoint both go
 * through here, so what the Test shows is what a message does.
 */
export async function exchange(
    builder: RequestBuilder,
    transport: HttpTransport | undefined,
    call: object,
    payload: unknown,
    options: ExchangeOptions = {},
): Promise<ExchangeResult> {
    let request;
    try {
        request = builder.build(call, payload, options.grant);
        if (options.decorate) request = options.decorate(request);
    } catch (err) {
        return { error: err instanceof CodedError ? err : new CodedError('render', String((err as Error)?.message ?? err)) };
    }
    const shown = displayRequest(request);
    if (options.send === false || !transport) return { request: shown, secrets: request.secrets };
    const outcome = await transport.send(request, { timeoutMs: options.timeoutMs });
    if (outcome.ok) return { request: shown, response: viewResponse(outcome.response), secrets: request.secrets };
    const { error } = outcome;
    return { request: shown, response: error.response ? viewResponse(error.response) : undefined, error, secrets: request.secrets };
}
