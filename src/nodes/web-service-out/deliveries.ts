// The deliveries of every deployed web service out node, for the editor's "deliveries" sidebar, scripts and a
// monitoring system: admin endpoints behind `web-service-out.read` (look) and `web-service-out.write` (act), the
// Prometheus text of their metrics, and live updates through the editor's comms.
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { PROMETHEUS_CONTENT_TYPE, prometheusText, type DeliveryMetrics } from '../../delivery/delivery-metrics';
import type { Sender } from '../../delivery/sender';
import { CodedError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import { needsPermission } from '../shared/admin-request';

/** What the routes need of one deployed node. */
export interface DeliveriesHandle {
    id: string;
    name: string;
    /** The flow (tab) the node is on, so the sidebar can follow the selection. */
    z?: string;
    sender: Sender<unknown>;
    metrics: DeliveryMetrics;
}

/** The topic of the comms message a node's change publishes; the sidebar subscribes to `<topic>/#`. */
export const DELIVERIES_TOPIC = 'ccaas-web-service/deliveries';
/** A node changing all the time publishes at most this often, so the editor is not flooded during a backlog. */
const PUBLISH_INTERVAL_MS = 500;

const deployed = new Map<string, DeliveriesHandle>();

/**
 * Makes a node's deliveries reachable from the admin endpoints; returns what tells the editor of a change (at most
 * every PUBLISH_INTERVAL_MS) and what takes the node away again on close.
 */
export function registerDeliveries(RED: NodeAPI, handle: DeliveriesHandle): { changed(): void; unregister(): void } {
    deployed.set(handle.id, handle);
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const publish = (): void => {
        timer = undefined;
        if (closed) return;
        void overviewOf(handle)
            .then((overview) => RED.comms.publish(`${DELIVERIES_TOPIC}/${handle.id}`, overview, false))
            .catch(() => undefined);
    };
    return {
        changed() {
            if (!timer && !closed) timer = setTimeout(publish, PUBLISH_INTERVAL_MS);
        },
        unregister() {
            closed = true;
            clearTimeout(timer);
            if (deployed.get(handle.id) === handle) deployed.delete(handle.id);
            RED.comms.publish(`${DELIVERIES_TOPIC}/${handle.id}`, { id: handle.id, removed: true }, false);
        },
    };
}

/** One node's row of the overview: counts only, cheap enough for every change. */
async function overviewOf(handle: DeliveriesHandle) {
    const snapshot = handle.sender.snapshot();
    const deadLetters = await handle.sender.deadLetterCount().catch(() => 0);
    return {
        id: handle.id,
        name: handle.name,
        z: handle.z,
        queued: snapshot?.queued ?? 0,
        inFlight: snapshot?.inFlight ?? 0,
        ...(snapshot?.nextRetryAt !== undefined ? { nextRetryAt: snapshot.nextRetryAt } : {}),
        deadLetters,
        metrics: handle.metrics.summary(),
    };
}

/** The rows a node's detail lists of each kind unless `limit` says otherwise, and the most it may ask. */
export const DETAIL_LIMIT = 100;
export const MAX_DETAIL_LIMIT = 1000;

/**
 * A node's detail: its counts and the first `limit` queued requests and dead letters (oldest first), so that a
 * backlog of thousands answers in a page; `queuedCount` and `deadLetters` count all of them.
 */
async function detailOf(handle: DeliveriesHandle, limit: number) {
    const [overview, queued, deadLetters] = await Promise.all([overviewOf(handle), handle.sender.queuedList(limit), handle.sender.deadLetterList(limit)]);
    return { ...overview, queuedCount: overview.queued, queued, delivered: handle.sender.recentDeliveries(), deadLetterList: deadLetters };
}

/** `?limit=` of a detail request, or a CodedError naming it. */
function limitOf(value: unknown): number {
    if (value === undefined) return DETAIL_LIMIT;
    const limit = Number(value);
    if (typeof value !== 'string' || !/^\d+$/.test(value) || limit < 1 || limit > MAX_DETAIL_LIMIT) {
        throw new CodedError('input', `limit: must be a whole number from 1 to ${MAX_DETAIL_LIMIT}, not ${JSON.stringify(value)}`);
    }
    return limit;
}

function answerError(res: Response, err: unknown): void {
    const code = err instanceof CodedError ? err.code : 'store';
    res.status(code === 'input' ? 400 : code === 'queue-full' ? 429 : 503).json({ error: errorText(err), code });
}

function handleOf(req: Request, res: Response): DeliveriesHandle | undefined {
    const handle = deployed.get(String(req.params.id));
    if (!handle) res.status(404).json({ error: `no deployed web service out node has the id ${JSON.stringify(String(req.params.id))}`, code: 'input' });
    return handle;
}

export function registerDeliveriesRoutes(RED: NodeAPI): void {
    const read = needsPermission(RED, 'web-service-out.read');
    const write = needsPermission(RED, 'web-service-out.write');
    const base = '/web-service-out/deliveries';

    RED.httpAdmin.get(base, read, (_req, res) => {
        Promise.all([...deployed.values()].map(overviewOf))
            .then((nodes) => res.json({ nodes }))
            .catch((err: unknown) => answerError(res, err));
    });

    RED.httpAdmin.get('/web-service-out/metrics', read, (_req, res) => {
        Promise.all(
            [...deployed.values()].map(async (handle) => ({ id: handle.id, name: handle.name, metrics: handle.metrics, gauges: await handle.sender.gauges() })),
        )
            .then((nodes) => res.set('content-type', PROMETHEUS_CONTENT_TYPE).send(prometheusText(nodes)))
            .catch((err: unknown) => answerError(res, err));
    });

    RED.httpAdmin.get(`${base}/:id`, read, (req, res) => {
        const handle = handleOf(req, res);
        if (handle)
            Promise.resolve()
                .then(() => detailOf(handle, limitOf(req.query.limit)))
                .then((detail) => res.json(detail))
                .catch((err: unknown) => answerError(res, err));
    });

    RED.httpAdmin.get(`${base}/:id/:key`, read, (req, res) => {
        const handle = handleOf(req, res);
        if (!handle) return;
        handle.sender
            .describe(String(req.params.key))
            .then((found) =>
                found
                    ? res.json(found)
                    : res.status(404).json({ error: `no queued request or dead letter has the key ${JSON.stringify(String(req.params.key))}`, code: 'input' }),
            )
            .catch((err: unknown) => answerError(res, err));
    });

    const act = (path: string, work: (handle: DeliveriesHandle, key: string) => Promise<Record<string, unknown>>) =>
        RED.httpAdmin.post(`${base}/${path}`, write, (req, res) => {
            const handle = handleOf(req, res);
            if (!handle) return;
            work(handle, String(req.params.key ?? ''))
                .then((answer) => res.json(answer))
                .catch((err: unknown) => answerError(res, err));
        });
    const counted = async (name: string, result: Promise<{ count: number; error?: CodedError }>) => {
        const { count, error } = await result;
        return error ? { [name]: count, error: error.message, code: error.code } : { [name]: count };
    };
    act(':id/replay-all', (handle) => counted('replayed', handle.sender.replay()));
    act(':id/discard-all', (handle) => counted('discarded', handle.sender.discard()));
    act(':id/:key/replay', (handle, key) => counted('replayed', handle.sender.replay([key])));
    act(':id/:key/discard', (handle, key) => counted('discarded', handle.sender.discard([key])));
    act(':id/:key/retry', async (handle, key) => ({ retried: await handle.sender.retryNow(key) }));
}
