import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { HttpTransport, DEFAULT_TIMEOUT_MS, type TlsOptions } from '../delivery/http-transport';
import { exchange, type ExchangeResult } from '../delivery/exchange';
import { responsePayload } from '../delivery/response-body';
import { CodedError, ConfigError, InputError } from '../errors/coded-error';
import { sampleCall } from '../call/sample-call';
import { compileRequest, type RequestBuilder } from '../request/build-request';
import { maskValue } from '../request/masking';
import type { RequestConfig, RequestCredentials } from '../request/request-config';
import { compileUrl } from '../request/url-template';
import { registerEditorResources } from './editor-resources';
import { throttledStatus } from './throttled-status';

interface WebServiceOutConfig extends NodeDef, Partial<RequestConfig> {
    /** Seconds. */
    timeout?: number | string;
    /** Id of a core tls-config node. */
    tls?: string;
    /** A second output that receives each failed message (besides the error a Catch node sees). */
    failureOutput?: boolean;
}

type WebServiceOutNode = Node<Record<(typeof SECRET_FIELDS)[number], unknown>> & {
    /** The origin this deployed node sends its secrets to: the only one the Test may reuse them for. */
    sendsTo?: string;
};

interface TlsConfigNode extends Node {
    addTLSOptions(options: TlsOptions): TlsOptions;
}

interface TestRequest {
    id?: unknown;
    config?: unknown;
    credentials?: unknown;
    call?: unknown;
    payload?: unknown;
    send?: unknown;
}

const NO_CALL = 'msg.call is missing or not an object: "web service out" builds its request from msg.call (set by "call event in")';
// The editor sends this in place of a password it never received.
const STORED_SECRET = '__PWRD__';
const SECRET_FIELDS = ['user', 'password', 'token', 'apiKey'] as const;

function timeoutMsOf(value: unknown): number {
    if (value === undefined || value === null || value === '') return DEFAULT_TIMEOUT_MS;
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`timeout: "${String(value)}" is not a positive number of seconds`);
    return Math.round(seconds * 1000);
}

function clock(): string {
    return new Date().toTimeString().slice(0, 8);
}

/** The origin a URL template sends to, or undefined when the URL does not compile. */
function originOf(url: unknown): string | undefined {
    try {
        return compileUrl(typeof url === 'string' ? url : '').origin;
    } catch {
        return undefined;
    }
}

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function tlsOptionsOf(id: unknown): TlsOptions | undefined {
        if (!id) return undefined;
        const tlsNode = RED.nodes.getNode(String(id)) as TlsConfigNode | null;
        if (!tlsNode || typeof tlsNode.addTLSOptions !== 'function') throw new ConfigError(`tls: the TLS configuration ${String(id)} is not deployed`);
        return tlsNode.addTLSOptions({});
    }

    /** Profile + credentials + TLS: the one way both a deployed node and the Test endpoint get ready to send. */
    function prepare(config: Partial<WebServiceOutConfig>, credentials: RequestCredentials) {
        const builder = compileRequest(config, credentials);
        return { builder, timeoutMs: timeoutMsOf(config.timeout), tls: tlsOptionsOf(config.tls) };
    }

    function WebServiceOutNode(this: WebServiceOutNode, config: WebServiceOutConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        node.sendsTo = originOf(config.url);
        let builder: RequestBuilder | undefined;
        let transport: HttpTransport | undefined;
        let timeoutMs = DEFAULT_TIMEOUT_MS;
        let configError: Error | undefined;
        try {
            const prepared = prepare(config, (node.credentials ?? {}) as RequestCredentials);
            builder = prepared.builder;
            timeoutMs = prepared.timeoutMs;
            transport = new HttpTransport({ tls: prepared.tls });
        } catch (err) {
            configError = err as Error;
            node.status({ fill: 'red', shape: 'ring', text: RED._('web-service-out.status.invalid') });
            node.error(configError.message);
        }
        const inFlight = new Set<Promise<void>>();
        const lastOutcome = throttledStatus(node);

        async function handle(msg: NodeMessageInFlow & Record<string, unknown>, send: (msg: NodeMessage | (NodeMessage | null)[]) => void, done: (err?: Error) => void): Promise<void> {
            const call = msg.call;
            if (typeof call !== 'object' || call === null || Array.isArray(call)) {
                done(new InputError(NO_CALL));
                return;
            }
            const result: ExchangeResult = await exchange(builder!, transport, call, msg.payload, { timeoutMs });
            if (result.request) msg.request = result.request;
            if (result.response) {
                msg.response = result.response;
                msg.statusCode = result.response.statusCode;
            }
            if (!result.error) {
                msg.payload = responsePayload(result.response!);
                const { statusCode, timeMs } = result.response!;
                lastOutcome.set(() => ({ fill: 'green', shape: 'dot', text: `${statusCode} · ${timeMs} ms · ${clock()}` }));
                send(config.failureOutput ? [msg, null] : msg);
                done();
                return;
            }
            const error = result.error;
            const failedWith = `${error.code}${result.response ? ` ${result.response.statusCode}` : ''}`;
            lastOutcome.set(() => ({ fill: 'red', shape: 'ring', text: `${failedWith} · ${clock()}` }));
            if (config.failureOutput) {
                const failed = RED.util.cloneMessage(msg) as Record<string, unknown>;
                failed.error = { message: error.message, code: error.code };
                send([null, failed as NodeMessage]);
            }
            done(error);
        }

        node.on('input', (msg, send, done) => {
            if (!builder) {
                done(configError);
                return;
            }
            const work = handle(msg as NodeMessageInFlow & Record<string, unknown>, send, done).catch((err) => done(err as Error));
            inFlight.add(work);
            void work.finally(() => inFlight.delete(work));
        });

        // Requests in flight end within their timeout; the pooled connections close after them.
        node.on('close', (_removed: boolean, closed: () => void) => {
            void Promise.allSettled([...inFlight]).then(() => {
                lastOutcome.stop();
                transport?.close();
                closed();
            });
        });
    }

    RED.nodes.registerType('web-service-out', WebServiceOutNode, {
        credentials: {
            user: { type: 'text' },
            password: { type: 'password' },
            token: { type: 'password' },
            apiKey: { type: 'password' },
        },
    });

    /**
     * Secrets the dialog does not have (Node-RED never sends a stored password to the editor) come from the
     * deployed node the dialog belongs to.
     */
    function credentialsFor(id: unknown, fromDialog: unknown, url: unknown): RequestCredentials {
        const stored = (typeof id === 'string' && id ? (RED.nodes.getCredentials(id) as RequestCredentials | undefined) : undefined) ?? {};
        const dialog = (fromDialog && typeof fromDialog === 'object' ? fromDialog : {}) as Record<string, unknown>;
        const merged: RequestCredentials = {};
        for (const field of SECRET_FIELDS) {
            const value = dialog[field];
            if (typeof value === 'string' && value !== STORED_SECRET) {
                merged[field] = value;
            } else if (stored[field] !== undefined) {
                // Otherwise anyone who may edit flows could read a stored secret by pointing the Test elsewhere.
                const deployedOrigin = (RED.nodes.getNode(String(id)) as WebServiceOutNode | null)?.sendsTo;
                if (!deployedOrigin || deployedOrigin !== originOf(url)) {
                    throw new ConfigError(
                        `credentials: the stored ${field} of this node is only sent to ${deployedOrigin ?? 'its deployed URL'}; enter it again to test another URL`,
                    );
                }
                merged[field] = stored[field];
            }
        }
        return merged;
    }

    // The edit dialog's Test (send: true) and Preview (send: false), from its current, unsaved settings.
    RED.httpAdmin.post('/web-service-out/test', RED.auth.needsPermission('web-service-out.write'), (req, res) => {
        const body = (req.body ?? {}) as TestRequest;
        const config = (body.config && typeof body.config === 'object' ? body.config : {}) as Partial<WebServiceOutConfig>;
        const call = body.call && typeof body.call === 'object' && !Array.isArray(body.call) ? body.call : sampleCall();
        let secrets: string[] = [];
        const answer = (result: Record<string, unknown>): void => {
            res.json(maskValue(result, secrets));
        };
        let prepared: ReturnType<typeof prepare>;
        try {
            const credentials = credentialsFor(body.id ?? config.id, body.credentials, config.url);
            secrets = SECRET_FIELDS.filter((field) => field !== 'user').map((field) => credentials[field] ?? '');
            prepared = prepare(config, credentials);
        } catch (err) {
            answer({ error: (err as Error).message, code: err instanceof CodedError ? err.code : 'config' });
            return;
        }
        const transport = body.send === true ? new HttpTransport({ tls: prepared.tls, maxSockets: 1 }) : undefined;
        const payload = 'payload' in body ? body.payload : call;
        void exchange(prepared.builder, transport, call, payload, { timeoutMs: prepared.timeoutMs, send: body.send === true })
            .then((result) => {
                secrets = [...secrets, ...(result.secrets ?? [])];
                const shown: Record<string, unknown> = { request: result.request };
                if (result.response) {
                    const { body: responseBody } = result.response;
                    shown.response = {
                        ...result.response,
                        body: Buffer.isBuffer(responseBody) ? `(${responseBody.length} bytes of binary data)` : responseBody,
                    };
                }
                if (result.error) {
                    shown.error = result.error.message;
                    shown.code = result.error.code;
                }
                answer(shown);
            })
            .catch((err) => answer({ error: String((err as Error)?.message ?? err), code: 'network' }))
            .finally(() => transport?.close());
    });
};
