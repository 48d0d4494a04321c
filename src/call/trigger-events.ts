import type { TriggerEventId } from './call';

export interface TriggerEvent {
    id: TriggerEventId;
    /** The product's name for the event; it is also `msg.topic` of every message the event produces. */
    label: string;
}

export const TRIGGER_EVENTS: readonly TriggerEvent[] = [
    { id: 'presenting', label: 'Call is Presenting' },
    { id: 'connected', label: 'Call is Connected' },
    { id: 'complete', label: 'Call is Complete' },
    { id: 'processed', label: 'Call and Recordings Processed' },
    { id: 'updated', label: 'Call is Updated' },
];

export function isTriggerEventId(value: unknown): value is TriggerEventId {
    return TRIGGER_EVENTS.some((event) => event.id === value);
}

export function triggerEventLabel(id: TriggerEventId): string {
    const event = TRIGGER_EVENTS.find((candidate) => candidate.id === id);
    if (!event) throw new RangeError(`unknown trigger event "${id}"`);
    return event.label;
}
