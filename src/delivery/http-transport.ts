import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { OutgoingRequest } from '../request/build-request';
import { maskText } from '../request/masking';
import { classifyFailure, statusFailure, type DeliveryOutcome, type ReceivedResponse } from './delivery-error';
import { createUndiciTransport } from './undici-adapter';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** A webhook answer is small; a receiver streaming without end must not fill the memory. */
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** TLS options as the core `tls-config` node's addTLSOptions() fills them in. */
export type TlsOptions = SecureContextOptions & { rejectUnauthorized?: boolean; servername?: string; ALPNProtocols?: string[] };

/**
 * What axios sends through: `undici` (pools per origin, about five times less CPU per request here) or axios's own
 * `http` adapter over Node's http, kept to measure one against the other.
 */
export type TransportAdapter = 'undici' | 'axios-http';

export interface TransportOptions {
    tls?: TlsOptions;
    /** Connections kept per host; requests beyond wait for a free one. */
    maxSockets?: number;
    adapter?: TransportAdapter;
}

export interface SendOptions {
    timeoutMs?: number;
}

/** The pieces that differ between the two adapters: how axios is set up and what closing releases. */
interface AdapterSetup {
    client: AxiosInstance;
    /** The undici adapter bounds the whole exchange itself; axios's http adapter needs an abort timer beside it. */
    boundsWholeExchange: boolean;
    close(): void;
}

function undiciSetup(options: TransportOptions, maxSockets: number): AdapterSetup {
    const transport = createUndiciTransport({ tls: options.tls, connections: maxSockets });
    return {
        client: leanAxios({ adapter: transport.adapter }),
        boundsWholeExchange: true,
        close: () => void transport.close(),
    };
}

function axiosHttpSetup(options: TransportOptions, maxSockets: number): AdapterSetup {
    const httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    const httpsAgent = new https.Agent({ keepAlive: true, maxSockets, ...options.tls });
    return {
        client: leanAxios({ adapter: 'http', httpAgent, httpsAgent }),
        boundsWholeExchange: false,
        close: () => {
            httpAgent.destroy();
            httpsAgent.destroy();
        },
    };
}

/**
 * Sends built requests over pooled keep-alive connections. `send` is the one entry point: it takes a request
 * exactly as built and resolves (never rejects) with the response or a classified failure, which is what a retry
 * or outbox layer in front of it needs. The transport holds no per-message state.
 */
export class HttpTransport {
    private readonly setup: AdapterSetup;

    constructor(options: TransportOptions = {}) {
        const maxSockets = options.maxSockets ?? 16;
        this.setup = options.adapter === 'axios-http' ? axiosHttpSetup(options, maxSockets) : undiciSetup(options, maxSockets);
    }

    async send(request: OutgoingRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
        const timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_TIMEOUT_MS;
        // Named in failures only; a delivered request has no use for the masked text.
        const target = (): string => `${request.method} ${maskText(request.url, request.secrets)}`;
        // axios's http adapter's timeout is an idle timer on the socket: a server trickling a byte now and then
        // keeps it from firing. The abort timer bounds the whole exchange, whatever the server does.
        let controller: AbortController | undefined;
        let timer: NodeJS.Timeout | undefined;
        let timedOut = false;
        if (!this.setup.boundsWholeExchange) {
            const aborting = new AbortController();
            controller = aborting;
            timer = setTimeout(() => {
                timedOut = true;
                aborting.abort();
            }, timeoutMs);
        }
        const started = performance.now();
        try {
            const answer: AxiosResponse<Buffer> = await this.setup.client.request(axiosRequest(request, timeoutMs, controller?.signal));
            const response: ReceivedResponse = {
                statusCode: answer.status,
                statusMessage: answer.statusText ?? '',
                headers: plainHeaders(answer.headers),
                body: Buffer.isBuffer(answer.data) ? answer.data : Buffer.from(answer.data ?? ''),
                timeMs: Math.round(performance.now() - started),
            };
            if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, response };
            return { ok: false, error: statusFailure(target(), response) };
        } catch (err) {
            const error = classifyFailure(err, target(), timeoutMs, timedOut);
            return { ok: false, error };
        } finally {
            clearTimeout(timer);
        }
    }

    /** Closes the pooled connections; requests in flight are not waited for. */
    close(): void {
        this.setup.close();
    }
}

/**
 * An axios instance whose defaults are only what it is given. axios merges its instance defaults into every request
 * key by key (and checks its `transitional` options each time); axiosRequest() sets every option a request needs, so
 * the stock defaults were work per request for nothing (about a fifth of axios's own cost here). No default headers
 * either: the built request lists every header it sends, and axios's would add unseen ones.
 */
export function leanAxios(defaults: Pick<AxiosRequestConfig, 'adapter' | 'httpAgent' | 'httpsAgent'>): AxiosInstance {
    const client = axios.create();
    // In place: the instance's requests read the object axios.create made, not the instance's property.
    const own = client.defaults as Record<string, unknown>;
    for (const key of Object.keys(own)) delete own[key];
    Object.assign(own, defaults, { headers: {} });
    return client;
}

/**
 * What axios is asked for one built request, whichever adapter sends it (the benchmark also times axios alone with
 * it, over an adapter that answers at once).
 */
export function axiosRequest(request: OutgoingRequest, timeoutMs: number, signal?: AbortSignal): AxiosRequestConfig {
    return {
        method: request.method,
        url: request.url,
        headers: axiosHeaders(request.headers),
        data: request.body,
        timeout: timeoutMs,
        signal,
        responseType: 'arraybuffer',
        // No transforms: the body is sent as built and the answer kept as bytes (each one costs a pass over the
        // headers too).
        transformRequest: [],
        transformResponse: [],
        validateStatus: () => true,
        // A redirect would send the request (and its secret headers) somewhere the profile does not name.
        maxRedirects: 0,
        decompress: true,
        maxContentLength: MAX_RESPONSE_BYTES,
        maxBodyLength: Infinity,
    };
}

function plainHeaders(headers: unknown): Record<string, string | string[]> {
    const plain: Record<string, string | string[]> = {};
    const source = headers && typeof (headers as { toJSON?: unknown }).toJSON === 'function' ? (headers as { toJSON(): object }).toJSON() : headers;
    for (const [name, value] of Object.entries((source ?? {}) as Record<string, unknown>)) {
        if (value === undefined || value === null) continue;
        plain[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
    }
    return plain;
}

/** The request's headers for axios, which would otherwise add a form Content-Type to a POST without a body. */
function axiosHeaders(headers: Record<string, string>): Record<string, string | false> {
    const result: Record<string, string | false> = { ...headers };
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) result['Content-Type'] = false;
    return result;
}
