import Mustache from 'mustache';
import { callFieldText, findCallField } from '../call/call-fields';
import { CodedError } from '../errors/coded-error';
import { logText } from '../logging/log-text';
import { assertHeaderValue, escaperFor, type PlaceholderFormat } from './escaping';

/**
 * Characters one rendering may produce. Real bodies are a few KiB; 1 MiB leaves room for a call's lists rendered
 * many times over while keeping one message (or one preview) far from exhausting memory.
 */
export const MAX_RENDER_OUTPUT = 1024 * 1024;
/**
 * Tokens rendered plus sections entered by one rendering. A body over a call's lists (500 members, a few tokens
 * each) needs a few thousand; nested sections over a list grow exponentially with empty output too, and this stops
 * them. Measured with mustache 4.2 on a 2-core box (Node 20): about 4,000 steps per ms for a JSON body, so one
 * rendering stops within about 25 ms.
 */
export const MAX_RENDER_STEPS = 100_000;

export interface TemplateOptions {
    /** Names the template in error messages, e.g. `header "X-Caller"` or `URL parameter "q"`. */
    where?: string;
    /** Default MAX_RENDER_OUTPUT. */
    maxOutput?: number;
    /** Default MAX_RENDER_STEPS. */
    maxSteps?: number;
}

/** What one rendering cost, for callers (and tests) that check the bounds by count. */
export interface RenderWork {
    /** Tokens rendered plus sections entered. */
    steps: number;
    /** Characters produced so far. */
    output: number;
}

/** A rendering stopped because it would exceed its output or work budget; raised before the text is built. */
export class RenderBudgetError extends CodedError {
    constructor(
        readonly budget: 'output' | 'steps',
        readonly limit: number,
    ) {
        super(
            'render',
            budget === 'output'
                ? `rendering stopped: the output would exceed the budget of ${limit} characters`
                : `rendering stopped: over the budget of ${limit} steps (tokens rendered and sections entered); nested sections over a list multiply`,
        );
        this.name = 'RenderBudgetError';
    }
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
    /** Renders for a call; `work`, when given, receives what the rendering cost. Throws CodedError. */
    render(call: object, work?: RenderWork): string;
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

type WriterArgs = [context: Mustache.Context, partials?: Mustache.PartialsOrLookupFn, originalTemplate?: string, config?: Mustache.RenderOptions];

/**
 * mustache's own Writer with a meter: every leaf (text, value) counts its characters before it joins the output,
 * and every token list and section counts as work, so a budget stops a rendering before the big string exists.
 * Each output character comes from exactly one leaf, so the sum of leaves is the length of the result.
 */
class BudgetedWriter extends Mustache.Writer {
    private meter: RenderWork = { steps: 0, output: 0 };

    constructor(
        private readonly maxOutput: number,
        private readonly maxSteps: number,
    ) {
        super();
    }

    renderMetered(tokens: Token[], view: object, source: string, config: Mustache.RenderOptions, work: RenderWork): string {
        const outer = this.meter;
        this.meter = work;
        try {
            return this.renderTokens(tokens as unknown as string[][], new Mustache.Context(view), undefined, source, config);
        } finally {
            this.meter = outer;
        }
    }

    private spend(steps: number): void {
        this.meter.steps += steps;
        if (this.meter.steps > this.maxSteps) throw new RenderBudgetError('steps', this.maxSteps);
    }

    private emit<T>(value: T): T | string {
        if (value === undefined || value === null) return value;
        const text = typeof value === 'string' ? value : String(value);
        this.meter.output += text.length;
        if (this.meter.output > this.maxOutput) throw new RenderBudgetError('output', this.maxOutput);
        return text;
    }

    override renderTokens(tokens: string[][], ...rest: WriterArgs): string {
        this.spend(1 + tokens.length);
        return super.renderTokens(tokens, ...rest);
    }

    override renderSection(token: string[], ...rest: WriterArgs): string {
        const [context] = rest;
        // A lambda's returned text bypasses the leaves; only a msg.call built by a function node can hold one.
        const lambda = typeof context.lookup(token[1]) === 'function';
        const text = super.renderSection(token, ...rest);
        return lambda ? (this.emit(text) as string) : text;
    }

    override unescapedValue(token: string[], context: Mustache.Context): string {
        return this.emit(super.unescapedValue(token, context)) as string;
    }

    override escapedValue(token: string[], context: Mustache.Context, config?: Mustache.RenderOptions): string {
        return this.emit(super.escapedValue(token, context, config)) as string;
    }

    override rawValue(token: string[]): string {
        return this.emit(super.rawValue(token)) as string;
    }
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
    const writer = new BudgetedWriter(options.maxOutput ?? MAX_RENDER_OUTPUT, options.maxSteps ?? MAX_RENDER_STEPS);
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
        render(call: object, work: RenderWork = { steps: 0, output: 0 }): string {
            const callId = (call as { callId?: unknown }).callId;
            let text: string;
            try {
                text = writer.renderMetered(tokens, viewOf(call), source, config, work);
            } catch (err) {
                const reason = err instanceof Error ? err.message : String(err);
                const code = err instanceof CodedError ? err.code : 'render';
                throw new CodedError(code, `${where} of call ${logText(callId)}: ${reason}`, { cause: err });
            }
            if (format === 'header') assertHeaderValue(where, text, typeof callId === 'string' ? callId : undefined);
            return text;
        },
    };
}
