/**
 * Deepest nesting of arrays and objects a request body may have. Real call events nest three levels (the array,
 * an event, its agent) and platform payloads about six; a few KiB of `[[[[...` would otherwise make every later
 * recursive step (validation, cloning, storing) recurse that deep.
 */
export const MAX_JSON_DEPTH = 32;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The nesting depth of JSON text, found by one pass over its characters (strings skipped), so a hostile body is
 * measured before JSON.parse builds anything from it. Stops counting once past `stopAbove`.
 */
export function jsonNestingDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
    let depth = 0;
    let deepest = 0;
    let inString = false;
    for (let index = 0; index < text.length; index += 1) {
        const char = text.charCodeAt(index);
        if (inString) {
            if (char === BACKSLASH) index += 1;
            else if (char === QUOTE) inString = false;
        } else if (char === QUOTE) {
            inString = true;
        } else if (char === OPEN_ARRAY || char === OPEN_OBJECT) {
            depth += 1;
            if (depth > deepest) {
                deepest = depth;
                if (deepest > stopAbove) return deepest;
            }
        } else if (char === CLOSE_ARRAY || char === CLOSE_OBJECT) {
            depth -= 1;
        }
    }
    return deepest;
}

/** Why JSON text nests too deep to be parsed, or undefined when it does not. */
export function nestingProblem(text: string, maxDepth = MAX_JSON_DEPTH): string | undefined {
    const depth = jsonNestingDepth(text, maxDepth);
    return depth > maxDepth ? `nests arrays and objects deeper than the limit of ${maxDepth} levels` : undefined;
}
