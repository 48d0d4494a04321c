import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import zlib from 'node:zlib';
import type { OutgoingRequest } from '../request/build-request';
import { maskText } from '../request/masking';
import { classifyFailure, statusFailure, type DeliveryOutcome, type ReceivedResponse } from './delivery-error';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** A webhook answer is small; a receiver streaming without end must not fill the memory. */
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** TLS options as the core `tls-config` node's addTLSOptions() fills them in. */
export type TlsOptions = SecureContextOptions & { rejectUnauthorized?: boolean; servername?: string; ALPNProtocols?: string[] };

export interface TransportOptions {
    tls?: TlsOptions;
    /** Connections kept per host; requests beyond wait for a free one. */
    maxSockets?: number;
}

export interface SendOptions {
    timeoutMs?: number;
}

/**
 * Sends built requests over pooled keep-alive connections. `send` is the one entry point: it takes a request
 * exactly as built and resolves (never rejects) with the response or a classified failure, which is what a retry
 * or outbox layer in front of it needs. The transport holds no per-message state.
 *
 * Requests go out through Node's http client directly: axios cost about 2.8 times the CPU per request (measured
 * with bench/run.ts and --cpu-prof), which capped web service out at a fraction of what the machine can send.
 * undici would be cheaper still, but it rewrites Host, Connection and Content-Length in its own case and order, and
 * the built request promises the exact header lines. When a proxy is configured in the environment, requests go
 * through axios as before, so proxy handling (no_proxy, credentials in the proxy URL) stays exactly axios's.
 */
export class HttpTransport {
    private readonly httpAgent: http.Agent;
    private readonly httpsAgent: https.Agent;
    private viaAxios?: AxiosInstance;

    constructor(options: TransportOptions = {}) {
        const maxSockets = options.maxSockets ?? 16;
        this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
        this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets, ...options.tls });
    }

    async send(request: OutgoingRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
        const timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_TIMEOUT_MS;
        const target = `${request.method} ${maskText(request.url, request.secrets)}`;
        const url = new URL(request.url);
        if (proxyConfigured(url.protocol)) return this.sendWithAxios(request, timeoutMs, target);
        // The timer bounds the whole exchange: a server trickling a byte now and then cannot keep it open.
        let timedOut = false;
        let timer: NodeJS.Timeout | undefined;
        const started = performance.now();
        try {
            const response = await new Promise<ReceivedResponse>((resolve, reject) => {
                const secure = url.protocol === 'https:';
                const outgoing = (secure ? https : http).request(
                    {
                        agent: secure ? this.httpsAgent : this.httpAgent,
                        protocol: url.protocol,
                        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
                        port: url.port,
                        path: `${url.pathname}${url.search}`,
                        method: request.method,
                        headers: request.headers,
                    },
                    (incoming) => {
                        readResponse(incoming, request.method).then(
                            (body) =>
                                resolve({
                                    statusCode: incoming.statusCode ?? 0,
                                    statusMessage: incoming.statusMessage ?? '',
                                    headers: plainHeaders(incoming.headers),
                                    body,
                                    timeMs: Math.round(performance.now() - started),
                                }),
                            reject,
                        );
                    },
                );
                timer = setTimeout(() => {
                    timedOut = true;
                    outgoing.destroy(new Error(`no complete answer within ${timeoutMs} ms`));
                }, timeoutMs);
                outgoing.on('error', reject);
                outgoing.end(request.body);
            });
            if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, response };
            return { ok: false, error: statusFailure(target, response) };
        } catch (err) {
            return { ok: false, error: classifyFailure(err, target, timeoutMs, timedOut) };
        } finally {
            clearTimeout(timer);
        }
    }

    private async sendWithAxios(request: OutgoingRequest, timeoutMs: number, target: string): Promise<DeliveryOutcome> {
        if (!this.viaAxios) {
            this.viaAxios = axios.create({ httpAgent: this.httpAgent, httpsAgent: this.httpsAgent });
            // The built request lists every header it sends; axios's default headers would add unseen ones.
            this.viaAxios.defaults.headers = {} as typeof this.viaAxios.defaults.headers;
        }
        // axios's own timeout is an idle timer on the socket: a server trickling a byte now and then keeps it from
        // firing. The abort timer bounds the whole exchange, whatever the server does.
        const controller = new AbortController();
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            controller.abort();
        }, timeoutMs);
        const started = performance.now();
        try {
            const answer: AxiosResponse<Buffer> = await this.viaAxios.request({
                method: request.method,
                url: request.url,
                headers: axiosHeaders(request.headers),
                data: request.body,
                timeout: timeoutMs,
                signal: controller.signal,
                responseType: 'arraybuffer',
                transformRequest: [(data: unknown) => data],
                transformResponse: [(data: unknown) => data],
                validateStatus: () => true,
                // A redirect would send the request (and its secret headers) somewhere the profile does not name.
                maxRedirects: 0,
                decompress: true,
                maxContentLength: MAX_RESPONSE_BYTES,
                maxBodyLength: Infinity,
            });
            const response: ReceivedResponse = {
                statusCode: answer.status,
                statusMessage: answer.statusText ?? '',
                headers: plainHeaders(answer.headers),
                body: Buffer.isBuffer(answer.data) ? answer.data : Buffer.from(answer.data ?? ''),
                timeMs: Math.round(performance.now() - started),
            };
            if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, response };
            return { ok: false, error: statusFailure(target, response) };
        } catch (err) {
            const error = classifyFailure(err, target, timeoutMs, timedOut);
            return { ok: false, error };
        } finally {
            clearTimeout(timer);
        }
    }

    /** Closes the pooled connections; requests in flight are not waited for. */
    close(): void {
        this.httpAgent.destroy();
        this.httpsAgent.destroy();
    }
}

/** Whether the environment names a proxy for this protocol, as proxy-from-env (axios's reader) looks for one. */
function proxyConfigured(protocol: string): boolean {
    const scheme = protocol.replace(/:$/, '');
    for (const name of [`npm_config_${scheme}_proxy`, `${scheme}_proxy`, 'npm_config_proxy', 'all_proxy']) {
        if (process.env[name] || process.env[name.toUpperCase()]) return true;
    }
    return false;
}

/**
 * The body, decompressed as axios did (Content-Encoding removed then, since the body no longer has it), stopping
 * with an error past MAX_RESPONSE_BYTES.
 */
function readResponse(incoming: http.IncomingMessage, method: string): Promise<Buffer> {
    let stream: NodeJS.ReadableStream = incoming;
    const encoding = String(incoming.headers['content-encoding'] ?? '').toLowerCase();
    if (method !== 'HEAD' && incoming.statusCode !== 204 && encoding) {
        // Sync flush as axios: a body cut short still yields what arrived.
        const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
        let decoder: zlib.Unzip | zlib.BrotliDecompress | undefined;
        if (['gzip', 'x-gzip', 'compress', 'x-compress', 'deflate'].includes(encoding)) decoder = zlib.createUnzip(flush);
        else if (encoding === 'br') decoder = zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
        if (decoder) {
            delete incoming.headers['content-encoding'];
            incoming.on('error', (err) => decoder!.destroy(err));
            stream = incoming.pipe(decoder);
        }
    }
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
                incoming.destroy();
                reject(new Error(`maxContentLength size of ${MAX_RESPONSE_BYTES} exceeded`));
                return;
            }
            chunks.push(chunk);
        });
        stream.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
        stream.on('error', reject);
        incoming.on('close', () => {
            if (!incoming.complete) reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        });
    });
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
