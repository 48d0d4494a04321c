import type { Node, NodeAPI } from 'node-red';
import type { RawEvent } from '../../call/raw-event';
import { callLife, seededRandom } from '../../simulator/call-lives';
import { computingAdminRoute } from '../shared/admin-request';

/** A deployed call event in node, as the simulate route finds it. */
export type SimulatingNode = Node & { playSampleCall?: () => string };

/**
 * Plays a realistic call life through `take`, one event at a time at a human pace, while `running()` holds; returns
 * the call id so the editor can say which call to watch for.
 */
export function playSampleCall(take: (events: RawEvent[]) => Promise<void>, running: () => boolean): string {
    const random = seededRandom(Date.now());
    const steps = callLife(random, { paceMs: 700, startTime: Date.now(), answered: true });
    let delay = 0;
    for (const step of steps) {
        delay += step.afterMs;
        setTimeout(() => {
            // A refused event has been reported by take already (status, log); the simulation just moves on.
            if (running()) take([{ ...step.event, timestamp: Date.now() }]).catch(() => undefined);
        }, delay);
    }
    return steps[0].event.callId;
}

/** The edit dialog's "simulate a call" button: a realistic call life played through the deployed node. */
export function registerSimulateRoute(RED: NodeAPI): void {
    RED.httpAdmin.post('/call-event-in/:id/simulate', ...computingAdminRoute(RED, 'call-event-in', '/call-event-in/:id/simulate'), (req, res) => {
        const target = RED.nodes.getNode(String(req.params.id)) as SimulatingNode | null;
        if (!target || typeof target.playSampleCall !== 'function') {
            res.status(404).json({ error: 'deploy the node first: it is not running' });
            return;
        }
        res.json({ callId: target.playSampleCall() });
    });
}
