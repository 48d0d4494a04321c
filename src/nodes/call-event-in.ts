import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { WebhookAdapter } from '../adapters/adapter';
import { createWebhookAdapter, WEBHOOK_SOURCES, type WebhookSource } from '../adapters/sources';
import type { Call, TriggerEventId } from '../call/call';
import type { RawEvent } from '../call/raw-event';
import { isTriggerEventId, triggerEventLabel } from '../call/trigger-events';
import { CodedError, ConfigError } from '../errors/coded-error';
import { endpointPath, type EndpointPath } from '../ingest/endpoint-path';
import { receiveEventPost, type EndpointAuth } from '../ingest/event-endpoint';
import { refusalStatus } from '../ingest/refusal-status';
import { ReplayGuard } from '../ingest/replay-guard';
import { platformRequestUrl } from '../ingest/request-url';
import { DEFAULT_TRACKER_OPTIONS, type TrackedCall, type TrackerOptions, type Trigger } from '../lifecycle/call-tracker';
import { DurableCallTracking } from '../lifecycle/durable-call-tracking';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../lifecycle/event-limits';
import { validateRawEvents } from '../lifecycle/raw-event-validation';
import { logText } from '../logging/log-text';
import { callLife, seededRandom } from '../simulator/call-lives';
import { openFileStore } from '../store/file-store';
import { nodeStateDirectory } from '../store/node-state-directory';
import { computingAdminRoute } from './shared/admin-request';
import { rateLimitedWarning } from './shared/rate-limited-warning';
import { registerEditorResources } from './shared/editor-resources';
import { captureRawBodyFor, capturedBody } from './raw-body-capture';

interface CallEventInConfig extends NodeDef {
    path?: string;
    events?: TriggerEventId[] | string;
    source?: 'raw' | WebhookSource;
    auth?: EndpointAuth['type'];
    authHeader?: string;
    /** Seconds a Standard Webhooks timestamp may be off. */
    tolerance?: number | string;
    /** KiB. */
    maxBody?: number | string;
    /** Minutes "processed" waits for a pending recording. */
    recordingWait?: number | string;
    /** Minutes a processed call is kept for later account-code changes. */
    retention?: number | string;
    maxCalls?: number | string;
    /** Twilio signs the URL it calls: the public one, when Node-RED sits behind a proxy. */
    publicUrl?: string;
    tagsAs?: 'accountCodes' | 'tags';
    recordingsPerCall?: number | string;
    /** The custom source's mapping, as JSON text. */
    mapping?: string;
    /** Input limits (absent in flows saved by 0.1.0: the defaults apply). */
    maxEvents?: number | string;
    /** Characters of a text field other than the ids. */
    maxFieldLength?: number | string;
    maxListMembers?: number | string;
    maxCallListMembers?: number | string;
    /** KiB of one call's stored record. */
    maxCallSize?: number | string;
    /** MiB of all tracked call state. */
    maxStateSize?: number | string;
}

interface Credentials {
    /** The endpoint's shared secret or Standard Webhooks secret. */
    secret?: string;
    /** The platform's own secret (Aircall token, Dialpad secret, Twilio auth token). */
    platformSecret?: string;
}

type CallEventInNode = Node<Record<keyof Credentials, unknown>> & { playSampleCall?: () => string };

// Which node serves which endpoint path (by EndpointPath.key, so `/a` and `/A/` are one path): a second claim is
// refused, never silently shadowed.
const claimedPaths = new Map<string, { nodeId: string; path: string }>();

const KIB = 1024;
const MIB = 1024 * 1024;

function positive(value: unknown, fallback: number, name: string): number {
    if (value === undefined || value === null || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new ConfigError(`${name}: "${String(value)}" is not a positive number`);
    return parsed;
}

function wholePositive(value: unknown, fallback: number, name: string): number {
    const parsed = positive(value, fallback, name);
    if (!Number.isInteger(parsed)) throw new ConfigError(`${name}: "${String(value)}" is not a whole number`);
    return parsed;
}

/** The input limits from the node's properties; the property names are the ones the flow JSON holds. */
function eventLimitsOf(config: CallEventInConfig): EventLimits {
    return {
        ...DEFAULT_EVENT_LIMITS,
        maxEvents: wholePositive(config.maxEvents, DEFAULT_EVENT_LIMITS.maxEvents, 'maxEvents (events per request)'),
        maxTextLength: wholePositive(config.maxFieldLength, DEFAULT_EVENT_LIMITS.maxTextLength, 'maxFieldLength (text field length)'),
        maxListMembers: wholePositive(config.maxListMembers, DEFAULT_EVENT_LIMITS.maxListMembers, 'maxListMembers (list members per event)'),
        maxCallListMembers: wholePositive(config.maxCallListMembers, DEFAULT_EVENT_LIMITS.maxCallListMembers, 'maxCallListMembers (list members per call)'),
        maxCallBytes: Math.floor(positive(config.maxCallSize, DEFAULT_EVENT_LIMITS.maxCallBytes / KIB, 'maxCallSize (call record size, KiB)') * KIB),
    };
}

function selectedEvents(value: CallEventInConfig['events']): Set<TriggerEventId> | undefined {
    const ids = Array.isArray(value) ? value : typeof value === 'string' && value.trim() ? value.split(',').map((id) => id.trim()) : [];
    for (const id of ids) if (!isTriggerEventId(id)) throw new ConfigError(`events: "${id}" is not one of presenting, connected, complete, processed, updated`);
    return ids.length > 0 ? new Set(ids as TriggerEventId[]) : undefined;
}

/** Where a node keeps its calls' state; undefined without a user directory (the state is then kept in memory). */
function stateDirectoryOf(userDir: unknown, nodeId: string): string | undefined {
    return typeof userDir === 'string' && userDir ? nodeStateDirectory(userDir, 'calls', nodeId) : undefined;
}

/**
 * The error as Catch nodes and the log see it, its outside text (a value quoted from the payload) escaped: Node-RED
 * writes done(err)'s message into its log, where a newline in a caller name would forge a line.
 */
function loggable(err: unknown): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    error.message = logText(error.message, 1000);
    return error;
}

function mutableCall(call: Call): Call {
    const copy = { ...call };
    if (call.tags) copy.tags = [...call.tags];
    if (call.accountCodes) copy.accountCodes = [...call.accountCodes];
    if (call.recordingLink) copy.recordingLink = [...call.recordingLink];
    return copy;
}

function plural(count: number, word: string): string {
    return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function removeRoute(app: unknown, route: RegExp): void {
    // Express 4 keeps routes in app._router; Express 5 (Node-RED 5) in app.router.
    const express = app as { _router?: { stack: unknown[] }; router?: { stack: unknown[] } };
    const stack = (express._router ?? express.router)?.stack as Array<{ route?: { path: unknown; methods: Record<string, boolean> } }> | undefined;
    if (!stack) return;
    for (let index = stack.length - 1; index >= 0; index -= 1) {
        const layer = stack[index].route;
        if (layer && layer.path === route && layer.methods.post) stack.splice(index, 1);
    }
}

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function CallEventInNode(this: CallEventInNode, config: CallEventInConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const credentials = (node.credentials ?? {}) as Credentials;
        let wanted: Set<TriggerEventId> | undefined;
        // `limits` carries the per-call bounds (list members per call, call record size) to the tracker.
        let trackerOptions: Partial<TrackerOptions> = {};
        let limits: EventLimits = { ...DEFAULT_EVENT_LIMITS };
        // Undefined until the state is restored (and for good when the store cannot be opened).
        let tracking: DurableCallTracking | undefined;
        let storeProblem: string | undefined;
        let recoveryNote: string | undefined;
        const stateDirectory = stateDirectoryOf((RED.settings as unknown as { userDir?: unknown }).userDir, node.id);
        let adapter: WebhookAdapter | undefined;
        let auth: EndpointAuth = { type: 'none' };
        let maxBodyBytes = 1024 * 1024;
        let eventsThisSecond = 0;
        let eventsPerSecond = 0;
        let problem: string | undefined;

        // One warning a minute at most per kind: a flood of evictions or of refused requests must not flood the log.
        const warn = rateLimitedWarning(node);
        const warnRefused = rateLimitedWarning(node);

        try {
            wanted = selectedEvents(config.events);
            limits = eventLimitsOf(config);
            trackerOptions = {
                recordingWaitMs: positive(config.recordingWait, DEFAULT_TRACKER_OPTIONS.recordingWaitMs / 60_000, 'recording wait') * 60_000,
                retentionMs: positive(config.retention, DEFAULT_TRACKER_OPTIONS.retentionMs / 60_000, 'retention') * 60_000,
                maxCalls: Math.floor(positive(config.maxCalls, DEFAULT_TRACKER_OPTIONS.maxCalls, 'max calls')),
                maxBytes: Math.floor(positive(config.maxStateSize, DEFAULT_TRACKER_OPTIONS.maxBytes / MIB, 'maxStateSize (tracked state memory, MiB)') * MIB),
                limits,
                onWarning: warn,
            };
            maxBodyBytes = Math.floor(positive(config.maxBody, 1024, 'body limit') * 1024);
            const authType = config.auth ?? 'none';
            if (authType === 'header') {
                if (!credentials.secret) throw new ConfigError('authentication: a shared secret is required');
                auth = { type: 'header', headerName: config.authHeader || 'X-Webhook-Secret', secret: credentials.secret };
            } else if (authType === 'standard-webhooks') {
                if (!credentials.secret) throw new ConfigError('authentication: a webhook secret ("whsec_...") is required');
                const toleranceSeconds = positive(config.tolerance, 300, 'tolerance');
                auth = { type: 'standard-webhooks', secret: credentials.secret, toleranceSeconds, replays: new ReplayGuard(toleranceSeconds) };
            } else if (authType !== 'none') {
                throw new ConfigError(`authentication: "${String(authType)}" is not none, header or standard-webhooks`);
            }
            const source = config.source ?? 'raw';
            if (source !== 'raw') {
                if (!(WEBHOOK_SOURCES as readonly string[]).includes(source)) throw new ConfigError(`source: "${source}" is not raw, ${WEBHOOK_SOURCES.join(', ')}`);
                let mapping: unknown;
                if (source === 'custom') {
                    try {
                        mapping = JSON.parse(config.mapping || '{}');
                    } catch (err) {
                        throw new ConfigError(`mapping: not JSON (${(err as Error).message})`);
                    }
                }
                adapter = createWebhookAdapter({
                    source,
                    secret: credentials.platformSecret || undefined,
                    tagsAs: config.tagsAs,
                    recordingsPerCall: config.recordingsPerCall === undefined || config.recordingsPerCall === '' ? undefined : Number(config.recordingsPerCall),
                    mapping,
                });
            }
        } catch (err) {
            problem = (err as Error).message;
        }

        const storeFailed = (err: unknown): void => {
            const message = `call state not saved: ${logText((err as Error).message)}`;
            // Only a failed flush latches the store (it then refuses every write): one error says it, not one per
            // event. A save that failed for its own record alone leaves the store usable for the next request.
            if (tracking?.failure === undefined) {
                warn(message);
                return;
            }
            if (storeProblem === undefined) node.error(message);
            storeProblem ??= message;
        };

        const ready: Promise<void> = (async () => {
            if (problem) return;
            if (!stateDirectory) node.warn('Node-RED has no user directory: call tracking is kept in memory only and does not survive a restart');
            const store = stateDirectory ? await openFileStore<TrackedCall>({ directory: stateDirectory, name: 'calls' }) : undefined;
            let opened: DurableCallTracking;
            try {
                opened = await DurableCallTracking.open(store, trackerOptions);
            } catch (err) {
                await store?.close().catch(() => undefined);
                throw err;
            }
            const notes: string[] = [];
            if (store?.recovery.dropped) {
                const { dropped } = store.recovery;
                node.warn(`call state in ${stateDirectory}: ${store.recovery.summary}; triggers of the events in it may be missing or fire again`);
                notes.push(`dropped ${plural(dropped.records, `${dropped.kind} record`)}`);
            }
            if (opened.unreadable.length > 0) {
                const keys = opened.unreadable.slice(0, 5).map((key) => logText(key, 60));
                node.warn(`call state in ${stateDirectory}: skipped ${plural(opened.unreadable.length, 'unreadable call record')} (${keys.join(', ')})`);
                notes.push(`skipped ${opened.unreadable.length} unreadable`);
            }
            if (notes.length > 0) recoveryNote = notes.join(', ');
            if (opened.restored > 0) node.log(`restored the state of ${plural(opened.restored, 'call')} from ${stateDirectory}`);
            tracking = opened;
        })().catch((err: unknown) => {
            storeProblem = `call state store unavailable: ${logText((err as Error).message)}`;
            node.error(storeProblem);
        });

        const toMessage = (trigger: Trigger): NodeMessage =>
            ({
                _msgid: RED.util.generateId(),
                topic: triggerEventLabel(trigger.event),
                event: trigger.event,
                // The tracker shares one frozen copy of a call's lists among its triggers; a msg is the flow's to change.
                call: mutableCall(trigger.call),
                payload: structuredClone(trigger.call),
            }) as NodeMessage;

        const emit = (triggers: Trigger[], send: (msg: NodeMessage[]) => void): void => {
            const messages = triggers.filter((trigger) => !wanted || wanted.has(trigger.event)).map(toMessage);
            // One send per message keeps each trigger its own message, in order.
            for (const message of messages) send([message]);
        };

        /**
         * Applies the events, sends their triggers, and resolves once the calls' state is durable: the endpoint's 202
         * and the input's done() mean "will not be forgotten by a restart". Sending before saving is the
         * at-least-once order (see DurableCallTracking).
         */
        const take = async (events: RawEvent[], send: (msg: NodeMessage[]) => void): Promise<void> => {
            await ready;
            if (!tracking) throw new CodedError('store', storeProblem ?? 'call state store unavailable');
            eventsThisSecond += events.length;
            emit(tracking.apply(events), send);
            await tracking.save().catch((err: unknown) => {
                storeFailed(err);
                throw new CodedError('store', `call state not saved: ${(err as Error).message}`, { cause: err });
            });
        };

        const clip = (text: string): string => logText(text, 60);
        const showStatus = (): void => {
            const trouble = problem ?? storeProblem;
            if (trouble) {
                node.status({ fill: 'red', shape: 'ring', text: clip(trouble) });
                return;
            }
            if (!tracking) {
                node.status({ fill: 'grey', shape: 'ring', text: 'restoring calls...' });
                return;
            }
            const counts = `${tracking.size} calls · ${eventsPerSecond} ev/s`;
            if (recoveryNote) node.status({ fill: 'yellow', shape: 'dot', text: clip(`${counts} · ${recoveryNote}`) });
            else node.status({ fill: 'green', shape: 'dot', text: counts });
        };

        const tick = (): void => {
            if (!tracking) return;
            emit(tracking.tick(), (messages) => node.send(messages));
            tracking.save().catch(storeFailed);
        };
        // Deadlines that passed while Node-RED was down fire as soon as the state is back.
        void ready.then(() => {
            if (!closed) tick();
            showStatus();
        });

        const timer = setInterval(() => {
            eventsPerSecond = eventsThisSecond;
            eventsThisSecond = 0;
            tick();
            showStatus();
        }, 1000);

        let endpoint: EndpointPath | undefined;
        let stopCapture: (() => void) | undefined;
        const httpNodeRoot = String(RED.settings.httpNodeRoot ?? '/');
        if (!problem && config.path) {
            const claim = endpointPath(config.path, httpNodeRoot);
            const owner = claimedPaths.get(claim.key);
            if (owner && owner.nodeId !== node.id) {
                // Express would route both spellings to whichever node registered first: refuse the second.
                problem = `path ${logText(claim.path)} is already served by call event in node ${logText(owner.nodeId)}` + (owner.path === claim.path ? '' : ` (as ${logText(owner.path)}, the same path to Express)`);
            } else {
                endpoint = claim;
                claimedPaths.set(claim.key, { nodeId: node.id, path: claim.path });
                stopCapture = captureRawBodyFor(RED.httpNode, claim, maxBodyBytes);
                const shownPath = logText(claim.path);
                RED.httpNode.post(claim.route, (req: IncomingMessage, res: ServerResponse) => {
                    const answer = async (): Promise<void> => {
                        const outcome = await receiveEventPost(req, {
                            maxBodyBytes,
                            auth,
                            adapter,
                            publicUrl: adapter ? platformRequestUrl(req, config.publicUrl || undefined, httpNodeRoot) : undefined,
                            body: capturedBody(req, maxBodyBytes),
                            limits,
                        });
                        if (outcome.error) {
                            warnRefused(`${logText(req.method)} ${shownPath}: ${outcome.status} ${logText(outcome.error.message)}`);
                        } else {
                            try {
                                await take(outcome.events, (messages) => node.send(messages));
                            } catch (err) {
                                outcome.release?.();
                                const status = refusalStatus(err);
                                // A 503 is not acknowledged, so the platform sends the events again; those already
                                // applied are then recognised as duplicates. A 400 or 413 applied nothing.
                                if (status >= 500) node.error(`${shownPath}: ${logText((err as Error).message)}`);
                                else warnRefused(`${logText(req.method)} ${shownPath}: ${status} ${logText((err as Error).message)}`);
                                res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: status === 500 ? 'internal error' : (err as Error).message }));
                                return;
                            }
                        }
                        res.writeHead(outcome.status, outcome.headers).end(outcome.body);
                    };
                    answer().catch((err: Error) => {
                        node.error(`${shownPath}: ${logText(err.message)}`);
                        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
                    });
                });
            }
        }
        if (problem) node.error(logText(problem, 400));
        showStatus();

        node.on('input', (msg: NodeMessageInFlow, send, done) => {
            if (problem) {
                done(new ConfigError(problem));
                return;
            }
            let events: RawEvent[];
            try {
                events = validateRawEvents(msg.payload, limits);
            } catch (err) {
                done(loggable(err));
                return;
            }
            take(events, (messages) => send(messages)).then(() => done(), (err: unknown) => done(loggable(err)));
        });

        node.playSampleCall = (): string => {
            const random = seededRandom(Date.now());
            const steps = callLife(random, { paceMs: 700, startTime: Date.now(), answered: true });
            let delay = 0;
            for (const step of steps) {
                delay += step.afterMs;
                setTimeout(() => {
                    if (!closed) take([{ ...step.event, timestamp: Date.now() }], (messages) => node.send(messages)).catch(() => undefined);
                }, delay);
            }
            return steps[0].event.callId;
        };

        let closed = false;
        node.on('close', (removed: boolean, done: () => void) => {
            closed = true;
            clearInterval(timer);
            stopCapture?.();
            if (endpoint) {
                removeRoute(RED.httpNode, endpoint.route);
                if (claimedPaths.get(endpoint.key)?.nodeId === node.id) claimedPaths.delete(endpoint.key);
            }
            // A redeploy keeps the state for the node that replaces this one; only deleting the node deletes it.
            const finish = async (): Promise<void> => {
                await ready;
                if (!tracking) return;
                const unfinished = removed ? tracking.unfinished : 0;
                await tracking.close().catch((err: unknown) => node.error(`call state not saved on close: ${logText((err as Error).message)}`));
                if (!removed || !stateDirectory) return;
                await rm(stateDirectory, { recursive: true, force: true });
                if (unfinished > 0) {
                    node.warn(`node deleted with ${plural(unfinished, 'call')} not yet processed: their state is deleted and their remaining triggers will not fire`);
                }
            };
            finish().then(done, (err: unknown) => {
                node.error(`closing: ${logText((err as Error).message)}`);
                done();
            });
        });
    }

    RED.nodes.registerType('call-event-in', CallEventInNode, {
        credentials: { secret: { type: 'password' }, platformSecret: { type: 'password' } },
    });

    // The edit dialog's "simulate a call" button: a realistic call life played through the deployed node.
    RED.httpAdmin.post('/call-event-in/:id/simulate', ...computingAdminRoute(RED, 'call-event-in', '/call-event-in/:id/simulate'), (req, res) => {
        const target = RED.nodes.getNode(String(req.params.id)) as CallEventInNode | null;
        if (!target || typeof target.playSampleCall !== 'function') {
            res.status(404).json({ error: 'deploy the node first: it is not running' });
            return;
        }
        res.json({ callId: target.playSampleCall() });
    });
};
