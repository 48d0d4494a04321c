import { rm } from 'node:fs/promises';
import type { NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { RawEvent } from '../../call/raw-event';
import { CodedError, ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import { openCallTracking, ReopeningCallTracking, type CallTrackingOpening } from '../../lifecycle/call-tracking-opening';
import { validateRawEvents } from '../../lifecycle/raw-event-validation';
import { logText } from '../../logging/log-text';
import { registerEditorResources } from '../shared/editor-resources';
import { rateLimitedWarning } from '../shared/rate-limited-warning';
import { playSampleCall, registerSimulateRoute, type SimulatingNode } from './admin';
import { callEventInOptions, type CallEventInCredentials, type CallEventInOptions, type CallEventInProperties } from './config';
import { serveEventEndpoint } from './endpoint-route';
import { evictionWarning, reportOpening, type RuntimeTexts } from './recovery-report';
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
        let storeProblem: string | undefined;
        let recoveryNote: string | undefined;
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

        const opened = (opening: CallTrackingOpening): void => {
            storeProblem = undefined;
            recoveryNote = reportOpening(node, opening, texts);
            // Deadlines that passed while Node-RED was down (or the store was unavailable) fire as soon as it is back.
            if (!closed) tick();
            showStatus();
        };
        const tracking = problem
            ? undefined
            : new ReopeningCallTracking(
                  () =>
                      openCallTracking({
                          userDir: (RED.settings as { userDir?: unknown }).userDir,
                          nodeId: node.id,
                          tracker: { ...options!.tracker, onEviction: (eviction) => warn(evictionWarning(eviction, texts, RED._)) },
                      }),
                  {
                      opened,
                      failed: (err) => {
                          const message = text('warnings.storeUnavailable', { problem: logText(errorText(err)) });
                          // Said once per outage, not once per retry.
                          if (storeProblem === undefined) node.error(message);
                          storeProblem = message;
                          showStatus();
                      },
                  },
              );

        const storeFailed = (err: unknown): void => {
            const message = text('warnings.notSaved', { problem: logText(errorText(err)) });
            // Only a failed flush latches the store (it then refuses every write): one error says it, not one per
            // event. A save that failed for its own record alone leaves the store usable for the next request.
            if (tracking?.tracking?.failure === undefined) {
                warn(message);
                return;
            }
            if (storeProblem === undefined) node.error(message);
            storeProblem ??= message;
        };

        const emit = (messages: NodeMessage[], send: (msg: NodeMessage[]) => void): void => {
            // One send per message keeps each trigger its own message, in order.
            for (const message of messages) send([message]);
        };

        /**
         * Applies the events, sends their triggers, and resolves once the calls' state is durable: the endpoint's 202
         * and the input's done() mean "will not be forgotten by a restart". Sending before saving is the
         * at-least-once order (see DurableCallTracking).
         */
        const take = async (events: RawEvent[], send: (msg: NodeMessage[]) => void): Promise<void> => {
            await tracking?.ready;
            const current = tracking?.tracking;
            if (!current) throw new CodedError('store', storeProblem ?? text('warnings.storeUnavailable', { problem: tracking?.failure ?? '' }));
            eventsThisSecond += events.length;
            emit(triggerMessages(current.apply(events), options!.wanted, RED.util.generateId), send);
            await current.save().catch((err: unknown) => {
                storeFailed(err);
                throw new CodedError('store', `call state not saved: ${errorText(err)}`, { cause: err });
            });
        };

        const clip = (status: string): string => logText(status, 60);
        function showStatus(): void {
            const trouble = problem ?? storeProblem;
            if (trouble) return node.status({ fill: 'red', shape: 'ring', text: clip(trouble) });
            const current = tracking?.tracking;
            if (!current) return node.status({ fill: 'grey', shape: 'ring', text: text('status.restoring') });
            const values = { calls: current.size, rate: eventsPerSecond };
            if (recoveryNote) node.status({ fill: 'yellow', shape: 'dot', text: clip(text('status.countsNoted', { ...values, note: recoveryNote })) });
            else node.status({ fill: 'green', shape: 'dot', text: text('status.counts', values) });
        }

        function tick(): void {
            const current = tracking?.tracking;
            if (!current) return;
            emit(triggerMessages(current.tick(), options!.wanted, RED.util.generateId), (messages) => node.send(messages));
            current.save().catch(storeFailed);
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
            // A redeploy keeps the state for the node that replaces this one; only deleting the node deletes it.
            const finish = async (): Promise<void> => {
                const opening = await tracking?.stop();
                if (!opening) return;
                const unfinished = removed ? opening.tracking.unfinished : 0;
                await opening.tracking.close().catch((err: unknown) => node.error(text('warnings.notSavedOnClose', { problem: logText(errorText(err)) })));
                if (!removed || !opening.directory) return;
                await rm(opening.directory, { recursive: true, force: true });
                if (unfinished > 0) node.warn(texts.counted('warnings.deletedUnfinished', unfinished));
            };
            finish().then(done, (err: unknown) => {
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
