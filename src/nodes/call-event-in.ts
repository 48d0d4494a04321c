import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { WebhookAdapter } from '../adapters/adapter';
import { createWebhookAdapter, WEBHOOK_SOURCES, type WebhookSource } from '../adapters/sources';
import type { TriggerEventId } from '../call/call';
import type { RawEvent } from '../call/raw-event';
import { isTriggerEventId, triggerEventLabel } from '../call/trigger-events';
import { CodedError, ConfigError } from '../errors/coded-error';
import { receiveEventPost, type EndpointAuth } from '../ingest/event-endpoint';
import { DEFAULT_TRACKER_OPTIONS, type TrackedCall, type TrackerOptions, type Trigger } from '../lifecycle/call-tracker';
import { DurableCallTracking } from '../lifecycle/durable-call-tracking';
import { validateRawEvents } from '../lifecycle/raw-event-validation';
import { callLife, seededRandom } from '../simulator/call-lives';
import { openFileStore } from '../store/file-store';
import { nodeStateDirectory } from '../store/node-state-directory';
import { computingAdminRoute } from './admin-request';
import { registerEditorResources } from './editor-resources';
import { captureRawBodyFor, capturedBody, releaseRawBody } from './raw-body-capture';

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
}

interface Credentials {
    /** The endpoint's shared secret or Standard Webhooks secret. */
    secret?: string;
    /** The platform's own secret (Aircall token, Dialpad secret, Twilio auth token). */
    platformSecret?: string;
}

type CallEventInNode = Node<Record<keyof Credentials, unknown>> & { playSampleCall?: () => string };

// Which node serves which endpoint path: a second claim is refused, never silently shadowed.
const claimedPaths = new Map<string, string>();

function positive(value: unknown, fallback: number, name: string): number {
    if (value === undefined || value === null || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new ConfigError(`${name}: "${String(value)}" is not a positive number`);
    return parsed;
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

function plural(count: number, word: string): string {
    return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function normalisedPath(path: string): string {
    return path.startsWith('/') ? path : `/${path}`;
}

function removeRoute(app: unknown, path: string): void {
    // Express 4 keeps routes in app._router; Express 5 (Node-RED 5) in app.router.
    const express = app as { _router?: { stack: unknown[] }; router?: { stack: unknown[] } };
    const stack = (express._router ?? express.router)?.stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }> | undefined;
    if (!stack) return;
    for (let index = stack.length - 1; index >= 0; index -= 1) {
        const route = stack[index].route;
        if (route && route.path === path && route.methods.post) stack.splice(index, 1);
    }
}

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function CallEventInNode(this: CallEventInNode, config: CallEventInConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const credentials = (node.credentials ?? {}) as Credentials;
        let wanted: Set<TriggerEventId> | undefined;
        let trackerOptions: Partial<TrackerOptions> = {};
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
        let lastWarning = 0;
        let suppressedWarnings = 0;
        let problem: string | undefined;

        const warn = (message: string): void => {
            // One warning a minute at most: a flood of evictions must not flood the log too.
            const now = Date.now();
            if (now - lastWarning < 60_000) {
                suppressedWarnings += 1;
                return;
            }
            node.warn(suppressedWarnings ? `${message} (and ${suppressedWarnings} more like it)` : message);
            lastWarning = now;
            suppressedWarnings = 0;
        };

        try {
            wanted = selectedEvents(config.events);
            trackerOptions = {
                recordingWaitMs: positive(config.recordingWait, DEFAULT_TRACKER_OPTIONS.recordingWaitMs / 60_000, 'recording wait') * 60_000,
                retentionMs: positive(config.retention, DEFAULT_TRACKER_OPTIONS.retentionMs / 60_000, 'retention') * 60_000,
                maxCalls: Math.floor(positive(config.maxCalls, DEFAULT_TRACKER_OPTIONS.maxCalls, 'max calls')),
                onWarning: warn,
            };
            maxBodyBytes = Math.floor(positive(config.maxBody, 1024, 'body limit') * 1024);
            const authType = config.auth ?? 'none';
            if (authType === 'header') {
                if (!credentials.secret) throw new ConfigError('authentication: a shared secret is required');
                auth = { type: 'header', headerName: config.authHeader || 'X-Webhook-Secret', secret: credentials.secret };
            } else if (authType === 'standard-webhooks') {
                if (!credentials.secret) throw new ConfigError('authentication: a webhook secret ("whsec_...") is required');
                auth = { type: 'standard-webhooks', secret: credentials.secret, toleranceSeconds: positive(config.tolerance, 300, 'tolerance') };
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
            const message = `call state not saved: ${(err as Error).message}`;
            // The store refuses every write after a failed flush: one error says it, not one per event.
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
                node.warn(`call state in ${stateDirectory}: skipped ${plural(opened.unreadable.length, 'unreadable call record')} (${opened.unreadable.slice(0, 5).join(', ')})`);
                notes.push(`skipped ${opened.unreadable.length} unreadable`);
            }
            if (notes.length > 0) recoveryNote = notes.join(', ');
            if (opened.restored > 0) node.log(`restored the state of ${plural(opened.restored, 'call')} from ${stateDirectory}`);
            tracking = opened;
        })().catch((err: unknown) => {
            storeProblem = `call state store unavailable: ${(err as Error).message}`;
            node.error(storeProblem);
        });

        const toMessage = (trigger: Trigger): NodeMessage =>
            ({
                _msgid: RED.util.generateId(),
                topic: triggerEventLabel(trigger.event),
                event: trigger.event,
                call: trigger.call,
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

        const clip = (text: string): string => (text.length > 60 ? `${text.slice(0, 57)}...` : text);
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

        let path: string | undefined;
        let fullPath: string | undefined;
        if (!problem && config.path) {
            const claimed = normalisedPath(config.path);
            const owner = claimedPaths.get(claimed);
            if (owner && owner !== node.id) {
                problem = `path ${claimed} is already served by call event in node ${owner}`;
            } else {
                path = claimed;
                claimedPaths.set(path, node.id);
                fullPath = `${String(RED.settings.httpNodeRoot ?? '/').replace(/\/$/, '')}${path}`;
                captureRawBodyFor(RED.httpNode, fullPath, maxBodyBytes);
                RED.httpNode.post(path, (req: IncomingMessage, res: ServerResponse) => {
                    const publicUrl = config.publicUrl ? `${config.publicUrl.replace(/\/$/, '')}${req.url ?? ''}` : undefined;
                    const answer = async (): Promise<void> => {
                        const outcome = await receiveEventPost(req, { maxBodyBytes, auth, adapter, publicUrl, body: capturedBody(req) });
                        if (outcome.error) {
                            node.warn(`${req.method} ${path}: ${outcome.error.message}`);
                        } else {
                            try {
                                await take(outcome.events, (messages) => node.send(messages));
                            } catch (err) {
                                // Not acknowledged, so the platform sends the events again; those already applied
                                // are then recognised as duplicates.
                                res.writeHead(503, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: (err as Error).message }));
                                return;
                            }
                        }
                        res.writeHead(outcome.status, outcome.headers).end(outcome.body);
                    };
                    answer().catch((err: Error) => {
                        node.error(`${path}: ${err.message}`);
                        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
                    });
                });
            }
        }
        if (problem) node.error(problem);
        showStatus();

        node.on('input', (msg: NodeMessageInFlow, send, done) => {
            if (problem) {
                done(new ConfigError(problem));
                return;
            }
            let events: RawEvent[];
            try {
                events = validateRawEvents(msg.payload);
            } catch (err) {
                done(err as Error);
                return;
            }
            take(events, (messages) => send(messages)).then(() => done(), done);
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
            if (fullPath) releaseRawBody(fullPath);
            if (path) {
                removeRoute(RED.httpNode, path);
                if (claimedPaths.get(path) === node.id) claimedPaths.delete(path);
            }
            // A redeploy keeps the state for the node that replaces this one; only deleting the node deletes it.
            const finish = async (): Promise<void> => {
                await ready;
                if (!tracking) return;
                const unfinished = removed ? tracking.unfinished : 0;
                await tracking.close().catch((err: unknown) => node.error(`call state not saved on close: ${(err as Error).message}`));
                if (!removed || !stateDirectory) return;
                await rm(stateDirectory, { recursive: true, force: true });
                if (unfinished > 0) {
                    node.warn(`node deleted with ${plural(unfinished, 'call')} not yet processed: their state is deleted and their remaining triggers will not fire`);
                }
            };
            finish().then(done, (err: unknown) => {
                node.error(`closing: ${(err as Error).message}`);
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
