// A call id is the platform's text: it may hold ":", "*", spaces, newlines or lone surrogates, which Redis would store
// as they are (":" and glob characters confuse whoever reads the keys) or as U+FFFD (two ids, one key). Plain ids,
// the UUIDs platforms send, are used as they are so keys stay readable; any other is its JSON in base64url, which
// keeps a lone surrogate apart and can be read back. The "~" that marks the second kind is never in a plain one.
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ENCODED = '~';

/** The form of `text` used inside a key and as a sorted-set member. */
export function keyPartOf(text: string): string {
    return PLAIN.test(text) ? text : ENCODED + Buffer.from(JSON.stringify(text), 'utf8').toString('base64url');
}

/** The text a key part stands for (the inverse of keyPartOf). */
export function textOfKeyPart(part: string): string {
    if (!part.startsWith(ENCODED)) return part;
    return JSON.parse(Buffer.from(part.slice(ENCODED.length), 'base64url').toString('utf8')) as string;
}
