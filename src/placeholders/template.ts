import Mustache from 'mustache';
import { callFieldText, findCallField } from '../call/call-fields';
import { CodedError } from '../errors/coded-error';
import { assertHeaderValue, escaperFor, type PlaceholderFormat } from './escaping';

export interface TemplateOptions {
    /** Names the template in error messages, e.g. `header "X-Caller"` or `URL parameter "q"`. */
    where?: string;
}

/** A template that does not parse, with the position of the fault (1-based line and column). */
export class TemplateSyntaxError extends CodedError {
    readonly line: number;
    readonly column: number;

    constructor(where: string, reason: string, line: number, column: number) {
        super('template', `${where}: ${reason} at line ${line}, column ${column}`);
        this.name = 'TemplateSyntaxError';
        this.line = line;
        this.column = column;
    }
}

export interface CompiledTemplate {
    readonly source: string;
    readonly format: PlaceholderFormat;
    /** Names used in the template that are not call placeholders: most often a typo that renders empty. */
    readonly unknownNames: readonly string[];
    /** True when the template has no tags at all, i.e. it is plain text. */
    readonly isPlainText: boolean;
    render(call: object): string;
}

// Token types from mustache's parser that look a name up in the view.
const NAME_TOKENS = new Set(['name', '&', '#', '^']);

type Token = [string, string, number, number, Token[]?, number?];

function positionOf(source: string, index: number): { line: number; column: number } {
    const before = source.slice(0, Math.max(0, Math.min(index, source.length)));
    const lines = before.split('\n');
    return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * mustache reports an unclosed tag or section at the end of the template, where it gave up; the user needs the
 * place it was opened.
 */
function faultIndex(source: string, reason: string, reportedIndex: number): number {
    if (reason === 'Unclosed tag') {
        const opening = source.lastIndexOf('{{', reportedIndex);
        return opening >= 0 ? opening : reportedIndex;
    }
    const section = /^Unclosed section "(.*)"$/.exec(reason);
    if (section) {
        const openers = [...source.matchAll(new RegExp(`\\{\\{\\s*[#^]\\s*${escapeRegExp(section[1])}\\s*\\}\\}`, 'g'))];
        if (openers.length > 0) return openers[openers.length - 1].index ?? reportedIndex;
    }
    return reportedIndex;
}

function collectNames(tokens: Token[], into: Set<string>): void {
    for (const token of tokens) {
        if (NAME_TOKENS.has(token[0])) into.add(token[1]);
        if (token[4]) collectNames(token[4], into);
    }
}

function findPartial(tokens: Token[]): Token | undefined {
    for (const token of tokens) {
        if (token[0] === '>') return token;
        const nested = token[4] && findPartial(token[4]);
        if (nested) return nested;
    }
    return undefined;
}

/**
 * The view a template renders from: call fields as the product shows them (lists as "a, b"), other values of
 * msg.call as they are so sections over nested data still work.
 */
function viewOf(call: object): Record<string, unknown> {
    const view: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(call)) {
        view[key] = Array.isArray(value) && findCallField(key) ? callFieldText(value) : value;
    }
    return view;
}

/**
 * Parses a Mustache template once and returns a renderer that escapes every `{{value}}` for where it lands.
 * `{{{value}}}` (or `{{& value}}`) is the explicit opt-out of escaping; header values are checked whatever the tags.
 */
export function compileTemplate(source: string, format: PlaceholderFormat, options: TemplateOptions = {}): CompiledTemplate {
    const where = options.where ?? 'template';
    if (typeof source !== 'string') throw new CodedError('template', `${where}: must be text, got ${typeof source}`);
    // A writer of our own keeps the parsed tokens with this template instead of in mustache's global cache.
    const writer = new Mustache.Writer();
    let tokens: Token[];
    try {
        tokens = writer.parse(source) as Token[];
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const at = /^(.*) at (\d+)$/.exec(message);
        const reason = at ? at[1] : message;
        const { line, column } = positionOf(source, faultIndex(source, reason, at ? Number(at[2]) : 0));
        throw new TemplateSyntaxError(where, reason.replace(/^U/, 'u'), line, column);
    }
    const partial = findPartial(tokens);
    if (partial) {
        const { line, column } = positionOf(source, partial[2]);
        throw new TemplateSyntaxError(where, `partials ({{> ${partial[1]}}}) are not supported`, line, column);
    }
    const names = new Set<string>();
    collectNames(tokens, names);
    const unknownNames = [...names].filter((name) => name !== '.' && !findCallField(name.split('.')[0]));
    const escape = escaperFor(format);
    const config = { escape: (value: unknown) => escape(callFieldText(value)) };

    return {
        source,
        format,
        unknownNames,
        isPlainText: tokens.every((token) => token[0] === 'text'),
        render(call: object): string {
            const callId = (call as { callId?: unknown }).callId;
            let text: string;
            try {
                text = writer.renderTokens(tokens as unknown as string[][], new Mustache.Context(viewOf(call)), undefined, source, config);
            } catch (err) {
                const reason = err instanceof Error ? err.message : String(err);
                const code = err instanceof CodedError ? err.code : 'render';
                throw new CodedError(code, `${where} of call ${String(callId)}: ${reason}`, { cause: err });
            }
            if (format === 'header') assertHeaderValue(where, text, typeof callId === 'string' ? callId : undefined);
            return text;
        },
    };
}
