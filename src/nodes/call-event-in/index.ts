import type { NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { RawEvent } from '../../call/raw-event';
import { CodedError, ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import type { TrackerEviction, Trigger } from '../../lifecycle/call-tracker';
import { validateRawEvents } from '../../lifecycle/raw-event-validation';
import { logText } from '../../logging/log-text';
import { RedisReplayMemory } from '../../store/redis/redis-replay-memory';
import { registerEditorResources } from '../shared/editor-resources';
import { rateLimitedWarning } from '../shared/rate-limited-warning';
import { playSampleCall, registerSimulateRoute, type SimulatingNode } from './admin';
import { callEventInOptions, type CallEventInCredentials, type CallEventInOptions, type CallEventInProperties } from './config';
import { serveEventEndpoint } from './endpoint-route';
import { evictionWarning, type RuntimeTexts } from './recovery-report';
import { fileTrackingSource, sharedTrackingSource, type TrackingSource } from './tracking-source';
import { leaseRedisStore } from '../shared/redis-store';
import { triggerMessages } from './trigger-messages';

/**
 * The error as Catch nodes and the log see it, its outside text (a value quoted from the payload) escaped: Node-RED
 * writes done(err)'s message into its log, where a newline in a caller name would forge a line.
 */
function loggable(err: unknown): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    error.message = logText(error.message, 1000);
    return error;
}

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);
    const text = (key: string, values?: Record<string, string | number>): string => RED._(`call-event-in.runtime.${key}`, values);
    const texts: RuntimeTexts = { text, counted: (key, count, values = {}) => text(count === 1 ? `${key}One` : key, { ...values, count }) };

    function CallEventInNode(this: SimulatingNode, config: NodeDef & CallEventInProperties): void {
        RED.nodes.createNode(this, config);
        const node = this;
        let options: CallEventInOptions | undefined;
        let problem: string | undefined;
        let eventsThisSecond = 0;
        let eventsPerSecond = 0;
        let closed = false;
        // One warning a minute at most per kind: a flood of evictions or of refused requests must not flood the log.
        const warn = rateLimitedWarning(node);
        const warnRefused = rateLimitedWarning(node);
        try {
            options = callEventInOptions(config, (node.credentials ?? {}) as CallEventInCredentials);
        } catch (err) {
            problem = errorText(err);
        }

        const source = problem ? undefined : openSource();

        /** The file store under the user directory, or the Redis the Store property names. */
        function openSource(): TrackingSource | undefined {
            const tracker = options!.tracker;
            const hooks = {
                texts,
                onEviction: (eviction: TrackerEviction) => warn(evictionWarning(eviction, texts, RED._)),
                changed: (opened: boolean) => {
                    // Deadlines that passed while Node-RED was down (or the store was unavailable) fire once it is back.
                    if (opened && !closed) tick();
                    showStatus();
                },
            };
            if (!options!.store) return fileTrackingSource(node, (RED.settings as { userDir?: unknown }).userDir, tracker, hooks);
            try {
                const lease = leaseRedisStore(RED, options!.store, text('warnings.storeMissing', { store: logText(options!.store) }));
                const auth = options!.auth;
                // The seen webhook-ids go where the call state goes: a replay to another instance, or after a redeploy,
                // is refused as it is on the instance that took the request first.
                if (auth.type === 'standard-webhooks') auth.replays = new RedisReplayMemory(lease.connection, node.id, auth.toleranceSeconds);
                try {
                    return sharedTrackingSource(node, lease, tracker, hooks);
                } catch (err) {
                    void lease.release();
                    throw err;
                }
            } catch (err) {
                problem = errorText(err);
                return undefined;
            }
        }

        const emit = (triggers: Trigger[], send: (msg: NodeMessage[]) => void): void => {
            // One send per message keeps each trigger its own message, in order.
            for (const message of triggerMessages(triggers, options!.wanted, RED.util.generateId)) send([message]);
        };

        // Only a store that refuses every write (its disk failing until it repairs itself, Redis away) is said as an error, once; a save
        // that failed for its own record alone leaves the store usable for the next request.
        let reportedTrouble: string | undefined;
        const storeFailed = (err: unknown): void => {
            const trouble = source?.trouble();
            if (trouble === undefined) warn(text('warnings.notSaved', { problem: logText(errorText(err)) }));
            else if (trouble !== reportedTrouble) node.error(trouble);
            reportedTrouble = trouble;
            showStatus();
        };

        /**
         * Takes the events in, sends their triggers, and resolves once the calls' state is durable: the endpoint's 202
         * and the input's done() mean "will not be forgotten by a restart" (see CallTracking for the order).
         */
        const take = async (events: RawEvent[], send: (msg: NodeMessage[]) => void): Promise<void> => {
            await source?.ready;
            const current = source?.current();
            if (!current) throw new CodedError('store', source?.trouble() ?? text('warnings.storeUnavailable', { problem: '' }));
            eventsThisSecond += events.length;
            await current
                .take(events, (triggers) => emit(triggers, send))
                .catch((err: unknown) => {
                    if (!(err instanceof CodedError) || err.code !== 'store') throw err;
                    storeFailed(err);
                    throw new CodedError('store', `call state not saved: ${errorText(err)}`, { cause: err });
                });
        };

        const clip = (status: string): string => logText(status, 60);
        function showStatus(): void {
            const trouble = problem ?? source?.trouble();
            if (trouble === undefined && reportedTrouble !== undefined) {
                // The store repaired itself (or Redis is back): said once, as the trouble was.
                reportedTrouble = undefined;
                node.log(text('warnings.savedAgain'));
            }
            if (trouble) return node.status({ fill: 'red', shape: 'ring', text: clip(trouble) });
            const current = source?.current();
            if (!current) return node.status({ fill: 'grey', shape: 'ring', text: text('status.restoring') });
            const values = { calls: current.size, rate: eventsPerSecond };
            const note = source?.note();
            if (note) node.status({ fill: 'yellow', shape: 'dot', text: clip(text('status.countsNoted', { ...values, note })) });
            else node.status({ fill: 'green', shape: 'dot', text: text('status.counts', values) });
        }

        function tick(): void {
            const current = source?.current();
            if (!current || source?.trouble()) return;
            current.tick((triggers) => emit(triggers, (messages) => node.send(messages))).catch(storeFailed);
        }

        const timer = setInterval(() => {
            eventsPerSecond = eventsThisSecond;
            eventsThisSecond = 0;
            tick();
            showStatus();
        }, 1000);

        let releaseEndpoint: (() => void) | undefined;
        if (options?.path) {
            const claim = serveEventEndpoint(RED, node.id, options, {
                take: (events) => take(events, (messages) => node.send(messages)),
                refused: (refusal) =>
                    warnRefused(
                        text('warnings.refused', {
                            ...refusal,
                            method: logText(refusal.method),
                            path: logText(refusal.path),
                            problem: logText(refusal.problem),
                        }),
                    ),
                failed: (failure) => node.error(text('warnings.failed', { path: logText(failure.path), problem: logText(failure.problem) })),
            });
            if (claim.taken) {
                // Express would route both spellings to whichever node registered first: refuse the second.
                const values = { path: logText(claim.path), owner: logText(claim.owner), ownerPath: logText(claim.ownerPath) };
                problem = text(claim.ownerPath === claim.path ? 'warnings.pathTaken' : 'warnings.pathTakenAs', values);
            } else releaseEndpoint = claim.release;
        }
        if (problem) node.error(logText(problem, 400));
        showStatus();

        node.on('input', (msg: NodeMessageInFlow, send, done) => {
            if (problem || !options) return done(new ConfigError(problem ?? ''));
            let events: RawEvent[];
            try {
                events = validateRawEvents(msg.payload, options.limits);
            } catch (err) {
                return done(loggable(err));
            }
            take(events, (messages) => send(messages)).then(
                () => done(),
                (err: unknown) => done(loggable(err)),
            );
        });

        node.playSampleCall = () =>
            playSampleCall(
                (events) => take(events, (messages) => node.send(messages)),
                () => !closed,
            );

        node.on('close', (removed: boolean, done: () => void) => {
            closed = true;
            clearInterval(timer);
            releaseEndpoint?.();
            (source?.stop(removed) ?? Promise.resolve()).then(done, (err: unknown) => {
                node.error(text('warnings.closing', { problem: logText(errorText(err)) }));
                done();
            });
        });
    }

    RED.nodes.registerType('call-event-in', CallEventInNode, {
        credentials: { secret: { type: 'password' }, platformSecret: { type: 'password' } },
    });
    registerSimulateRoute(RED);
};
