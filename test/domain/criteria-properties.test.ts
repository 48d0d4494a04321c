// Random rule sets and random calls thrown at the criteria compiler and evaluator: bounded in runs and sizes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CALL_FIELDS } from '../../src/call/call-fields';
import { compileCriteria, CriteriaConfigError, type CompiledCriteria } from '../../src/criteria/compile';
import { evaluateCriteria, type CriteriaWork } from '../../src/criteria/evaluate';
import { OPERATORS } from '../../src/criteria/operators';
import { STEP_BUDGET } from '../../src/criteria/safe-regex';
import { CodedError, InputError } from '../../src/errors/coded-error';

const REGEX_PIECES = [
    'a',
    'b',
    'é',
    '(',
    ')',
    '(?:',
    '|',
    '*',
    '+',
    '?',
    '{2}',
    '{1,5}',
    '{0,99}',
    '[a-z]',
    '[^0-9]',
    '\\d',
    '\\w',
    '\\b',
    '.',
    '^',
    '$',
    '\\',
    '{',
    '}',
    ']',
    '-',
    '(a|b)*',
];
const TEMPLATE_PIECES = ['{{agentName}}', '{{duration}}', '{{nope}}', '{{#tags}}', '{{/tags}}', '{{', '}}', '200', ' ', ','];

const regexish = fc.array(fc.constantFrom(...REGEX_PIECES), { maxLength: 24 }).map((pieces) => pieces.join(''));
const templateish = fc.array(fc.constantFrom(...TEMPLATE_PIECES), { maxLength: 6 }).map((pieces) => pieces.join(''));
const fieldName = fc.oneof(fc.constantFrom(...CALL_FIELDS.map((field) => field.name)), fc.string({ maxLength: 8 }));
const opName = fc.oneof(fc.constantFrom(...OPERATORS.map((info) => info.op)), fc.string({ maxLength: 6 }));
const ruleValue = fc.oneof(
    regexish,
    templateish,
    fc.string({ maxLength: 20, unit: 'binary' }),
    fc.integer().map(String),
    fc.constant(undefined),
    fc.integer(),
    fc.constant(null),
);
const rule = fc.oneof(
    { weight: 8, arbitrary: fc.record({ field: fieldName, op: opName, value: ruleValue, caseSensitive: fc.boolean() }, { requiredKeys: ['field', 'op'] }) },
    { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.integer()) },
);
const config = fc.record({
    rules: fc.array(rule, { maxLength: 5 }),
    match: fc.constantFrom('all', 'any', undefined, 'some'),
    outputs: fc.constantFrom(1, 2, '2', undefined, 3),
});

/** Text a platform (or a hostile flow) may put in a field: unicode, long runs, the odd lone surrogate. */
const text = fc.oneof(
    fc.string({ maxLength: 40, unit: 'binary' }),
    fc.string({ maxLength: 40, unit: 'grapheme' }),
    fc.tuple(fc.constantFrom('a', 'x', 'é', '1', ' '), fc.integer({ min: 0, max: 5000 })).map(([char, count]) => char.repeat(count)),
    fc.integer().map(String),
);
const oddValue = fc.oneof(
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(text, { maxLength: 30 }),
    fc.dictionary(fc.string({ maxLength: 4 }), text, { maxKeys: 3 }),
);
const call = fc.record(Object.fromEntries(CALL_FIELDS.map((field) => [field.name, oddValue])), { requiredKeys: [] });

function compileOrProblems(candidate: unknown): CompiledCriteria | undefined {
    try {
        return compileCriteria(candidate as Parameters<typeof compileCriteria>[0]);
    } catch (err) {
        assert.ok(err instanceof CriteriaConfigError, `not a CriteriaConfigError: ${String(err)}`);
        assert.equal(err.code, 'config');
        assert.ok(err.problems.length > 0);
        for (const problem of err.problems) {
            if (problem.rule !== undefined) assert.match(problem.message, new RegExp(`^rule ${problem.rule}[: ]`));
            else assert.match(problem.message, /^(match|outputs|rules): /);
        }
        return undefined;
    }
}

describe('criteria properties (fast-check)', () => {
    it('a random rule set either compiles or is refused with a CriteriaConfigError naming each rule', () => {
        fc.assert(
            fc.property(config, (candidate) => {
                compileOrProblems(candidate);
            }),
            { numRuns: 300 },
        );
    });

    it('compiled regex rules never exceed their stated worst case, which is within the step budget', () => {
        const regexRules = fc.array(
            fc.record({
                field: fc.constantFrom('callerName', 'agent', 'tags', 'dnis', 'accountCodes'),
                op: fc.constant('regex'),
                value: regexish,
                caseSensitive: fc.boolean(),
            }),
            {
                minLength: 1,
                maxLength: 3,
            },
        );
        let evaluated = 0;
        fc.assert(
            fc.property(regexRules, call, (rules, candidate) => {
                const criteria = compileOrProblems({ rules });
                if (!criteria) return;
                const work: CriteriaWork = { regexSteps: new Map() };
                const result = evaluateCriteria(criteria, { callId: 'c', ...candidate }, work);
                assert.equal(result.rules.length, rules.length);
                for (const compiled of criteria.rules) {
                    const regex = compiled.regex;
                    assert.ok(regex && regex.worstCaseSteps <= STEP_BUDGET);
                    const steps = work.regexSteps.get(compiled.number);
                    // Not tested means the value was over the input bound, and the outcome says so.
                    if (steps === undefined) assert.match(result.rules[compiled.number - 1].reason ?? '', /over the \d+ a regex is tested on/);
                    else assert.ok(steps <= regex.worstCaseSteps, `${steps} > ${regex.worstCaseSteps}`);
                }
                evaluated++;
            }),
            // About one random rule set in six compiles; 600 runs make a vacuous run (20 or fewer) practically
            // impossible, where 200 left it to chance.
            { numRuns: 600 },
        );
        assert.ok(evaluated > 20, `only ${evaluated} random patterns compiled`);
    });

    // A value template may also stop at its render budget (code `render`, documented with the template bounds).
    it('any compiled rule set over any call returns an explanation or throws an InputError, nothing else', () => {
        fc.assert(
            fc.property(config, call, (candidate, callValue) => {
                const criteria = compileOrProblems(candidate);
                if (!criteria) return;
                try {
                    const result = evaluateCriteria(criteria, callValue);
                    assert.equal(typeof result.matched, 'boolean');
                    assert.equal(result.rules.length, criteria.rules.length);
                } catch (err) {
                    assert.ok(err instanceof InputError || (err instanceof CodedError && err.code === 'render'), `not an InputError: ${String(err)}`);
                }
            }),
            { numRuns: 300 },
        );
    });
});
