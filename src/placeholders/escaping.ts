import { CodedError } from '../errors/coded-error';

/**
 * Where a rendered value lands. Each one escapes placeholder values so that call data can never break out of the
 * string it is placed in (a quote in a caller name must not end a JSON string, an `&` must not start a new form
 * field, a `/` must not add a path segment).
 */
export type PlaceholderFormat = 'json' | 'xml' | 'form' | 'text' | 'url-query' | 'url-path' | 'header';

/** The formats a user picks for a body in the "placeholder template" node. */
export const BODY_FORMATS = ['json', 'xml', 'form', 'text'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

export function isBodyFormat(value: unknown): value is BodyFormat {
    return (BODY_FORMATS as readonly unknown[]).includes(value);
}

function escapeJsonString(text: string): string {
    // JSON.stringify handles quotes, backslashes, control characters and lone surrogates; the quotes it adds are the
    // template author's to write.
    return JSON.stringify(text).slice(1, -1);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function escapeXml(text: string): string {
    return (
        text
            .replace(/[&<>"']/g, (char) => XML_ENTITIES[char])
            // XML 1.0 cannot carry these control characters at all, not even as character references.
            .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
            // A parser normalises raw CR and LF inside attribute values to spaces; references survive.
            .replace(/\r/g, '&#13;')
            .replace(/\n/g, '&#10;')
    );
}

function escapeFormValue(text: string): string {
    // The URL standard's application/x-www-form-urlencoded serializer, as receivers parse it.
    return new URLSearchParams([['', text]]).toString().slice(1);
}

function escapePathSegment(text: string): string {
    // URL parsing resolves "." and ".." segments, percent-encoded or not, into a different path: refuse them.
    if (text === '.' || text === '..') {
        throw new CodedError('url', `the value "${text}" cannot stand as a URL path segment`);
    }
    return encodeURIComponent(text);
}

const ESCAPERS: Record<PlaceholderFormat, (text: string) => string> = {
    json: escapeJsonString,
    xml: escapeXml,
    form: escapeFormValue,
    text: (text) => text,
    'url-query': encodeURIComponent,
    'url-path': escapePathSegment,
    // Header values are checked as a whole after rendering, literal text and raw values included.
    header: (text) => text,
};

export function escaperFor(format: PlaceholderFormat): (text: string) => string {
    return ESCAPERS[format];
}

/**
 * Refuses what Node's HTTP client would refuse (and worse, what a lenient one would turn into a second header):
 * CR, LF and characters outside the Latin-1 range a header value can carry.
 */
export function assertHeaderValue(where: string, value: string, callId: string | undefined): void {
    const ofCall = callId ? ` of call ${callId}` : '';
    if (/[\r\n]/.test(value)) {
        throw new CodedError('header', `${where}${ofCall}: the value contains a line break (CR or LF), so it was not sent`);
    }
    const bad = value.match(/[^\t\x20-\x7e\x80-\xff]/u);
    if (bad) {
        const codePoint = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        throw new CodedError('header', `${where}${ofCall}: the value contains U+${codePoint}, which an HTTP header cannot carry, so it was not sent`);
    }
}
