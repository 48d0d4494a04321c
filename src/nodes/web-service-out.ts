import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { describeGrant, sendAuthorized } from '../auth/authorized-send';
import { deployedTokens, type OAuth2Provider } from '../auth/config-node-tokens';
import type { TokenSource } from '../auth/token-source';
import { DeliveryError } from '../delivery/delivery-error';
import { deliveryHeaders, type Decorate } from '../delivery/delivery-headers';
import {
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_QUEUED,
    DEFAULT_MAX_QUEUED_BYTES,
    DeliveryQueue,
    MIB,
    type AttemptOutcome,
    type Job,
    type QueueSnapshot,
} from '../delivery/delivery-queue';
import { HttpTransport, DEFAULT_TIMEOUT_MS, type TlsOptions } from '../delivery/http-transport';
import { exchange, type ExchangeResult } from '../delivery/exchange';
import { DEFAULT_IDEMPOTENCY_HEADER, idempotencyKey } from '../delivery/idempotency';
import { restoredPayload, storedPayload, type OutboxEntry } from '../delivery/outbox';
import { responsePayload } from '../delivery/response-body';
import { verdictOf } from '../delivery/retry-policy';
import { formatWait, parseRetries } from '../delivery/retry-schedule';
import { CodedError, ConfigError } from '../errors/coded-error';
import { logText } from '../logging/log-text';
import { StoreError, type DurableStore } from '../store/durable-store';
import { openFileStore, type FileStore } from '../store/file-store';
import { MemoryStore } from '../store/memory-store';
import { nodeStateDirectory } from '../store/node-state-directory';
import { sampleCall } from '../call/sample-call';
import { compileRequest, type OutgoingRequest, type RequestBuilder, type RequestGrant } from '../request/build-request';
import { maskValue } from '../request/masking';
import { missingSecret, type RequestConfig, type RequestCredentials } from '../request/request-config';
import { compileUrl } from '../request/url-template';
import { computingAdminRoute } from './shared/admin-request';
import { callOf } from './shared/msg-call';
import { rateLimitedWarning } from './shared/rate-limited-warning';
import { registerEditorResources } from './shared/editor-resources';
// While requests are queued the status changes with every attempt; the editor is told at most this often.
import { STATUS_INTERVAL_MS } from './shared/throttled-status';

interface WebServiceOutConfig extends NodeDef, Partial<RequestConfig> {
    /** Seconds. */
    timeout?: number | string;
    /** Id of a core tls-config node. */
    tls?: string;
    /** A second output that receives each failed message (besides the error a Catch node sees). */
    failureOutput?: boolean;
    /** Waits between attempts, e.g. "1s, 5s, 30s, 2m"; empty: no retries; missing: the default schedule. */
    retries?: string;
    /** Requests in flight at once. */
    concurrency?: number | string;
    /** Requests started per second at most; empty: no limit. */
    rate?: number | string;
    /** Header carrying the idempotency key; empty: not sent; missing: Idempotency-Key. */
    idempotencyHeader?: string;
    /** Requests kept queued at most; missing or empty: 10,000. */
    maxQueued?: number | string;
    /** MiB of queued outbox entries at most; missing or empty: 64. */
    maxQueuedSize?: number | string;
}

type Credentials = RequestCredentials & { signingSecret?: string };

type WebServiceOutNode = Node<Record<(typeof SECRET_FIELDS)[number], unknown>> & {
    /** The origin this deployed node sends its secrets to: the only one the Test may reuse them for. */
    sendsTo?: string;
    /** What the delivery queue holds now (requests and bytes); undefined until the outbox is open. */
    queueSnapshot?: () => QueueSnapshot | undefined;
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

type Send = (msg: NodeMessage | (NodeMessage | null)[]) => void;
type Msg = NodeMessageInFlow & Record<string, unknown>;

/** A message this node accepted since it started; a request resumed from the outbox has none. */
interface Waiting {
    msg: Msg;
    send: Send;
    done: (err?: Error) => void;
}

// The editor sends this in place of a password it never received.
const STORED_SECRET = '__PWRD__';
const SECRET_FIELDS = ['user', 'password', 'token', 'apiKey', 'signingSecret'] as const;
/**
 * An error's message becomes Node-RED's log line for node.error(err, msg) and done(err); remote answers and call
 * data in it are escaped and cut to this length, enough for the URL and the reason.
 */
const MAX_ERROR_MESSAGE = 1000;

function timeoutMsOf(value: unknown): number {
    if (value === undefined || value === null || value === '') return DEFAULT_TIMEOUT_MS;
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`timeout: "${String(value)}" is not a positive number of seconds`);
    return Math.round(seconds * 1000);
}

/** A whole number from 1 to `max`, or `fallback` when the flow does not set it (a flow saved before it existed). */
function boundOf(name: string, value: unknown, fallback: number, max: number): number {
    if (value === undefined || value === null || value === '') return fallback;
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1 || count > max) throw new ConfigError(`${name}: "${String(value)}" is not a whole number from 1 to ${max}`);
    return count;
}

function rateOf(value: unknown): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const rate = Number(value);
    if (!Number.isFinite(rate) || rate <= 0) throw new ConfigError(`rate: "${String(value)}" is not a positive number of requests per second`);
    return rate;
}

function clock(): string {
    return new Date().toTimeString().slice(0, 8);
}

/** The origin a URL template sends to, or undefined when the URL does not compile. */
function originOf(url: unknown): string | undefined {
    try {
        return compileUrl(typeof url === 'string' ? url : '', { providerOrigin: true }).origin;
    } catch {
        return undefined;
    }
}

/** The profile's own header names, which the delivery headers must not repeat. */
function profileHeaders(config: Partial<WebServiceOutConfig>): string[] {
    const names = Array.isArray(config.headers) ? config.headers.map((row) => String(row?.name ?? '').trim()) : [];
    if (config.apiKeyHeader) names.push(config.apiKeyHeader.trim());
    if (config.authType === 'basic' || config.authType === 'bearer' || config.authType === 'oauth2') names.push('Authorization');
    return names.filter(Boolean);
}

/**
 * The error a message fails with, its text safe for the log line Node-RED writes from it (see MAX_ERROR_MESSAGE);
 * the code and response stay as they were.
 */
function loggableError(error: CodedError, message = error.message): CodedError {
    const safe = logText(message, MAX_ERROR_MESSAGE);
    if (safe === error.message) return error;
    return error instanceof DeliveryError ? new DeliveryError(error.code, safe, error.response) : new CodedError(error.code, safe);
}

/** The final error of a request tried more than once says so. */
function finalError(error: CodedError, attempts: number, sinceMs: number): CodedError {
    if (attempts <= 1) return loggableError(error);
    return loggableError(error, `${error.message} (gave up after ${attempts} attempts over ${formatWait(sinceMs)})`);
}

/** The text of anything thrown, escaped and bounded for a log line. */
function reasonText(err: unknown): string {
    return logText((err as Error)?.message ?? String(err), MAX_ERROR_MESSAGE);
}

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function tlsOptionsOf(id: unknown): TlsOptions | undefined {
        if (!id) return undefined;
        const tlsNode = RED.nodes.getNode(String(id)) as TlsConfigNode | null;
        if (!tlsNode || typeof tlsNode.addTLSOptions !== 'function') throw new ConfigError(`tls: the TLS configuration ${String(id)} is not deployed`);
        return tlsNode.addTLSOptions({});
    }

    /**
     * Profile + credentials + TLS: the one way both a deployed node and the Test endpoint get ready to send. The
     * Preview sends nothing, so it needs no deployed OAuth 2.0 configuration (`sending` false).
     */
    function prepare(config: Partial<WebServiceOutConfig>, credentials: Credentials, sending = true) {
        const builder = compileRequest(config, credentials);
        const decorate = deliveryHeaders({
            idempotencyHeader: config.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER,
            signingSecret: credentials.signingSecret,
            profileHeaders: profileHeaders(config),
        });
        const tokens = config.authType === 'oauth2' && sending ? deployedTokens(config.oauth2, config.oauth2 ? (RED.nodes.getNode(String(config.oauth2)) as OAuth2Provider | null) : null) : undefined;
        return { builder, decorate, timeoutMs: timeoutMsOf(config.timeout), tls: tlsOptionsOf(config.tls), tokens };
    }

    /** Opens the node's outbox; a redeploy may still be closing the previous node's, which then is waited for. */
    async function openOutbox(directory: string): Promise<FileStore<OutboxEntry>> {
        for (let tries = 0; ; tries++) {
            try {
                return await openFileStore<OutboxEntry>({ directory, name: 'outbox' });
            } catch (err) {
                if (!(err instanceof StoreError) || err.reason !== 'already-open' || tries >= 60) throw err;
                await new Promise((resolve) => setTimeout(resolve, 500));
            }
        }
    }

    function WebServiceOutNode(this: WebServiceOutNode, config: WebServiceOutConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        node.sendsTo = originOf(config.url);
        const userDir = (RED.settings as { userDir?: string }).userDir ?? path.join(os.homedir(), '.node-red');
        const directory = nodeStateDirectory(userDir, 'outbox', node.id);
        let builder: RequestBuilder | undefined;
        let decorate: Decorate = (request) => request;
        let transport: HttpTransport | undefined;
        let tokens: TokenSource | undefined;
        // Sends after a 401 with a new token, per request: they count in msg.delivery.attempts, not in the schedule.
        const resends = new Map<string, number>();
        let timeoutMs = DEFAULT_TIMEOUT_MS;
        let schedule: number[] = [];
        let concurrency = DEFAULT_CONCURRENCY;
        let rate: number | undefined;
        let maxQueued = DEFAULT_MAX_QUEUED;
        let maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES;
        let configError: Error | undefined;
        const credentials = (node.credentials ?? {}) as Credentials;
        const missing = missingSecret(config, credentials);
        try {
            const prepared = prepare(config, credentials);
            schedule = parseRetries(config.retries);
            concurrency = boundOf('concurrency', config.concurrency, DEFAULT_CONCURRENCY, 1000);
            rate = rateOf(config.rate);
            maxQueued = boundOf('maxQueued', config.maxQueued, DEFAULT_MAX_QUEUED, 10_000_000);
            maxQueuedBytes = boundOf('maxQueuedSize', config.maxQueuedSize, DEFAULT_MAX_QUEUED_BYTES / MIB, 1024 * 1024) * MIB;
            builder = prepared.builder;
            decorate = prepared.decorate;
            timeoutMs = prepared.timeoutMs;
            tokens = prepared.tokens;
            transport = new HttpTransport({ tls: prepared.tls, maxSockets: concurrency });
        } catch (err) {
            configError = err as Error;
            const text = missing
                ? RED._('web-service-out.status.missingCredential', { credential: RED._(`web-service-out.label.${missing}`) })
                : RED._('web-service-out.status.invalid');
            node.status({ fill: 'red', shape: 'ring', text });
            node.error(configError.message);
        }
        node.queueSnapshot = () => queue?.snapshot();

        const waiting = new Map<string, Waiting>();
        let lastOutcome: { fill: 'green' | 'red'; text: string } | undefined;
        let notice: string | undefined;
        let statusTimer: NodeJS.Timeout | undefined;
        let statusShownAt = 0;
        let queue: DeliveryQueue<ExchangeResult> | undefined;
        const warnSometimes = rateLimitedWarning(node, MAX_ERROR_MESSAGE);

        function showStatus(): void {
            clearTimeout(statusTimer);
            statusTimer = undefined;
            statusShownAt = Date.now();
            const snapshot = queue?.snapshot();
            if (!snapshot || snapshot.queued === 0) {
                if (notice) node.status({ fill: 'yellow', shape: 'ring', text: notice });
                else if (lastOutcome) node.status({ fill: lastOutcome.fill, shape: lastOutcome.fill === 'green' ? 'dot' : 'ring', text: lastOutcome.text });
                else node.status({});
                return;
            }
            if (snapshot.full) {
                node.status({ fill: 'red', shape: 'dot', text: RED._('web-service-out.status.queueFull', { queued: snapshot.queued }) });
                return;
            }
            let text = `${snapshot.queued} queued`;
            if (snapshot.nextRetryAt !== undefined && snapshot.inFlight === 0) text += ` · retrying in ${formatWait(snapshot.nextRetryAt - Date.now())}`;
            else if (snapshot.nextRetryAt !== undefined) text += ` · ${snapshot.inFlight} sending, retrying`;
            node.status({ fill: snapshot.nextRetryAt !== undefined ? 'yellow' : 'blue', shape: 'dot', text });
        }

        /** At once when the queue is idle (the last outcome is what the user looks for), throttled while busy. */
        function refreshStatus(): void {
            if (!queue || queue.snapshot().queued === 0) {
                showStatus();
                return;
            }
            if (statusTimer) return;
            statusTimer = setTimeout(showStatus, Math.max(0, statusShownAt + STATUS_INTERVAL_MS - Date.now()));
        }

        /** What a request resumed from the outbox reports on: the message rebuilt from what was stored. */
        function resumedMessage(entry: OutboxEntry): Msg {
            const msg: Record<string, unknown> = { _msgid: RED.util.generateId(), call: entry.call };
            if (entry.topic !== undefined) msg.topic = entry.topic;
            const payload = restoredPayload(entry);
            if (payload !== undefined) msg.payload = payload;
            return msg as Msg;
        }

        async function attempt(job: Job): Promise<AttemptOutcome<ExchangeResult>> {
            let result: ExchangeResult;
            const send = (grant?: RequestGrant) =>
                exchange(builder!, transport, job.entry.call, restoredPayload(job.entry), {
                    timeoutMs,
                    decorate: (request) => decorate(request, job.entry.idempotencyKey),
                    grant,
                });
            try {
                if (tokens && transport) {
                    const authorized = await sendAuthorized(tokens, transport, send);
                    if (authorized.resent) resends.set(job.key, (resends.get(job.key) ?? 0) + authorized.resent);
                    if (authorized.verdict) return { verdict: authorized.verdict, result: authorized.result };
                    result = authorized.result;
                } else result = await send();
            } catch (err) {
                result = { error: new CodedError('network', String((err as Error)?.message ?? err)) };
            }
            return { verdict: verdictOf(result), result };
        }

        function settled(job: Job, outcome: AttemptOutcome<ExchangeResult>, delivered: boolean): void {
            try {
                report(job, outcome, delivered);
            } catch (err) {
                node.error(`reporting request ${logText(job.entry.idempotencyKey)} failed: ${reasonText(err)}`);
            }
        }

        function report(job: Job, outcome: AttemptOutcome<ExchangeResult>, delivered: boolean): void {
            const { result } = outcome;
            const { entry } = job;
            const origin = waiting.get(job.key);
            waiting.delete(job.key);
            const msg = origin?.msg ?? resumedMessage(entry);
            const send: Send = origin?.send ?? ((out) => node.send(out));
            const totalMs = Date.now() - entry.queuedAt;
            if (result.request) msg.request = result.request;
            if (result.response) {
                msg.response = result.response;
                msg.statusCode = result.response.statusCode;
            }
            const attempts = entry.attempts + (resends.get(job.key) ?? 0);
            resends.delete(job.key);
            msg.delivery = { attempts, totalMs, idempotencyKey: entry.idempotencyKey, queuedAt: entry.queuedAt };
            if (delivered) {
                msg.payload = responsePayload(result.response!);
                lastOutcome = { fill: 'green', text: `${result.response!.statusCode} · ${result.response!.timeMs} ms · ${clock()}` };
                refreshStatus();
                send(config.failureOutput ? [msg, null] : msg);
                origin?.done();
                return;
            }
            const error = finalError(result.error!, attempts, totalMs);
            const what = error.code === 'auth' ? RED._('web-service-out.status.auth') : `${error.code}${result.response ? ` ${result.response.statusCode}` : ''}`;
            lastOutcome = { fill: 'red', text: `${what} · ${clock()}` };
            refreshStatus();
            if (config.failureOutput) {
                const failed = RED.util.cloneMessage(msg) as Record<string, unknown>;
                failed.error = { message: error.message, code: error.code };
                send([null, failed as NodeMessage]);
            }
            if (origin) origin.done(error);
            else node.error(error, msg);
        }

        /** The node's outbox file, or (when it cannot be opened) a memory stand-in, said loudly. */
        async function outbox(): Promise<DurableStore<OutboxEntry>> {
            let store: FileStore<OutboxEntry>;
            try {
                store = await openOutbox(directory);
            } catch (err) {
                notice = 'outbox unavailable: not durable';
                node.error(`outbox ${directory} cannot be opened (${reasonText(err)}): requests are sent, but kept in memory only, so a restart loses those not yet delivered`);
                return new MemoryStore<OutboxEntry>();
            }
            if (store.recovery.dropped || store.recovery.discardedCompaction) {
                notice = `outbox: ${store.recovery.summary}`;
                node.warn(`outbox ${store.logPath}: ${store.recovery.summary}`);
            }
            return store;
        }

        // Resolves with the running queue, or undefined when the node's settings cannot work.
        const opening: Promise<DeliveryQueue<ExchangeResult> | undefined> = configError
            ? Promise.resolve(undefined)
            : (async () => {
                  const opened = await DeliveryQueue.open<ExchangeResult>(await outbox(), {
                      schedule,
                      concurrency,
                      ratePerSecond: rate,
                      maxQueued,
                      maxQueuedBytes,
                      attempt,
                      onSettled: settled,
                      onChange: refreshStatus,
                      onStoreError: (err) =>
                          warnSometimes(`outbox: ${reasonText(err)}; requests are still sent, but a restart would lose those not recorded`),
                  });
                  if (opened.unreadable) node.warn(`outbox: ${opened.unreadable} stored entries could not be read and were dropped`);
                  queue = opened.queue;
                  showStatus();
                  return queue;
              })().catch((err: unknown) => {
                  configError = new StoreError(`outbox ${directory}: ${reasonText(err)}`, { cause: err });
                  node.status({ fill: 'red', shape: 'ring', text: 'outbox unavailable' });
                  node.error(configError.message);
                  return undefined;
              });

        node.on('input', (msg, send, done) => {
            if (!builder) {
                done(configError);
                return;
            }
            const message = msg as Msg;
            let call: object;
            try {
                call = callOf(message, '"web service out" builds its request from msg.call');
            } catch (err) {
                done(err as Error);
                return;
            }
            // Promise callbacks run in the order they were added, so messages are queued in the order they came.
            void opening.then((running) => {
                if (!running) {
                    done(configError);
                    return;
                }
                try {
                    const job = running.enqueue({
                        call: call as Record<string, unknown>,
                        ...storedPayload(message.payload),
                        ...(typeof message.topic === 'string' ? { topic: message.topic } : {}),
                        idempotencyKey: idempotencyKey(node.id, call),
                    });
                    waiting.set(job.key, { msg: message, send, done });
                } catch (err) {
                    // Refused whole (queue full, or too large to keep), or it reached the node while it closes.
                    refreshStatus();
                    done(err instanceof CodedError ? loggableError(err) : (err as Error));
                }
            });
        });

        // Attempts in flight end within their timeout and are recorded; retries not yet due stay in the outbox for
        // the next start, unless the node was deleted.
        node.on('close', (removed: boolean, closed: () => void) => {
            void (async () => {
                const running = await opening;
                let left = 0;
                if (running) left = await running.close();
                clearTimeout(statusTimer);
                transport?.close();
                if (removed) {
                    if (!running) {
                        const store = await openOutbox(directory);
                        left = (await store.load()).size;
                        await store.close();
                    }
                    await fs.rm(directory, { recursive: true, force: true });
                    if (left > 0) node.warn(`deleted with ${left} ${left === 1 ? 'request' : 'requests'} not yet delivered: dropped from the outbox`);
                }
            })()
                .catch((err: unknown) => node.error(`outbox ${directory}: ${reasonText(err)}`))
                .finally(() => closed());
        });
    }

    RED.nodes.registerType('web-service-out', WebServiceOutNode, {
        credentials: {
            user: { type: 'text' },
            password: { type: 'password' },
            token: { type: 'password' },
            apiKey: { type: 'password' },
            signingSecret: { type: 'password' },
        },
    });

    /**
     * Secrets the dialog does not have (Node-RED never sends a stored password to the editor) come from the
     * deployed node the dialog belongs to.
     */
    function credentialsFor(id: unknown, fromDialog: unknown, url: unknown): Credentials {
        const stored = (typeof id === 'string' && id ? (RED.nodes.getCredentials(id) as Credentials | undefined) : undefined) ?? {};
        const dialog = (fromDialog && typeof fromDialog === 'object' ? fromDialog : {}) as Record<string, unknown>;
        const merged: Credentials = {};
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
    RED.httpAdmin.post('/web-service-out/test', ...computingAdminRoute(RED, 'web-service-out', '/web-service-out/test'), (req, res) => {
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
            prepared = prepare(config, credentials, body.send === true);
            if (prepared.tokens) {
                // The token is a stored secret of the deployed config node: the same rule as the node's own secrets.
                const deployedOrigin = (RED.nodes.getNode(String(body.id ?? config.id)) as WebServiceOutNode | null)?.sendsTo;
                if (!deployedOrigin || deployedOrigin !== originOf(config.url)) {
                    throw new ConfigError(`oauth2: the OAuth 2.0 token is only sent to ${deployedOrigin ?? 'the deployed URL of this node'}; deploy this node to test another URL`);
                }
            }
        } catch (err) {
            answer({ error: (err as Error).message, code: err instanceof CodedError ? err.code : 'config' });
            return;
        }
        const transport = body.send === true ? new HttpTransport({ tls: prepared.tls, maxSockets: 1 }) : undefined;
        const payload = 'payload' in body ? body.payload : call;
        const key = idempotencyKey(String(body.id ?? config.id ?? ''), call);
        const decorate = (request: OutgoingRequest) => prepared.decorate(request, key);
        const send = (grant?: RequestGrant) => exchange(prepared.builder, transport, call, payload, { timeoutMs: prepared.timeoutMs, send: body.send === true, decorate, grant });
        const { tokens } = prepared;
        const requestsBefore = tokens?.tokenRequests ?? 0;
        // With OAuth 2.0 the Test gets the token first (from the deployed config node, whose cache and rotated
        // refresh token it shares) and shows that step, masked.
        const sent: Promise<{ result: ExchangeResult; token?: Record<string, unknown> }> =
            tokens && transport
                ? sendAuthorized(tokens, transport, send).then((authorized) => ({ result: authorized.result, token: describeGrant(tokens, authorized, requestsBefore) }))
                : send().then((result) => ({ result }));
        void sent
            .then(({ result, token }) => {
                secrets = [...secrets, ...(result.secrets ?? [])];
                const shown: Record<string, unknown> = token ? { token, request: result.request } : { request: result.request };
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
