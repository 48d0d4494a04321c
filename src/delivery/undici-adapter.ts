import { AxiosError, AxiosHeaders, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import zlib from 'node:zlib';
import { ProxyAgent, type Dispatcher } from 'undici';
import { timedConnector } from './connect-timeout';
import { OriginPools } from './origin-pools';
import { proxyFor } from './proxy-from-environment';
import type { TlsOptions } from './http-transport';

export interface UndiciAdapterOptions {
    tls?: TlsOptions;
    /** Connections per origin; requests beyond wait for a free one. */
    connections: number;
}

/** An axios adapter and what it holds open: one connection pool per origin, one more set per proxy. */
export interface UndiciTransport {
    adapter: AxiosAdapter;
    /** Closes every pooled connection; requests in flight fail. */
    close(): Promise<void>;
}

type BodyDecoder = zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress;

// As axios's http adapter: sync flush so a body that ends without its trailer still yields what it carried.
const ZLIB_OPTIONS = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_OPTIONS = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };

/**
 * The content codings axios's http adapter decodes. Deflate comes zlib-wrapped (RFC 9110) or, from some servers,
 * raw; the first byte tells which.
 */
const DECODED = new Set(['gzip', 'x-gzip', 'compress', 'x-compress', 'deflate', 'br']);

/** Deflate comes zlib-wrapped (RFC 9110) or, from some servers, raw; the first byte tells which. */
function decoderFor(coding: string, firstByte: number): BodyDecoder {
    if (coding === 'br') return zlib.createBrotliDecompress(BROTLI_OPTIONS);
    if (coding === 'deflate') return (firstByte & 0x0f) === 8 ? zlib.createInflate(ZLIB_OPTIONS) : zlib.createInflateRaw(ZLIB_OPTIONS);
    return zlib.createUnzip(ZLIB_OPTIONS);
}

/** Node's http client joins repeated headers with ", " except Set-Cookie; undici lists them: keep what axios gave. */
function nodeStyleHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
    const result: Record<string, string | string[]> = {};
    for (const name in headers) {
        const value = headers[name];
        if (value === undefined) continue;
        result[name] = Array.isArray(value) && name !== 'set-cookie' ? value.join(', ') : value;
    }
    return result;
}

function requestHeaders(config: InternalAxiosRequestConfig): Record<string, string> {
    // toJSON leaves out the headers set to false (axios's way of saying "send none").
    return AxiosHeaders.from(config.headers).toJSON(true) as Record<string, string>;
}

function requestBody(data: unknown): Buffer | string | undefined {
    if (data === undefined || data === null) return undefined;
    if (Buffer.isBuffer(data) || typeof data === 'string') return data;
    if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return Buffer.from(data);
    throw new AxiosError('the undici adapter sends a Buffer, Uint8Array, ArrayBuffer or string body only', AxiosError.ERR_BAD_REQUEST);
}

/**
 * One exchange as an undici dispatch handler: collects the body (decoded, bounded) and settles once, whichever of
 * the answer, an error, the timer or the caller's signal comes first.
 */
class Exchange implements Dispatcher.DispatchHandler {
    private controller?: Dispatcher.DispatchController;
    private settled = false;
    private timer?: NodeJS.Timeout;
    private status = 0;
    private statusText = '';
    private headers: Record<string, string | string[]> = {};
    private chunks: Buffer[] = [];
    private received = 0;
    private coding = '';
    private decoder?: BodyDecoder;
    private readonly limit: number;
    private readonly onAbort = (): void => this.fail(new CanceledError(undefined, undefined, this.config));

    constructor(
        private readonly config: InternalAxiosRequestConfig,
        private readonly resolve: (response: AxiosResponse) => void,
        private readonly reject: (error: unknown) => void,
    ) {
        this.limit = typeof config.maxContentLength === 'number' && config.maxContentLength > -1 ? config.maxContentLength : Infinity;
        // One timer over the whole exchange (connect, send, wait, body): axios's own is an idle timer, which a
        // server trickling bytes keeps from firing.
        if (config.timeout && config.timeout > 0) {
            const timeout = config.timeout;
            this.timer = setTimeout(() => this.fail(new AxiosError(`timeout of ${timeout}ms exceeded`, AxiosError.ECONNABORTED, config)), timeout);
        }
        if (config.signal) {
            if (config.signal.aborted) this.onAbort();
            else config.signal.addEventListener?.('abort', this.onAbort, { once: true });
        }
    }

    get done(): boolean {
        return this.settled;
    }

    onRequestStart(controller: Dispatcher.DispatchController): void {
        this.controller = controller;
        // Settled while it waited for a connection: it must not go out now.
        if (this.settled) controller.abort(new Error('request abandoned'));
    }

    onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
        if (statusCode < 200) return; // an informational answer; the real one follows
        this.controller = controller;
        this.status = statusCode;
        this.statusText = statusMessage || STATUS_CODES[statusCode] || '';
        this.headers = nodeStyleHeaders(headers);
        const coding = this.headers['content-encoding'];
        const method = (this.config.method ?? 'get').toUpperCase();
        if (this.config.decompress !== false && typeof coding === 'string') {
            const name = coding.trim().toLowerCase();
            // The codings axios's http adapter decodes; another one is passed on as it came, header and all. A
            // body-less answer has nothing to decode, but a header claiming an encoding would mislead its reader.
            if (DECODED.has(name) || method === 'HEAD' || statusCode === 204) delete this.headers['content-encoding'];
            if (DECODED.has(name) && method !== 'HEAD' && statusCode !== 204) this.coding = name;
        }
    }

    onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
        if (this.settled) return;
        if (!this.coding) return this.take(chunk);
        this.decoder ??= this.startDecoding(chunk[0]);
        // A fast server must not pile compressed bytes up in front of a slower decoder.
        if (!this.decoder.write(chunk)) {
            controller.pause();
            this.decoder.once('drain', () => controller.resume());
        }
    }

    onResponseEnd(): void {
        if (this.settled) return;
        if (!this.decoder) return this.succeed();
        this.decoder.once('end', () => this.succeed());
        this.decoder.end();
    }

    onResponseError(_: Dispatcher.DispatchController, error: Error): void {
        this.fail(error);
    }

    private startDecoding(firstByte: number): BodyDecoder {
        const decoder = decoderFor(this.coding, firstByte);
        decoder.on('data', (chunk: Buffer) => this.take(chunk));
        decoder.on('error', (error) => this.fail(AxiosError.from(error, AxiosError.ERR_BAD_RESPONSE, this.config)));
        return decoder;
    }

    /** Counts what the body decodes to, so a small compressed body cannot grow without bound in memory either. */
    private take(chunk: Buffer): void {
        if (this.settled) return;
        this.received += chunk.length;
        if (this.received > this.limit) {
            const error = new AxiosError(`maxContentLength size of ${this.limit} exceeded`, AxiosError.ERR_BAD_RESPONSE, this.config);
            this.fail(error);
            return;
        }
        this.chunks.push(chunk);
    }

    private succeed(): void {
        if (this.settled) return;
        const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.received);
        const response: AxiosResponse = { data, status: this.status, statusText: this.statusText, headers: this.headers, config: this.config, request: {} };
        const validate = this.config.validateStatus;
        if (!validate || validate(this.status)) {
            this.finish();
            this.resolve(response);
            return;
        }
        const code = this.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
        this.fail(new AxiosError(`Request failed with status code ${this.status}`, code, this.config, {}, response));
    }

    fail(error: unknown): void {
        if (this.settled) return;
        this.finish();
        if (this.controller && !this.controller.aborted) this.controller.abort(error instanceof Error ? error : new Error(String(error)));
        this.decoder?.destroy();
        this.chunks = [];
        this.reject(error instanceof AxiosError ? error : AxiosError.from(error, undefined, this.config, {}));
    }

    private finish(): void {
        this.settled = true;
        clearTimeout(this.timer);
        this.config.signal?.removeEventListener?.('abort', this.onAbort);
    }
}

/**
 * An axios adapter over undici: one pool per origin (`connections` each, keep-alive, no pipelining), TLS options
 * for every origin, and the proxy that `http_proxy`/`https_proxy`/`no_proxy` name for the URL at send time, as
 * axios's http adapter reads them. Redirects are never followed: a 3xx is the answer.
 */
export function createUndiciTransport(options: UndiciAdapterOptions): UndiciTransport {
    const tls = options.tls ?? {};
    const poolOptions = { connections: options.connections, pipelining: 1 };
    const direct = new OriginPools({ ...poolOptions, connect: timedConnector({ ...tls }) });
    const proxies = new Map<string, ProxyAgent>();

    const dispatcherFor = (url: URL, config: InternalAxiosRequestConfig): Dispatcher => {
        // `proxy: false` turns the environment's proxy off, as it does for axios's http adapter.
        const proxy = config.proxy === false ? undefined : proxyFor(url);
        if (!proxy) return direct.for(url.origin);
        let agent = proxies.get(proxy);
        if (!agent) {
            // http targets go to the proxy in absolute form, https ones through a CONNECT tunnel, as axios does.
            agent = new ProxyAgent({ uri: proxy, ...poolOptions, proxyTunnel: false, requestTls: { ...tls } });
            proxies.set(proxy, agent);
        }
        return agent;
    };

    const adapter: AxiosAdapter = (config) =>
        new Promise<AxiosResponse>((resolve, reject) => {
            const exchange = new Exchange(config, resolve, reject);
            if (exchange.done) return;
            try {
                const url = new URL(config.url ?? '', config.baseURL);
                if (url.protocol !== 'http:' && url.protocol !== 'https:') {
                    throw new AxiosError(`Unsupported protocol ${url.protocol}`, AxiosError.ERR_BAD_REQUEST, config);
                }
                const body = requestBody(config.data);
                dispatcherFor(url, config).dispatch(
                    {
                        origin: url.origin,
                        path: `${url.pathname}${url.search}`,
                        method: (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod,
                        headers: requestHeaders(config),
                        body,
                        // The exchange's timer bounds the whole exchange; undici's own would only cut it shorter.
                        headersTimeout: 0,
                        bodyTimeout: 0,
                    },
                    exchange,
                );
            } catch (error) {
                exchange.fail(error);
            }
        });

    return {
        adapter,
        async close() {
            await Promise.allSettled([direct.destroy(), ...[...proxies.values()].map((agent) => agent.destroy())]);
            proxies.clear();
        },
    };
}
