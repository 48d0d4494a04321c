import { CodedError } from '../errors/coded-error';

/** Parses a rendered JSON body, naming what was rendered and where it went wrong when it is not JSON. */
export function parseRenderedJson(text: string, where: string): unknown {
    try {
        return JSON.parse(text);
    } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new CodedError('json', `${where}: the rendered text is not valid JSON (${reason})`, { cause: err });
    }
}
