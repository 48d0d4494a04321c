import type { Node } from 'node-red';
import type { TrackerEviction } from '../../lifecycle/call-tracker';
import type { CallTrackingOpening } from '../../lifecycle/call-tracking-opening';
import { logText } from '../../logging/log-text';

/** The node's catalog texts: `text(key)`, and `counted(key, n)` that picks the key's `One` variant for one. */
export interface RuntimeTexts {
    text(key: string, values?: Record<string, string | number>): string;
    counted(key: string, count: number, values?: Record<string, string | number>): string;
}

/**
 * Says what opening the call state found: a warning per loss (a restart in memory only, records recovery dropped,
 * unreadable records) and a log line for the calls restored. Returns the note the status keeps showing while the
 * node runs, so a loss stays visible after the log has scrolled by; undefined when nothing was lost.
 */
export function reportOpening(node: Pick<Node, 'warn' | 'log'>, opening: CallTrackingOpening, { text, counted }: RuntimeTexts): string | undefined {
    const directory = opening.directory ?? '';
    if (!opening.durable) node.warn(text('warnings.noUserDir'));
    const notes: string[] = [];
    if (opening.dropped) {
        node.warn(text('warnings.dropped', { directory, summary: opening.dropped.summary }));
        notes.push(counted('status.dropped', opening.dropped.records, { kind: opening.dropped.kind }));
    }
    if (opening.unreadable.length > 0) {
        const keys = opening.unreadable.slice(0, 5).map((key) => logText(key, 60));
        node.warn(counted('warnings.unreadable', opening.unreadable.length, { directory, keys: keys.join(', ') }));
        notes.push(text('status.skipped', { count: opening.unreadable.length }));
    }
    if (opening.restored > 0) node.log(counted('warnings.restored', opening.restored, { directory }));
    return notes.length > 0 ? notes.join(', ') : undefined;
}

/**
 * The warning for a call forgotten at a tracking bound; it names the edit dialog's field to raise by the dialog's own
 * label, so the two cannot drift apart.
 */
export function evictionWarning(eviction: TrackerEviction, { text }: RuntimeTexts, translate: (key: string) => string): string {
    const limit = text(eviction.reason === 'calls' ? 'warnings.limitCalls' : 'warnings.limitBytes', { count: eviction.limit });
    if (eviction.processed) return text('warnings.evictedFinished', { limit, callId: logText(eviction.callId) });
    const setting = translate(eviction.reason === 'calls' ? 'call-event-in.label.maxCalls' : 'call-event-in.label.maxStateSize');
    return text('warnings.evictedUnfinished', { limit, callId: logText(eviction.callId), setting });
}
