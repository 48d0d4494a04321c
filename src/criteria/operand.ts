import { callFieldText, type CallFieldKind } from '../call/call-fields';
import { isOrdering, type CriteriaOperator } from './operators';

/**
 * A rule's value, parsed for its field kind and operator. Parsing happens on deploy for a plain value, and on each
 * message for a value that is a template (its text is only known once rendered).
 */
export type Operand =
    | { type: 'text'; text: string }
    | { type: 'texts'; texts: string[] }
    | { type: 'number'; number: number | undefined }
    | { type: 'numbers'; numbers: number[] }
    | { type: 'flag'; flag: boolean | undefined };

/** A value that cannot be an operand; the caller adds which rule and whether it is a deploy or message fault. */
export class OperandError extends Error {}

/** Splits an in / notIn value: "Sales, Support" -> ["Sales", "Support"]. */
export function splitCommaList(text: string): string[] {
    return text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
}

export function parseNumber(text: string): number {
    const trimmed = text.trim();
    const number = Number(trimmed);
    if (trimmed === '' || !Number.isFinite(number)) throw new OperandError(`"${text}" is not a number`);
    return number;
}

/** A time is ms since 1970-01-01 UTC, as msg.call.time carries it, or an ISO 8601 date. */
export function parseTime(text: string): number {
    const trimmed = text.trim();
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    // Date.parse also takes loose forms such as "1 2 3"; only ISO 8601 dates are promised in the help.
    const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed);
    const ms = iso ? Date.parse(trimmed) : NaN;
    if (!Number.isFinite(ms)) throw new OperandError(`"${text}" is not a time (ms since 1970-01-01 UTC or an ISO date such as 2024-11-24T21:00:00Z)`);
    return ms;
}

function parseFlag(text: string): boolean {
    const lower = text.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new OperandError(`"${text}" is not true or false`);
}

/**
 * Parses a rule value. An empty text (a template that rendered nothing) gives an operand that behaves like a
 * missing value: ordering comparisons are false with it.
 */
export function parseOperand(kind: CallFieldKind, op: CriteriaOperator, text: string): Operand {
    // "agentExtension gte 200": an ordering operator on a text field compares numbers.
    const numeric = kind === 'number' || kind === 'time' || (kind === 'text' && isOrdering(op));
    const parse = kind === 'time' ? parseTime : parseNumber;
    if (op === 'in' || op === 'notIn') {
        const items = splitCommaList(text);
        return numeric ? { type: 'numbers', numbers: items.map(parse) } : { type: 'texts', texts: items };
    }
    if (numeric) return { type: 'number', number: text.trim() === '' ? undefined : parse(text) };
    if (kind === 'flag') return { type: 'flag', flag: text.trim() === '' ? undefined : parseFlag(text) };
    return { type: 'text', text };
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * A text field's value as a number, for the ordering operators: plain decimal notation only, so "0x1F", "1e3" or
 * "Infinity" (which Number() would take) do not pass as an extension. Throws OperandError saying why not.
 */
export function readDecimal(text: string): number {
    const trimmed = text.trim();
    if (!DECIMAL.test(trimmed)) throw new OperandError(`"${text}" is not a number`);
    return Number(trimmed);
}

/** How a call's field value is seen by the operators, per field kind. */
export type Actual =
    | { type: 'text'; text: string; missing: boolean }
    | { type: 'list'; members: string[]; missing: boolean }
    /** number is NaN when the call holds something that is not a number (no ordering comparison holds). */
    | { type: 'number'; number: number; missing: boolean }
    | { type: 'flag'; flag: boolean; missing: boolean };

/**
 * callFieldText, for values from any flow: an object without a prototype (or with a throwing toString) has no
 * text form, and a rule must still give an answer for it rather than throw out of the node.
 */
export function fieldText(value: unknown): string {
    try {
        return callFieldText(value);
    } catch {
        return Object.prototype.toString.call(value);
    }
}

function isMissing(value: unknown): boolean {
    return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

export function readActual(kind: CallFieldKind, value: unknown): Actual {
    const missing = isMissing(value);
    switch (kind) {
        case 'list': {
            // The call model carries arrays; a custom mapping may have produced the rendered "a, b" form instead.
            const members = Array.isArray(value) ? value.map(fieldText) : typeof value === 'string' ? splitCommaList(value) : missing ? [] : [fieldText(value)];
            return { type: 'list', members, missing };
        }
        case 'number':
        case 'time': {
            let number = NaN;
            if (typeof value === 'number') number = value;
            else if (typeof value === 'string' && !missing) {
                try {
                    number = kind === 'time' ? parseTime(value) : parseNumber(value);
                } catch {
                    number = NaN;
                }
            }
            return { type: 'number', number, missing };
        }
        case 'flag':
            return { type: 'flag', flag: value === true || value === 'true', missing };
        default:
            return { type: 'text', text: fieldText(value), missing };
    }
}
