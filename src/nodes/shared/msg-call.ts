import { InputError } from '../../errors/coded-error';

/**
 * The call snapshot a node works from, or the input error that names what is missing: every node but call event in
 * reads msg.call, and a msg from some other source is the commonest wiring mistake.
 * @param purpose what the node does with it, e.g. `the criteria filter tests call data from msg.call`
 */
export function callOf(msg: object, purpose: string): object {
    const call = (msg as { call?: unknown }).call;
    if (typeof call !== 'object' || call === null || Array.isArray(call)) {
        throw new InputError(`msg.call is missing or not an object: ${purpose} (set by "call event in")`);
    }
    return call;
}
