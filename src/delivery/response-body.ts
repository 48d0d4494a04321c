import type { ReceivedResponse } from './delivery-error';

/** The response as `msg.response` carries it. */
export interface ResponseView {
    statusCode: number;
    headers: Record<string, string | string[]>;
    /** Text when the content is text (JSON, XML, form, text/*, or untyped), a Buffer otherwise. */
    body: string | Buffer;
    timeMs: number;
}

function contentTypeOf(response: ReceivedResponse): string {
    const value = response.headers['content-type'];
    return (Array.isArray(value) ? value[0] : (value ?? '')).toLowerCase();
}

function isText(contentType: string): boolean {
    return contentType === '' || /^text\/|json|xml|x-www-form-urlencoded|javascript/.test(contentType);
}

function charsetOf(contentType: string): string {
    return /charset="?([^";\s]+)"?/.exec(contentType)?.[1] ?? 'utf-8';
}

function decode(body: Buffer, charset: string): string {
    // What TextDecoder's UTF-8 gives (invalid bytes as U+FFFD), at a fraction of its cost, unless a BOM is to be dropped.
    if (/^utf-?8$/i.test(charset) && !(body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf)) return body.toString('utf8');
    try {
        return new TextDecoder(charset).decode(body);
    } catch {
        // An unknown charset label: UTF-8 is the web's default and keeps ASCII intact.
        return new TextDecoder('utf-8').decode(body);
    }
}

export function viewResponse(response: ReceivedResponse): ResponseView {
    const contentType = contentTypeOf(response);
    const body = isText(contentType) ? decode(response.body, charsetOf(contentType)) : response.body;
    return { statusCode: response.statusCode, headers: response.headers, body, timeMs: response.timeMs };
}

/** `msg.payload` after a response: JSON parsed when the server says it is JSON, the body as it is otherwise. */
export function responsePayload(view: ResponseView): unknown {
    const value = view.headers['content-type'];
    const contentType = (Array.isArray(value) ? value[0] : (value ?? '')).toLowerCase();
    if (typeof view.body === 'string' && /[/+]json\b/.test(contentType) && view.body.trim() !== '') {
        try {
            return JSON.parse(view.body);
        } catch {
            return view.body;
        }
    }
    return view.body;
}
