/**
 * A regular-expression matcher whose running time is linear in the input, for patterns typed into flows.
 *
 * JavaScript's RegExp backtracks, so a pattern such as `(a+)+$` against a long run of `a`s can block Node's event
 * loop (and with it every flow) for minutes. A native engine (RE2) needs a compiler on the user's box, which small
 * Node-RED installs lack, and re2js (RE2 in plain JavaScript) does not keep the bound below: on inputs that make
 * its DFA build a state per character it took 30-40 ms a test at the sizes accepted here, its NFA about twice as
 * long as this one (bench/criteria-regex.ts). So patterns are compiled to a Thompson NFA and run by a Pike VM:
 * every input position visits each program instruction at most once, so a test costs at most (input length + 1) x
 * (program size) steps. That product is the worst case this module states: a pattern is accepted only if it stays
 * within STEP_BUDGET for the longest input it may see (maxInputLength), and a longer input is refused rather than
 * tested in part.
 *
 * The subset of JavaScript syntax (without flags `u`, `v`, `m`, `s`, `y`; ignoring case as the `i` flag does)
 * accepted:
 * - literals; escapes `\d \D \w \W \s \S \b \B \t \n \r \v \f \0 \xHH \uHHHH \cX` and any escaped punctuation;
 * - character classes `[abc]`, ranges `[a-z]`, negation `[^...]`, class escapes inside them;
 * - `.` (any character but a line terminator), anchors `^` and `$` (start and end of the input);
 * - groups `( )`, `(?: )` and `(?<name> )`, all treated as non-capturing; alternation `|`;
 * - quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted; for a yes/no test they mean the same),
 *   with counts up to MAX_REPEAT.
 * Refused at compile time, naming the position: backreferences (`\1`, `\k<name>`), lookahead and lookbehind,
 * unknown letter escapes, and patterns whose program would exceed MAX_PROGRAM_SIZE; refused with
 * RegexTooComplexError: patterns whose program size x (maxInputLength + 1) exceeds the step budget.
 */
import { classKey, codeUnitSetHas, resolveClass, type CharClass, type CharSet, type CodeUnitSet } from './regex-class';

const ASCII = 128;
export const MAX_PATTERN_LENGTH = 1000;
export const MAX_REPEAT = 100;
/** A hard stop while compiling, before the step budget is even looked at. */
export const MAX_PROGRAM_SIZE = 20000;
/**
 * The longest text a pattern is tested on, by default: the call-event-in bound on a text field
 * (DEFAULT_EVENT_LIMITS.maxTextLength). A longer value is not tested in part: the rule fails and says why.
 */
export const MAX_INPUT_LENGTH = 4096;
/**
 * Steps (instruction visits) one test may take at most: a pattern is accepted only if program size x
 * (MAX_INPUT_LENGTH + 1) stays within it. Measured on a 2-core box with Node 20: 80,000-115,000 steps per ms
 * on any text (a character costs the same whatever its class: regex-class.ts), so a test costs at most about 5 ms;
 * at 4096 characters that admits programs of 122 instructions
 * (`^(VIP|Gold)$` is 13, `\d{3}-\d{4}` is 9, `[a-z]{1,60}` is 121).
 */
export const STEP_BUDGET = 500_000;

export class RegexSyntaxError extends Error {
    /** 1-based character position in the pattern. */
    readonly position: number;
    readonly reason: string;

    constructor(reason: string, index: number) {
        super(`${reason} at position ${index + 1}`);
        this.name = 'RegexSyntaxError';
        this.reason = reason;
        this.position = index + 1;
    }
}

type Node =
    | { type: 'empty' }
    | { type: 'char'; cls: CharClass }
    | { type: 'assert'; kind: 'start' | 'end' | 'wordBoundary' | 'notWordBoundary' }
    | { type: 'concat'; parts: Node[] }
    | { type: 'alt'; options: Node[] }
    | { type: 'repeat'; body: Node; min: number; max: number };

const INFINITE = -1;

const DIGIT: Array<[number, number]> = [[0x30, 0x39]];
const WORD: Array<[number, number]> = [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
];
// The characters JavaScript's \s matches: WhiteSpace and LineTerminator of ECMA-262.
const SPACE: Array<[number, number]> = [
    [0x09, 0x0d],
    [0x20, 0x20],
    [0xa0, 0xa0],
    [0x1680, 0x1680],
    [0x2000, 0x200a],
    [0x2028, 0x2029],
    [0x202f, 0x202f],
    [0x205f, 0x205f],
    [0x3000, 0x3000],
    [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: Array<[number, number]> = [
    [0x0a, 0x0a],
    [0x0d, 0x0d],
    [0x2028, 0x2029],
];

function single(code: number): CharSet {
    return { ranges: [[code, code]], negated: false };
}

function inRanges(ranges: Array<[number, number]>, code: number): boolean {
    for (const [lo, hi] of ranges) if (code >= lo && code <= hi) return true;
    return false;
}

function isWordCode(code: number): boolean {
    return inRanges(WORD, code);
}

const SYNTAX_CHARACTERS = '^$\\.*+?()[]{}|/-';

class Parser {
    private index = 0;

    constructor(private readonly source: string) {}

    parse(): Node {
        const node = this.alternation();
        if (this.index < this.source.length) {
            // Only an unmatched ')' stops the top-level alternation early.
            throw new RegexSyntaxError('unmatched ")"', this.index);
        }
        return node;
    }

    private peek(offset = 0): string {
        return this.source.charAt(this.index + offset);
    }

    private atEnd(): boolean {
        return this.index >= this.source.length;
    }

    private alternation(): Node {
        const options = [this.sequence()];
        while (this.peek() === '|') {
            this.index++;
            options.push(this.sequence());
        }
        return options.length === 1 ? options[0] : { type: 'alt', options };
    }

    private sequence(): Node {
        const parts: Node[] = [];
        while (!this.atEnd() && this.peek() !== '|' && this.peek() !== ')') {
            parts.push(this.quantified(this.atom()));
        }
        if (parts.length === 0) return { type: 'empty' };
        return parts.length === 1 ? parts[0] : { type: 'concat', parts };
    }

    private quantified(atom: Node): Node {
        const quantifierStart = this.index;
        let min: number;
        let max: number;
        const char = this.peek();
        if (char === '*') {
            min = 0;
            max = INFINITE;
            this.index++;
        } else if (char === '+') {
            min = 1;
            max = INFINITE;
            this.index++;
        } else if (char === '?') {
            min = 0;
            max = 1;
            this.index++;
        } else if (char === '{') {
            const braces = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.index));
            // Like JavaScript without the u flag, a brace that does not form a quantifier is a literal.
            if (!braces) return atom;
            min = Number(braces[1]);
            max = braces[2] === undefined ? min : braces[3] === '' ? INFINITE : Number(braces[3]);
            if (min > MAX_REPEAT || max > MAX_REPEAT) {
                throw new RegexSyntaxError(`repeat count above ${MAX_REPEAT}`, quantifierStart);
            }
            if (max !== INFINITE && max < min) throw new RegexSyntaxError('numbers out of order in {} quantifier', quantifierStart);
            this.index += braces[0].length;
        } else {
            return atom;
        }
        if (atom.type === 'assert') throw new RegexSyntaxError('nothing to repeat', quantifierStart);
        if (this.peek() === '?') this.index++;
        if (this.peek() !== '' && '*+?'.includes(this.peek())) throw new RegexSyntaxError('nothing to repeat', this.index);
        return { type: 'repeat', body: atom, min, max };
    }

    private atom(): Node {
        const start = this.index;
        const char = this.peek();
        switch (char) {
            case '(':
                return this.group();
            case '[':
                return { type: 'char', cls: this.characterClass() };
            case '.':
                this.index++;
                return { type: 'char', cls: { items: [{ ranges: LINE_TERMINATORS, negated: true }], negated: false } };
            case '^':
                this.index++;
                return { type: 'assert', kind: 'start' };
            case '$':
                this.index++;
                return { type: 'assert', kind: 'end' };
            case '\\':
                return this.atomEscape();
            case '*':
            case '+':
            case '?':
                throw new RegexSyntaxError('nothing to repeat', start);
            case '{':
                if (/^\{\d+(,\d*)?\}/.test(this.source.slice(this.index))) throw new RegexSyntaxError('nothing to repeat', start);
                break;
        }
        this.index++;
        return { type: 'char', cls: { items: [single(char.charCodeAt(0))], negated: false } };
    }

    private group(): Node {
        const start = this.index;
        this.index++;
        if (this.peek() === '?') {
            const kind = this.source.slice(this.index, this.index + 3);
            if (kind.startsWith('?:')) {
                this.index += 2;
            } else if (kind.startsWith('?=') || kind.startsWith('?!') || kind === '?<=' || kind === '?<!') {
                throw new RegexSyntaxError('lookahead and lookbehind are not supported', start);
            } else if (kind.startsWith('?<')) {
                const name = /^\?<([A-Za-z_$][\w$]*)>/.exec(this.source.slice(this.index));
                if (!name) throw new RegexSyntaxError('invalid group name', start);
                this.index += name[0].length;
            } else {
                throw new RegexSyntaxError('invalid group', start);
            }
        }
        const body = this.alternation();
        if (this.peek() !== ')') throw new RegexSyntaxError('unterminated group', start);
        this.index++;
        return body;
    }

    private atomEscape(): Node {
        const start = this.index;
        const next = this.peek(1);
        if (next === 'b' || next === 'B') {
            this.index += 2;
            return { type: 'assert', kind: next === 'b' ? 'wordBoundary' : 'notWordBoundary' };
        }
        if (/[1-9]/.test(next)) throw new RegexSyntaxError('backreferences are not supported', start);
        if (next === 'k') throw new RegexSyntaxError('backreferences are not supported', start);
        return { type: 'char', cls: { items: [this.escapeSet(false)], negated: false } };
    }

    /** Reads an escape at `\`; inside a class `\b` is a backspace. */
    private escapeSet(inClass: boolean): CharSet {
        const start = this.index;
        const char = this.peek(1);
        if (char === '') throw new RegexSyntaxError('\\ at end of pattern', start);
        this.index += 2;
        switch (char) {
            case 'd':
                return { ranges: DIGIT, negated: false };
            case 'D':
                return { ranges: DIGIT, negated: true };
            case 'w':
                return { ranges: WORD, negated: false };
            case 'W':
                return { ranges: WORD, negated: true };
            case 's':
                return { ranges: SPACE, negated: false };
            case 'S':
                return { ranges: SPACE, negated: true };
            case 't':
                return single(0x09);
            case 'n':
                return single(0x0a);
            case 'v':
                return single(0x0b);
            case 'f':
                return single(0x0c);
            case 'r':
                return single(0x0d);
            case 'b':
                if (inClass) return single(0x08);
                break;
            case '0':
                if (/[0-9]/.test(this.peek())) throw new RegexSyntaxError('octal escapes are not supported', start);
                return single(0);
            case 'x': {
                const hex = /^[0-9A-Fa-f]{2}/.exec(this.source.slice(this.index));
                if (!hex) throw new RegexSyntaxError('\\x needs two hex digits', start);
                this.index += 2;
                return single(parseInt(hex[0], 16));
            }
            case 'u': {
                const hex = /^[0-9A-Fa-f]{4}/.exec(this.source.slice(this.index));
                if (!hex) throw new RegexSyntaxError('\\u needs four hex digits', start);
                this.index += 4;
                return single(parseInt(hex[0], 16));
            }
            case 'c': {
                const letter = /^[A-Za-z]/.exec(this.source.slice(this.index));
                if (!letter) throw new RegexSyntaxError('\\c needs a letter', start);
                this.index += 1;
                return single(letter[0].charCodeAt(0) % 32);
            }
        }
        if (SYNTAX_CHARACTERS.includes(char) || !/[A-Za-z0-9]/.test(char)) return single(char.charCodeAt(0));
        if (inClass && /[1-9]/.test(char)) throw new RegexSyntaxError('octal escapes are not supported', start);
        throw new RegexSyntaxError(`unknown escape \\${char}`, start);
    }

    private characterClass(): CharClass {
        const start = this.index;
        this.index++;
        let negated = false;
        if (this.peek() === '^') {
            negated = true;
            this.index++;
        }
        const items: CharSet[] = [];
        while (this.peek() !== ']') {
            if (this.atEnd()) throw new RegexSyntaxError('unterminated character class', start);
            const first = this.classAtom();
            if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
                const dash = this.index;
                this.index++;
                const last = this.classAtom();
                const lo = singleCode(first);
                const hi = singleCode(last);
                // As in JavaScript without the u flag, a range next to a class escape (\d-z) keeps '-' literal.
                if (lo === undefined || hi === undefined) {
                    items.push(first, single(0x2d), last);
                    continue;
                }
                if (lo > hi) throw new RegexSyntaxError('range out of order in character class', dash);
                items.push({ ranges: [[lo, hi]], negated: false });
                continue;
            }
            items.push(first);
        }
        this.index++;
        return { items, negated };
    }

    private classAtom(): CharSet {
        if (this.peek() === '\\') return this.escapeSet(true);
        const code = this.source.charCodeAt(this.index);
        this.index++;
        return single(code);
    }
}

function singleCode(set: CharSet): number | undefined {
    if (set.negated || set.ranges.length !== 1) return undefined;
    const [lo, hi] = set.ranges[0];
    return lo === hi ? lo : undefined;
}

const enum Op {
    Char,
    Split,
    Jump,
    Assert,
    Match,
}

type Instruction =
    | { op: Op.Char; cls: CharClass }
    | { op: Op.Split; first: number; second: number }
    | { op: Op.Jump; to: number }
    | { op: Op.Assert; kind: 'start' | 'end' | 'wordBoundary' | 'notWordBoundary' }
    | { op: Op.Match };

/** Thrown inside the compiler once the program outgrows what the step budget admits; compileSafeRegex reports it. */
class ProgramOverBudget extends Error {}

class Compiler {
    readonly program: Instruction[] = [];

    /** @param budgetSize the most instructions the step budget admits: compiling stops there, not at the end. */
    constructor(private readonly budgetSize: number) {}

    private emit(instruction: Instruction): number {
        if (this.program.length >= MAX_PROGRAM_SIZE) {
            throw new RegexSyntaxError(`pattern too large once its repeats are expanded (over ${MAX_PROGRAM_SIZE} instructions)`, 0);
        }
        if (this.program.length >= this.budgetSize) throw new ProgramOverBudget();
        this.program.push(instruction);
        return this.program.length - 1;
    }

    compile(node: Node): void {
        switch (node.type) {
            case 'empty':
                return;
            case 'char':
                this.emit({ op: Op.Char, cls: node.cls });
                return;
            case 'assert':
                this.emit({ op: Op.Assert, kind: node.kind });
                return;
            case 'concat':
                for (const part of node.parts) this.compile(part);
                return;
            case 'alt': {
                const jumps: number[] = [];
                node.options.forEach((option, index) => {
                    if (index < node.options.length - 1) {
                        const split = this.emit({ op: Op.Split, first: 0, second: 0 });
                        this.compile(option);
                        jumps.push(this.emit({ op: Op.Jump, to: 0 }));
                        this.patchSplit(split, split + 1, this.program.length);
                    } else {
                        this.compile(option);
                    }
                });
                for (const jump of jumps) (this.program[jump] as { to: number }).to = this.program.length;
                return;
            }
            case 'repeat':
                this.compileRepeat(node.body, node.min, node.max);
                return;
        }
    }

    private patchSplit(at: number, first: number, second: number): void {
        const split = this.program[at] as { first: number; second: number };
        split.first = first;
        split.second = second;
    }

    private compileRepeat(body: Node, min: number, max: number): void {
        for (let count = 0; count < min; count++) this.compile(body);
        if (max === INFINITE) {
            const split = this.emit({ op: Op.Split, first: 0, second: 0 });
            this.compile(body);
            this.emit({ op: Op.Jump, to: split });
            this.patchSplit(split, split + 1, this.program.length);
            return;
        }
        // x{0,k} as nested optionals x(x(x)?)?)?: each split may skip every remaining copy.
        const splits: number[] = [];
        for (let count = min; count < max; count++) {
            splits.push(this.emit({ op: Op.Split, first: 0, second: 0 }));
            this.compile(body);
        }
        for (const split of splits) this.patchSplit(split, split + 1, this.program.length);
    }

    finish(): Instruction[] {
        this.emit({ op: Op.Match });
        return this.program;
    }
}

export interface SafeRegexOptions {
    /** Default false: letters match either case, as a criteria rule compares text. */
    caseSensitive?: boolean;
    /** The longest input the pattern is tested on; default MAX_INPUT_LENGTH. */
    maxInputLength?: number;
    /** Steps one test may take at most; default STEP_BUDGET. */
    stepBudget?: number;
}

export interface SafeMatchResult {
    matched: boolean;
    /** Instructions visited: never above (input length + 1) x (program size), so never above the step budget. */
    steps: number;
}

export interface SafeRegex {
    readonly source: string;
    readonly caseSensitive: boolean;
    /** Number of instructions; a test visits each at most once per input position. */
    readonly programSize: number;
    /** Inputs longer than this are refused by run() and test(), never tested in part. */
    readonly maxInputLength: number;
    /** programSize x (maxInputLength + 1): the most steps one test can take; at most the step budget. */
    readonly worstCaseSteps: number;
    test(input: string): boolean;
    run(input: string): SafeMatchResult;
}

/** A pattern whose worst case (program size x longest input) is over the step budget. */
export class RegexTooComplexError extends Error {
    /**
     * @param programSize the instructions compiled before the compiler stopped: the program has more than this
     * (compiling stops at the first instruction over the budget, so a huge pattern costs no more to refuse)
     */
    constructor(
        readonly programSize: number,
        readonly maxInputLength: number,
        readonly stepBudget: number,
    ) {
        super(
            `pattern too complex: over ${programSize} instructions x ${maxInputLength + 1} input positions = ` +
                `over ${programSize * (maxInputLength + 1)} steps per message, the budget is ${stepBudget} ` +
                `(at most ${Math.floor(stepBudget / (maxInputLength + 1))} instructions: fewer alternatives, smaller {n,m} counts)`,
        );
        this.name = 'RegexTooComplexError';
    }
}

/** An input longer than the pattern's maxInputLength; callers check the length first and report it. */
export class RegexInputTooLongError extends Error {
    constructor(
        readonly inputLength: number,
        readonly maxInputLength: number,
    ) {
        super(`is ${inputLength} characters, over the ${maxInputLength} a regex is tested on`);
        this.name = 'RegexInputTooLongError';
    }
}

/** Compiles a pattern of the supported subset, or throws RegexSyntaxError naming the position of the fault. */
export function compileSafeRegex(source: string, options: SafeRegexOptions = {}): SafeRegex {
    if (source.length > MAX_PATTERN_LENGTH) throw new RegexSyntaxError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`, MAX_PATTERN_LENGTH);
    const maxInputLength = options.maxInputLength ?? MAX_INPUT_LENGTH;
    const stepBudget = options.stepBudget ?? STEP_BUDGET;
    const tree = new Parser(source).parse();
    const compiler = new Compiler(Math.floor(stepBudget / (maxInputLength + 1)));
    let program: Instruction[];
    try {
        compiler.compile(tree);
        program = compiler.finish();
    } catch (err) {
        if (err instanceof ProgramOverBudget) throw new RegexTooComplexError(compiler.program.length, maxInputLength, stepBudget);
        throw err;
    }
    const size = program.length;
    const caseSensitive = options.caseSensitive === true;

    // What each character instruction matches is decided here, once, so testing a character costs the same few
    // reads for any class and any text. A repeated atom shares its class; equal classes (every `.`) are resolved once.
    const byClass = new Map<CharClass, CodeUnitSet>();
    const byKey = new Map<string, CodeUnitSet>();
    const matchSets = program.map((instruction) => {
        if (instruction.op !== Op.Char) return undefined;
        let set = byClass.get(instruction.cls);
        if (!set) {
            const key = classKey(instruction.cls);
            set = byKey.get(key) ?? resolveClass(instruction.cls, caseSensitive);
            byKey.set(key, set);
            byClass.set(instruction.cls, set);
        }
        return set;
    });
    // Call data is mostly ASCII: a table per instruction is one read where the set takes two (measured: a worst-case
    // test on ASCII text about a third faster).
    const asciiTables = matchSets.map((set) => {
        if (!set) return undefined;
        const table = new Uint8Array(ASCII);
        for (let code = 0; code < ASCII; code++) table[code] = codeUnitSetHas(set, code) ? 1 : 0;
        return table;
    });

    function run(input: string): SafeMatchResult {
        if (input.length > maxInputLength) throw new RegexInputTooLongError(input.length, maxInputLength);
        // Generation marks make "already in this step's list" an O(1) check without clearing arrays.
        const marks = new Int32Array(size).fill(-1);
        // Each list holds each instruction at most once per position, so `size` slots always suffice.
        let current = new Int32Array(size);
        let next = new Int32Array(size);
        let currentCount = 0;
        let nextCount = 0;
        const stack = new Int32Array(size * 2 + 2);
        let steps = 0;

        // Follows jumps, splits and assertions from pc at position pos, adding character instructions to `next`
        // (or `current` at the start position); returns true when Match is reachable.
        const addThread = (toNext: boolean, pc: number, pos: number): boolean => {
            let top = 0;
            stack[top++] = pc;
            while (top > 0) {
                const at = stack[--top];
                if (marks[at] === pos) continue;
                marks[at] = pos;
                steps++;
                const instruction = program[at];
                switch (instruction.op) {
                    case Op.Jump:
                        stack[top++] = instruction.to;
                        break;
                    case Op.Split:
                        stack[top++] = instruction.second;
                        stack[top++] = instruction.first;
                        break;
                    case Op.Assert:
                        if (assertionHolds(instruction.kind, input, pos)) stack[top++] = at + 1;
                        break;
                    case Op.Match:
                        return true;
                    case Op.Char:
                        if (toNext) next[nextCount++] = at;
                        else current[currentCount++] = at;
                        break;
                }
            }
            return false;
        };

        for (let pos = 0; pos <= input.length; pos++) {
            // An unanchored search: a new thread starts at every position.
            if (addThread(false, 0, pos)) return { matched: true, steps };
            if (pos === input.length) break;
            const code = input.charCodeAt(pos);
            nextCount = 0;
            // Testing the character is part of the visit counted when the instruction was added.
            for (let index = 0; index < currentCount; index++) {
                const pc = current[index];
                // codeUnitSetHas, written out (see CodeUnitSet).
                const set = matchSets[pc] as CodeUnitSet;
                const hit = code < ASCII ? (asciiTables[pc] as Uint8Array)[code] === 1 : ((set[set[code >> 8] + ((code >> 5) & 7)] >>> (code & 31)) & 1) === 1;
                if (hit && addThread(true, pc + 1, pos + 1)) return { matched: true, steps };
            }
            [current, next] = [next, current];
            currentCount = nextCount;
        }
        return { matched: false, steps };
    }

    return {
        source,
        caseSensitive,
        programSize: size,
        maxInputLength,
        worstCaseSteps: size * (maxInputLength + 1),
        test: (input: string) => run(input).matched,
        run,
    };
}

function assertionHolds(kind: 'start' | 'end' | 'wordBoundary' | 'notWordBoundary', input: string, pos: number): boolean {
    switch (kind) {
        case 'start':
            return pos === 0;
        case 'end':
            return pos === input.length;
        default: {
            const before = pos > 0 && isWordCode(input.charCodeAt(pos - 1));
            const after = pos < input.length && isWordCode(input.charCodeAt(pos));
            return (before !== after) === (kind === 'wordBoundary');
        }
    }
}
