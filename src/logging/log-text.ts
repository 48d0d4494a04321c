/** The longest piece of outside data (a call id, a caller name, a remote error) one log line or status carries. */
export const MAX_LOGGED_TEXT = 200;

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Outside text made safe to place in a log line or a node status: control characters (newlines above all, which
 * would let a caller forge log lines) are shown escaped, as `\n` or `\u001b`, and the text is cut to `max`
 * characters with an ellipsis, so a hostile call id can neither fake a line nor flood the log.
 */
export function logText(value: unknown, max = MAX_LOGGED_TEXT): string {
    const text = typeof value === 'string' ? value : String(value);
    const escaped = text.replace(CONTROL, (char) => {
        switch (char) {
            case '\n':
                return '\\n';
            case '\r':
                return '\\r';
            case '\t':
                return '\\t';
            default:
                return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
        }
    });
    return escaped.length > max ? `${escaped.slice(0, Math.max(0, max - 1))}…` : escaped;
}
