// How long one criteria regex test takes at the stated caps (a 4,096-character value, the largest pattern the
// budget accepts), on the built-in engine and on re2js. A measurement, not a test: run it by hand on the machine
// whose numbers the README quotes (`node --require tsx/cjs bench/criteria-regex.ts`).
import { performance } from 'node:perf_hooks';
import { RE2JS } from 're2js';
import { compileSafeRegex, MAX_INPUT_LENGTH } from '../src/criteria/safe-regex';

interface Case {
    name: string;
    pattern: string;
    caseSensitive: boolean;
    /** A fresh input per run: a DFA keeps the states an input built, so repeating one input would hide its cost. */
    input: (run: number) => string;
}

// A seeded generator, so runs of this script compare.
function randomText(seed: number, alphabet: string, length: number): string {
    let state = seed * 2654435761 + 1;
    let text = '';
    for (let index = 0; index < length; index++) {
        state = (state * 1103515245 + 12345) % 2147483648;
        text += alphabet[Math.floor((state / 2147483648) * alphabet.length)];
    }
    return text;
}

const LENGTH = MAX_INPUT_LENGTH;
const WIDE_CLASS = Array.from({ length: 985 }, (_, index) => String.fromCharCode(0x4e00 + index * 2)).join('');

/** The text with its last character replaced, and a 'b' 102 characters from the end so nothing matches there. */
function withTail(text: string, last: string): string {
    return text.slice(0, LENGTH - 102) + 'b' + text.slice(LENGTH - 101, LENGTH - 1) + last;
}
const CASES: Case[] = [
    { name: 'ordinary ^(Sales|Support)$', pattern: '^(Sales|Support)$', caseSensitive: false, input: () => 'Support' },
    { name: 'ordinary \\d{3}-\\d{4} in 4096', pattern: '\\d{3}-\\d{4}', caseSensitive: false, input: (run) => randomText(run, 'abc 12-', LENGTH) },
    { name: '(a|aa)*b on a*4096', pattern: '(a|aa)*b', caseSensitive: false, input: () => 'a'.repeat(LENGTH) },
    // The input holds every literal the pattern needs, so re2js's prefilter cannot skip the search.
    { name: 'VM worst (a|b)*a{100}b{15} on a*4095 b', pattern: '(a|b)*a{100}b{15}', caseSensitive: true, input: () => 'a'.repeat(LENGTH - 1) + 'b' },
    // Every character of a random a/b text leads the DFA to a state it has not built: 2^100 reachable states.
    {
        name: 'DFA worst [ab]*a[ab]{100}c random ab',
        pattern: '[ab]*a[ab]{100}c',
        caseSensitive: true,
        input: (run) => withTail(randomText(run, 'ab', LENGTH), 'c'),
    },
    { name: 'DFA worst, case-insensitive', pattern: '[ab]*a[ab]{100}c', caseSensitive: false, input: (run) => withTail(randomText(run, 'abAB', LENGTH), 'C') },
    {
        name: 'DFA worst, no literal [ab]*a[ab]{100}$',
        pattern: '[ab]*a[ab]{100}$',
        caseSensitive: true,
        input: (run) => withTail(randomText(run, 'ab', LENGTH), 'b'),
    },
    { name: 'DFA worst .*a.{100}!', pattern: '.*a.{100}!', caseSensitive: true, input: (run) => withTail(randomText(run, 'ab', LENGTH), '!') },
    {
        name: 'DFA worst, non-Latin-1 text',
        pattern: '[α-ω]*α[α-ω]{100}!',
        caseSensitive: false,
        input: (run) => withTail(randomText(run, 'αβΑΒ', LENGTH), '!'),
    },
    // The VM's worst case again, on letters outside Latin-1 with case folding: its slower path for a character.
    {
        name: 'VM worst, folded non-Latin-1 (α|β)*α{100}β{15}',
        pattern: '(α|β)*α{100}β{15}',
        caseSensitive: false,
        input: () => 'α'.repeat(LENGTH - 1) + 'β',
    },
    // Each step tests a class of 985 separate code units outside ASCII: what a step costs, not how many there are.
    {
        name: 'wide class [985 CJK]{100}! (993 chars)',
        pattern: `[${WIDE_CLASS}]{100}!`,
        caseSensitive: false,
        input: (run) => withTail(randomText(run, WIDE_CLASS, LENGTH), '!'),
    },
    { name: 'DFA worst with \\b', pattern: '(\\b[ab]|[ab])*a[ab]{50}\\b!', caseSensitive: true, input: (run) => withTail(randomText(run, 'ab ', LENGTH), '!') },
    // Case folding: k also folds to the Kelvin sign, s to the long s; classes of letters fold to many ranges.
    {
        name: 'DFA worst, folded letters [a-z]*k[a-z]{100}!',
        pattern: '[a-z]*k[a-z]{100}!',
        caseSensitive: false,
        input: (run) => withTail(randomText(run, 'kKsS', LENGTH), '!'),
    },
];

interface Timing {
    median: number;
    p90: number;
    max: number;
}

const RUNS = 41;
const WARM_UP = 5;

function timeRuns(test: (input: string) => boolean, input: (run: number) => string): Timing {
    for (let run = 0; run < WARM_UP; run++) test(input(1000 + run));
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
        const text = input(run);
        const start = performance.now();
        test(text);
        times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(RUNS / 2)], p90: times[Math.floor(RUNS * 0.9)], max: times[RUNS - 1] };
}

function format(result: Timing | string): string {
    return typeof result === 'string' ? result : `${result.median.toFixed(2)} / ${result.p90.toFixed(2)} / ${result.max.toFixed(2)}`;
}

function measure(name: string, build: () => (input: string) => boolean, input: (run: number) => string): Timing | string {
    try {
        return timeRuns(build(), input);
    } catch (err) {
        return `refused (${name}: ${(err as Error).message.slice(0, 40)})`;
    }
}

console.log(`node ${process.version}, ${RUNS} runs per case, ms median / p90 / max`);
for (const entry of CASES) {
    const flags = entry.caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE;
    const builtIn = measure(
        'built-in',
        () => {
            const regex = compileSafeRegex(entry.pattern, { caseSensitive: entry.caseSensitive });
            return (input) => regex.test(input);
        },
        entry.input,
    );
    const re2Test = measure(
        're2js',
        () => {
            const regex = RE2JS.compile(entry.pattern, flags);
            return (input) => regex.test(input);
        },
        entry.input,
    );
    const re2Find = measure(
        're2js',
        () => {
            const regex = RE2JS.compile(entry.pattern, flags);
            return (input) => regex.matcher(input).find();
        },
        entry.input,
    );
    const size = (() => {
        try {
            return RE2JS.compile(entry.pattern, flags).programSize();
        } catch {
            return '-';
        }
    })();
    console.log(
        `${entry.name.padEnd(40)} re2 size ${String(size).padStart(4)}  built-in ${format(builtIn).padEnd(14)} re2js test() ${format(re2Test).padEnd(14)} find() ${format(re2Find)}`,
    );
}

// Compiling happens once per deploy, but a 1,000-character pattern is still typed by someone.
const LONG_PATTERNS = ['((a{100}){100}){100}', 'a{100}'.repeat(166), '(?:[a-z]{1,100}){1,9}', `(${'x|'.repeat(499)}y)`];
for (const pattern of LONG_PATTERNS) {
    const start = performance.now();
    let outcome: string;
    try {
        outcome = `size ${RE2JS.compile(pattern).programSize()}`;
    } catch (err) {
        outcome = `refused: ${(err as Error).message.slice(0, 60)}`;
    }
    console.log(`re2js compile ${pattern.slice(0, 30).padEnd(30)} ${pattern.length} chars: ${(performance.now() - start).toFixed(1)} ms, ${outcome}`);
}
