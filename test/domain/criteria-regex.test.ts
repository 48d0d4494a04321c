import assert from 'node:assert/strict';
import { compileSafeRegex, MAX_INPUT_LENGTH, MAX_REPEAT, RegexInputTooLongError, RegexSyntaxError } from '../../src/criteria/safe-regex';

// Ordinary patterns and inputs: the safe engine must answer exactly as RegExp does (flags '' and 'i').
const AGREEMENT: Array<[string, string[]]> = [
    ['abc', ['abc', 'xabcx', 'ab', 'ABC', '']],
    ['^abc$', ['abc', 'abcd', ' abc', 'ABC']],
    ['^$', ['', 'a']],
    ['a|b|cd', ['a', 'c', 'cd', 'xcdx', 'e']],
    ['^(ab|cd)+$', ['abcd', 'abab', 'abc', '', 'cdab']],
    ['colou?r', ['color', 'colour', 'colouur']],
    ['^a*$', ['', 'aaaa', 'aab']],
    ['^a+b?$', ['a', 'ab', 'b', 'aab', 'abb']],
    ['^\\d{3}-\\d{4}$', ['555-1234', '55-1234', '555-12345', 'abc-defg']],
    ['^\\d{2,4}$', ['1', '12', '1234', '12345']],
    ['^x{2,}$', ['x', 'xx', 'xxxxxx']],
    ['^(?:a|b){0,3}c', ['c', 'abc', 'ababc', 'aaac', 'dc']],
    ['\\w+@\\w+\\.com', ['me@host.com', 'me@host.org', '@host.com']],
    ['\\bSales\\b', ['Sales', 'Inside Sales team', 'Salesforce', 'PreSales']],
    ['\\Bales', ['Sales', 'ales']],
    ['[a-c]+z', ['abcz', 'dz', 'ABZ', 'cz']],
    ['[^0-9]', ['123', '12a3', '']],
    ['^[\\d.]+$', ['1.2.3', '1,2']],
    ['[\\w-]+', ['---', '!!!']],
    ['^\\s*VIP\\s*$', ['  VIP ', 'VIP', 'V I P', '\tvip\n']],
    ['\\S\\D\\W', ['a1!', 'ab!', 'a b']],
    ['a.c', ['abc', 'a\nc', 'ac', 'a-c']],
    ['\\.', ['a.b', 'ab']],
    ['\\(\\d+\\)$', ['John Doe (154)', 'John Doe 154']],
    ['^\\+1\\d{10}$', ['+18015550000', '18015550000']],
    ['\\x41\\u0042', ['AB', 'ab', 'A B']],
    ['a{', ['a{', 'a']],
    ['x}', ['x}', 'x']],
    ['[]', ['', 'a']],
    ['[^]', ['', 'a']],
    ['(a|ab)(c|bcd)(d*)$', ['abcd', 'abcdd', 'acd']],
    ['^(?<area>\\d{3})-', ['801-555', '80-555']],
    ['caf[eé]', ['café', 'CAFÉ', 'cafe']],
    ['^[A-Z][a-z]+, [A-Z]{2}$', ['Salt Lake City, UT', 'Provo, UT', 'provo, ut', 'Provo, Utah']],
    ['a??b', ['ab', 'b', 'aab']],
    ['^(a*)*$', ['', 'aaa', 'aab']],
    ['(|a)+b', ['b', 'ab', 'aab', 'a']],
    // Ignoring case as the i flag does: equal upper cases, never a character outside ASCII for one inside it,
    // and [^...] the complement of what the class matches once case is ignored.
    ['^[^k]$', ['k', 'K', 'x']],
    ['^k$', ['\u212a', 'K']],
    ['^\\w+$', ['ſ', 'ı', '\u212a', 'Straße']],
    ['^σ$', ['ς', 'Σ']],
    ['^µ$', ['Μ', 'μ']],
    ['^[^a-z]+$', ['ABC', '123', 'abc']],
    ['^[α-ω]+$', ['ΑΒΓ', 'ϐ', 'αβγ']],
    ['^[^ａ-ｚ]$', ['Ａ', 'ａ', 'a']],
];

describe('safe regex: agreement with RegExp on ordinary patterns', () => {
    for (const [pattern, inputs] of AGREEMENT) {
        for (const flags of ['', 'i']) {
            it(`/${pattern}/${flags}`, () => {
                const safe = compileSafeRegex(pattern, { caseSensitive: flags === '' });
                const native = new RegExp(pattern, flags);
                for (const input of inputs) {
                    assert.equal(safe.test(input), native.test(input), `${JSON.stringify(input)} against /${pattern}/${flags}`);
                }
            });
        }
    }

    it('matches every UTF-16 code unit as RegExp does, for classes with and without case', () => {
        for (const cls of ['k', 'σ', '\\w', '\\W', '[^a-z]', '[α-ω]', '[^\\u0100-\\u017f]', '.', '\\s']) {
            for (const flags of ['', 'i']) {
                const safe = compileSafeRegex(`^${cls}$`, { caseSensitive: flags === '' });
                const native = new RegExp(`^${cls}$`, flags);
                for (let code = 0; code <= 0xffff; code++) {
                    const text = String.fromCharCode(code);
                    if (safe.test(text) !== native.test(text)) assert.fail(`U+${code.toString(16)} against /${cls}/${flags}`);
                }
            }
        }
    });

    it('a class of hundreds of characters outside ASCII, repeated, answers as RegExp does', () => {
        // The widest class a pattern can hold: 985 separate code units, every other one from U+4E00.
        const members = Array.from({ length: 985 }, (_, index) => String.fromCharCode(0x4e00 + index * 2)).join('');
        const pattern = `[${members}]{100}!`;
        const input = Array.from({ length: MAX_INPUT_LENGTH - 1 }, (_, index) => members[(index * 7919) % members.length]).join('');
        for (const flags of ['', 'i']) {
            const safe = compileSafeRegex(pattern, { caseSensitive: flags === '' });
            const native = new RegExp(pattern, flags);
            for (const text of [input, `${input}!`, `${input.slice(0, 99)}\u4e01!`]) assert.equal(safe.test(text), native.test(text));
        }
    });

    it('ignores case by default and respects caseSensitive', () => {
        assert.equal(compileSafeRegex('^inbound$').test('Inbound'), true);
        assert.equal(compileSafeRegex('^inbound$', { caseSensitive: true }).test('Inbound'), false);
        assert.equal(compileSafeRegex('[a-z]+', { caseSensitive: false }).test('SALES'), true);
    });
});

describe('safe regex: hostile patterns finish in bounded steps', () => {
    // Each of these makes a backtracking engine take exponential (or high polynomial) time on these inputs.
    const HOSTILE: Array<[string, string, boolean]> = [
        ['(a+)+$', 'a'.repeat(4_000) + '!', false],
        ['(a|a)*b', 'a'.repeat(4_096), false],
        ['(.*a){20}', 'a'.repeat(4_000) + 'b', true],
        ['(.*a){20}$', 'a'.repeat(19) + 'b'.repeat(4_000), false],
        ['^(\\w+\\s?)*$', 'word '.repeat(800) + '!', false],
        ['(x+x+)+y', 'x'.repeat(4_096), false],
        ['^(a?){30}a{30}$', 'a'.repeat(30), true],
    ];
    for (const [pattern, input, expected] of HOSTILE) {
        it(`/${pattern}/ on ${input.length} characters`, () => {
            const regex = compileSafeRegex(pattern);
            const result = regex.run(input);
            assert.equal(result.matched, expected);
            // The Pike VM's guarantee: each position visits each instruction at most once.
            const bound = (input.length + 1) * regex.programSize;
            assert.ok(result.steps <= bound, `${result.steps} steps > bound ${bound}`);
            assert.ok(result.steps <= regex.worstCaseSteps);
        });
    }

    // Until 0.1.0 only the first 64 KiB were tested: a partial test can pass or fail wrongly, so it is refused.
    it('refuses an input longer than MAX_INPUT_LENGTH instead of testing a part of it', () => {
        const regex = compileSafeRegex('b');
        assert.equal(regex.maxInputLength, MAX_INPUT_LENGTH);
        assert.throws(() => regex.run('a'.repeat(MAX_INPUT_LENGTH) + 'b'), RegexInputTooLongError);
        assert.equal(regex.test('a'.repeat(MAX_INPUT_LENGTH - 1) + 'b'), true);
    });

    it('$ means the real end of an input of exactly MAX_INPUT_LENGTH characters', () => {
        const input = 'a'.repeat(MAX_INPUT_LENGTH - 1) + '!';
        assert.equal(compileSafeRegex('(a+)+$').test(input), false);
        assert.equal(compileSafeRegex('^a+!$').test(input), true);
    });
});

describe('safe regex: refuses what it does not support, naming the position', () => {
    const REFUSED: Array<[string, RegExp]> = [
        ['(a)\\1', /^backreferences are not supported at position 4$/],
        ['(?<x>a)\\k<x>', /^backreferences are not supported at position 8$/],
        ['a(?=b)', /^lookahead and lookbehind are not supported at position 2$/],
        ['a(?!b)', /^lookahead and lookbehind are not supported at position 2$/],
        ['(?<=a)b', /^lookahead and lookbehind are not supported at position 1$/],
        ['(?<!a)b', /^lookahead and lookbehind are not supported at position 1$/],
        ['(ab', /^unterminated group at position 1$/],
        ['ab)', /^unmatched "\)" at position 3$/],
        ['[abc', /^unterminated character class at position 1$/],
        ['[z-a]', /^range out of order in character class at position 3$/],
        ['*a', /^nothing to repeat at position 1$/],
        ['a**', /^nothing to repeat at position 3$/],
        ['^*', /^nothing to repeat at position 2$/],
        ['a{3,2}', /^numbers out of order in \{\} quantifier at position 2$/],
        [`a{${MAX_REPEAT + 1}}`, /^repeat count above 100 at position 2$/],
        ['\\q', /^unknown escape \\q at position 1$/],
        ['abc\\', /^\\ at end of pattern at position 4$/],
        ['x'.repeat(1001), /^pattern longer than 1000 characters/],
    ];
    for (const [pattern, message] of REFUSED) {
        it(pattern.length > 40 ? `${pattern.slice(0, 40)}...` : pattern, () => {
            assert.throws(
                () => compileSafeRegex(pattern),
                (err: unknown) => err instanceof RegexSyntaxError && message.test(err.message),
            );
        });
    }

    // The step budget refuses such a pattern long before (test/domain/criteria-budget.test.ts); this is the hard stop.
    it('((((a{100}){100}){100}){100}) even without a step budget', () => {
        assert.throws(
            () => compileSafeRegex('((((a{100}){100}){100}){100})', { stepBudget: Infinity }),
            (err: unknown) => err instanceof RegexSyntaxError && /^pattern too large/.test(err.message),
        );
    });
});
