import type { NodeMessage } from 'node-red';
import type { Call, TriggerEventId } from '../../call/call';
import { triggerEventLabel } from '../../call/trigger-events';
import type { Trigger } from '../../lifecycle/call-tracker';

/**
 * A copy the flow may change: msg.call is flat (strings, numbers, booleans and three lists of strings), so copying
 * its fields and lists is a deep copy, at a fraction of what structuredClone costs per trigger.
 */
function mutableCall(call: Call): Call {
    const copy = { ...call };
    if (call.tags) copy.tags = [...call.tags];
    if (call.accountCodes) copy.accountCodes = [...call.accountCodes];
    if (call.recordingLink) copy.recordingLink = [...call.recordingLink];
    return copy;
}

/** The msgs of the triggers the node was asked for (all when `wanted` is undefined), in order. */
export function triggerMessages(triggers: readonly Trigger[], wanted: Set<TriggerEventId> | undefined, newId: () => string): NodeMessage[] {
    return triggers
        .filter((trigger) => !wanted || wanted.has(trigger.event))
        .map(
            (trigger) =>
                ({
                    _msgid: newId(),
                    topic: triggerEventLabel(trigger.event),
                    event: trigger.event,
                    // The tracker shares one frozen copy of a call's lists among its triggers; a msg is the flow's to change,
                    // and msg.payload is a second copy so that changing one leaves the other as it came.
                    call: mutableCall(trigger.call),
                    payload: mutableCall(trigger.call),
                }) as NodeMessage,
        );
}
