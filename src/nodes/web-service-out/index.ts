// Node-RED glue of web service out: a deployed node's settings become a Sender (src/delivery/sender.ts), whose
// reports become msgs, done(), the status and log lines.
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { responsePayload } from '../../delivery/response-body';
import { MAX_ERROR_MESSAGE, Sender, type SettledRequest } from '../../delivery/sender';
import type { CodedError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import { logText } from '../../logging/log-text';
import { missingSecret } from '../../request/request-config';
import { callOf } from '../shared/msg-call';
import { rateLimitedWarning } from '../shared/rate-limited-warning';
import { registerEditorResources } from '../shared/editor-resources';
import { registerTestRoute, type DeployedWebServiceOut } from './admin';
import { DeliveryMetrics } from '../../delivery/delivery-metrics';
import { isActionMessage, runAction } from './actions';
import { registerDeliveries, registerDeliveriesRoutes } from './deliveries';
import { deadLetterSettingsOf, originOf, queueSettingsOf, SECRET_FIELDS, type Credentials, type WebServiceOutConfig } from './config';
import type { ConnectionLease } from '../../store/redis/connection-share';
import { leaseRedisStore, storeIdOf } from '../shared/redis-store';
import { prepareProfile } from './profile';
import { reportedMessage, showStoreProblem, type Msg, type Waiting, type Warning } from './reports';
import { DeliveryStatus } from './status';

type WebServiceOutNode = DeployedWebServiceOut &
    Node<Record<(typeof SECRET_FIELDS)[number], unknown>> & {
        /** What the delivery queue holds now (requests and bytes); undefined until the outbox is open. */
        queueSnapshot?: () => ReturnType<Sender<Waiting>['snapshot']>;
    };

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);
    const warning: Warning = (key, values) => RED._(`web-service-out.runtime.warnings.${key}`, values);

    function WebServiceOutNode(this: WebServiceOutNode, config: WebServiceOutConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        node.sendsTo = originOf(config.url);
        const credentials = (node.credentials ?? {}) as Credentials;
        let sender: Sender<Waiting> | undefined;
        let configError: Error | undefined;
        const metrics = new DeliveryMetrics();
        let deliveries: ReturnType<typeof registerDeliveries> | undefined;
        const status = new DeliveryStatus(node, RED, {
            snapshot: () => sender?.snapshot(),
            get queuedCount() {
                return sender?.queuedCount ?? 0;
            },
            get refusing() {
                return sender?.refusing ?? false;
            },
            get shared() {
                return sender?.shared ?? false;
            },
            get notWritable() {
                return sender?.notWritable ?? false;
            },
        });
        const warnSometimes = rateLimitedWarning(node, MAX_ERROR_MESSAGE);

        /** A report must never throw into the queue: one that does is a bug, logged. */
        function guarded<A extends unknown[]>(report: (...args: A) => void): (...args: A) => void {
            return (...args) => {
                try {
                    report(...args);
                } catch (err) {
                    node.error(warning('reportFailed', { reason: logText(errorText(err), MAX_ERROR_MESSAGE) }));
                }
            };
        }

        function delivered(request: SettledRequest<Waiting>): void {
            metrics.delivered(request.totalMs);
            const { msg, send } = reportedMessage(RED, node, request);
            const response = request.result.response!;
            msg.payload = responsePayload(response);
            status.delivered(response.statusCode, response.timeMs);
            send(config.failureOutput ? [msg, null] : msg);
            request.context?.done();
        }

        function failed(request: SettledRequest<Waiting>, error: CodedError, deadLettered: boolean): void {
            metrics.failed();
            if (deadLettered) metrics.deadLettered();
            const { msg, send } = reportedMessage(RED, node, request);
            if (deadLettered) (msg.delivery as Record<string, unknown>).deadLettered = true;
            const { response } = request.result;
            status.failed(error.code === 'auth' ? RED._('web-service-out.status.auth') : `${error.code}${response ? ` ${response.statusCode}` : ''}`);
            if (config.failureOutput) {
                const failure = RED.util.cloneMessage(msg) as Record<string, unknown>;
                failure.error = { message: error.message, code: error.code };
                send([null, failure as NodeMessage]);
            }
            if (request.context) request.context.done(error);
            else node.error(error, msg);
        }

        let lease: ConnectionLease | undefined;
        let warnedDropped = false;
        try {
            const prepared = prepareProfile(RED, config, credentials);
            const queue = queueSettingsOf(config);
            const deadLetters = deadLetterSettingsOf(config);
            const storeId = storeIdOf(config);
            if (storeId) lease = leaseRedisStore(RED, storeId, warning('storeMissing', { store: logText(storeId) }));
            sender = new Sender<Waiting>({
                ...queue,
                deadLetters,
                ...(lease ? { store: { kind: 'redis' as const, connection: lease.connection } } : {}),
                nodeId: node.id,
                userDir: (RED.settings as { userDir?: unknown }).userDir,
                profile: prepared,
                events: {
                    delivered: guarded(delivered),
                    failed: guarded(failed),
                    changed: () => {
                        status.refresh();
                        deliveries?.changed();
                    },
                    retried: () => metrics.retried(),
                    replayed: (count: number) => metrics.replayed(count),
                    deadLettersDropped: guarded((count: number, bound: 'bounds' | 'store') => {
                        if (bound === 'store') warnSometimes(warning('deadLetterUnkept'));
                        else metrics.deadLettersDropped(count);
                        if (bound === 'bounds' && !warnedDropped) {
                            // Once per deploy: a node that keeps failing drops some at every failure.
                            warnedDropped = true;
                            node.warn(warning('deadLettersDropped', { count, max: deadLetters.maxCount, days: deadLetters.maxAgeMs / 86_400_000 }));
                        }
                    }),
                    storeProblem: (problem) => showStoreProblem(node, status, warning, warnSometimes, problem),
                },
            });
        } catch (err) {
            configError = err as Error;
            const missing = missingSecret(config, credentials);
            const text = missing
                ? RED._('web-service-out.status.missingCredential', { credential: RED._(`web-service-out.label.${missing}`) })
                : RED._('web-service-out.status.invalid');
            node.status({ fill: 'red', shape: 'ring', text });
            node.error(configError.message);
        }
        node.queueSnapshot = () => sender?.snapshot();
        if (sender)
            deliveries = registerDeliveries(RED, { id: node.id, name: config.name || node.id, z: config.z, sender: sender as Sender<unknown>, metrics });

        node.on('input', (msg, send, done) => {
            if (!sender) {
                done(configError);
                return;
            }
            const message = msg as Msg;
            if (isActionMessage(message)) {
                // A msg that asks something of the node never sends a request itself.
                const live = sender;
                runAction(live, message)
                    .then(({ payload, error }) => {
                        message.payload = payload;
                        send(config.failureOutput ? [message, null] : message);
                        status.refresh();
                        done(error);
                    })
                    .catch((err: unknown) => done(err as Error));
                return;
            }
            let call: object;
            try {
                call = callOf(message, '"web service out" builds its request from msg.call');
            } catch (err) {
                done(err as Error);
                return;
            }
            const shared = sender.shared;
            // Shared in Redis, done() means "durable" and comes once the request is stored; the instance that makes the
            // final attempt reports the outcome, a failure through node.error so a Catch node still sees it.
            const context: Waiting = shared ? { msg: message, send, done: (err?: Error) => err && node.error(err, message) } : { msg: message, send, done };
            sender
                .send({ call: call as Record<string, unknown>, payload: message.payload, topic: message.topic }, context)
                .then(() => {
                    if (shared) done();
                })
                .catch((err: unknown) => {
                    // Refused whole (outbox unavailable, queue full, too large to keep), or it came while the node closes.
                    status.refresh();
                    done(err as Error);
                });
        });

        node.on('close', (removed: boolean, closed: () => void) => {
            status.stop();
            deliveries?.unregister();
            if (!sender) {
                closed();
                return;
            }
            const shared = sender.shared;
            sender
                .close(removed)
                .then((left) => {
                    // A shared outbox stays in Redis for the other instances that run this node.
                    if (removed && left > 0 && !shared) node.warn(warning(left === 1 ? 'deletedOne' : 'deleted', { count: left }));
                })
                .catch((err: unknown) => node.error(warning('closeFailed', { reason: logText(errorText(err), MAX_ERROR_MESSAGE) })))
                .then(() => lease?.release())
                .catch(() => undefined)
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
    registerTestRoute(RED);
    registerDeliveriesRoutes(RED);
};
