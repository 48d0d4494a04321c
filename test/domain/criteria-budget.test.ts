// The criteria filter's stated worst case: a regex is accepted only if program size x (longest input + 1) stays
// within STEP_BUDGET, a longer value fails the rule with a reason, and every bound is checked by count, not time.
import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import { compileCriteria, CriteriaConfigError } from '../../src/criteria/compile';
import { evaluateCriteria, type CriteriaWork } from '../../src/criteria/evaluate';
import { compileSafeRegex, MAX_INPUT_LENGTH, RegexTooComplexError, STEP_BUDGET } from '../../src/criteria/safe-regex';
import type { CriteriaRule } from '../../src/criteria/rule';
import { DEFAULT_EVENT_LIMITS } from '../../src/lifecycle/event-limits';

// The most instructions a pattern may compile to at the default input bound.
const BUDGET_SIZE = Math.floor(STEP_BUDGET / (MAX_INPUT_LENGTH + 1));

function evaluate(rules: CriteriaRule[], call: object): { result: ReturnType<typeof evaluateCriteria>; work: CriteriaWork } {
    const work: CriteriaWork = { regexSteps: new Map() };
    return { result: evaluateCriteria(compileCriteria({ rules }), call, work), work };
}

describe('criteria regex: step budget on deploy', () => {
    it('the input bound is the call-event-in text bound, and the budget admits a useful program', () => {
        assert.equal(MAX_INPUT_LENGTH, DEFAULT_EVENT_LIMITS.maxTextLength);
        assert.equal(BUDGET_SIZE, 122);
        assert.ok(compileSafeRegex('^(VIP|Gold|Platinum)$').programSize < 40);
    });

    it('accepts a pattern of exactly the budget size and refuses one instruction more', () => {
        // a{n} compiles to n character instructions, plus Match.
        const under = compileSafeRegex(`a{100}b{${BUDGET_SIZE - 101}}`);
        assert.equal(under.programSize, BUDGET_SIZE);
        assert.ok(under.worstCaseSteps <= STEP_BUDGET);
        assert.throws(() => compileSafeRegex(`a{100}b{${BUDGET_SIZE - 100}}`), RegexTooComplexError);
    });

    it('the largest accepted pattern on its worst input stays within the budget, by count', () => {
        const regex = compileSafeRegex(`(a|b)*a{100}b{${BUDGET_SIZE - 107}}`);
        assert.ok(regex.programSize <= BUDGET_SIZE);
        const result = regex.run('a'.repeat(MAX_INPUT_LENGTH));
        assert.equal(result.matched, false);
        assert.ok(result.steps > STEP_BUDGET / 2, `the worst input should come near the bound: ${result.steps}`);
        assert.ok(result.steps <= regex.worstCaseSteps && regex.worstCaseSteps <= STEP_BUDGET);
    });

    it('a pattern over budget is refused on deploy naming the rule, the program size and the budget', () => {
        assert.throws(
            () =>
                compileCriteria({
                    rules: [
                        { field: 'group', op: 'eq', value: 'Sales' },
                        { field: 'agent', op: 'regex', value: '[a-z]{1,100}' },
                    ],
                }),
            (err: unknown) =>
                err instanceof CriteriaConfigError &&
                err.code === 'config' &&
                err.problems.length === 1 &&
                err.problems[0].rule === 2 &&
                /^rule 2: pattern too complex: over 122 instructions x 4097 input positions = over \d+ steps per message, the budget is 500000/.test(
                    err.problems[0].message,
                ),
        );
    });

    it('the 29-second pattern of issue 15 is refused, and costs no more than the budget to refuse', () => {
        // 20,000 instructions under the old bound: compiling now stops at the first instruction over the budget.
        assert.throws(
            () => compileSafeRegex('((a{100}){100}){100}'),
            (err: unknown) => err instanceof RegexTooComplexError && err.programSize === BUDGET_SIZE,
        );
    });

    it('a smaller input bound admits a larger program, with the same budget', () => {
        const regex = compileSafeRegex('[a-z]{1,100}@', { maxInputLength: 256 });
        assert.equal(regex.maxInputLength, 256);
        assert.ok(regex.worstCaseSteps <= STEP_BUDGET);
    });
});

describe('criteria regex: the input bound holds at match time', () => {
    it('a text value longer than the bound fails the rule with a reason, and is not tested at all', () => {
        const call = { callId: 'c', callerName: `${'x'.repeat(MAX_INPUT_LENGTH)}Jane` };
        const { result, work } = evaluate([{ field: 'callerName', op: 'regex', value: 'Jane' }], call);
        assert.equal(result.matched, false);
        assert.equal(result.rules[0].passed, false);
        assert.equal(result.rules[0].reason, `the value is ${MAX_INPUT_LENGTH + 4} characters, over the ${MAX_INPUT_LENGTH} a regex is tested on`);
        assert.equal(work.regexSteps.has(1), false);
    });

    it('a text value of exactly the bound is tested whole', () => {
        const call = { callId: 'c', callerName: `${'x'.repeat(MAX_INPUT_LENGTH - 4)}Jane` };
        const { result, work } = evaluate([{ field: 'callerName', op: 'regex', value: 'Jane$' }], call);
        assert.equal(result.rules[0].passed, true);
        assert.equal(result.rules[0].reason, undefined);
        const steps = work.regexSteps.get(1) ?? Infinity;
        assert.ok(steps > MAX_INPUT_LENGTH && steps <= compileSafeRegex('Jane$').programSize * (MAX_INPUT_LENGTH + 1), `${steps} steps`);
    });

    it('a list is bounded by its "a, b" text: all members together stay within the rule budget', () => {
        const members = Array.from({ length: 400 }, (_, index) => `tag-${index}`);
        const joined = members.join(', ').length;
        assert.ok(joined <= MAX_INPUT_LENGTH);
        const rule: CriteriaRule = { field: 'tags', op: 'regex', value: '^(x|y)+z{20}$' };
        const { result, work } = evaluate([rule], { callId: 'c', tags: members });
        assert.equal(result.rules[0].passed, false);
        const steps = work.regexSteps.get(1) ?? Infinity;
        const size = compileSafeRegex(rule.value as string).programSize;
        assert.ok(steps <= size * (joined + 1), `${steps} steps`);

        const long = [...members, 'x'.repeat(MAX_INPUT_LENGTH)];
        const over = evaluate([rule], { callId: 'c', tags: long });
        assert.match(over.result.rules[0].reason ?? '', /^the value is \d+ characters, over the 4096 a regex is tested on$/);
        assert.equal(over.result.rules[0].passed, false);
    });

    it('a msg.call from any flow (a number, an object) is tested as its text, within the bound', () => {
        const { result } = evaluate([{ field: 'callerName', op: 'regex', value: '^42$' }], { callId: 'c', callerName: 42 });
        assert.equal(result.rules[0].passed, true);
    });
});

describe('criteria: ordering operators on numeric text (issue 18)', () => {
    const passes = (rule: CriteriaRule, call: object = sampleCall()) => evaluateCriteria(compileCriteria({ rules: [rule] }), call).rules[0];

    it('"Agent Extension >= 200" deploys and compares the extension as a number', () => {
        assert.equal(passes({ field: 'agentExtension', op: 'gte', value: '200' }).passed, false);
        assert.equal(passes({ field: 'agentExtension', op: 'gte', value: '154' }).passed, true);
        assert.equal(passes({ field: 'agentExtension', op: 'lt', value: '200' }, { callId: 'c', agentExtension: ' 199 ' }).passed, true);
        // As a number, "1000" is above "200", which text order would deny.
        assert.equal(passes({ field: 'agentExtension', op: 'gt', value: '200' }, { callId: 'c', agentExtension: '1000' }).passed, true);
        assert.equal(passes({ field: 'dnis', op: 'lte', value: '8005559999' }).passed, true);
        assert.equal(passes({ field: 'reportCallId', op: 'gt', value: '40000' }).passed, true);
    });

    it('a value that does not read as a number fails the rule and msg.criteria says why', () => {
        const outcome = passes({ field: 'agentExtension', op: 'gte', value: '200' }, { callId: 'c', agentExtension: 'abc' });
        assert.deepEqual(outcome, { field: 'agentExtension', op: 'gte', value: '200', actual: 'abc', passed: false, reason: '"abc" is not a number' });
        for (const text of ['0x1F4', '1e3', 'Infinity', '2 00', '']) {
            assert.equal(passes({ field: 'agentExtension', op: 'gt', value: '0' }, { callId: 'c', agentExtension: text }).passed, false, text);
        }
    });

    it('a missing value never orders, without a reason (as for number fields)', () => {
        const outcome = passes({ field: 'agentExtension', op: 'lt', value: '200' }, { callId: 'c' });
        assert.equal(outcome.passed, false);
        assert.equal(outcome.reason, undefined);
    });

    it('a number field holding text that is not a number now says so too', () => {
        const outcome = passes({ field: 'duration', op: 'gt', value: '1' }, { callId: 'c', duration: 'long' });
        assert.equal(outcome.passed, false);
        assert.equal(outcome.reason, '"long" is not a number');
    });

    it('on deploy only the operand must be a number; a template operand is checked per message', () => {
        assert.throws(
            () => compileCriteria({ rules: [{ field: 'agentExtension', op: 'gte', value: 'two hundred' }] }),
            /^rule 1: "two hundred" is not a number$/,
        );
        assert.equal(passes({ field: 'agentExtension', op: 'lt', value: '{{duration}}' }).passed, true);
    });

    it('eq and in on a text field stay text comparisons, so flows saved before keep their meaning', () => {
        assert.equal(passes({ field: 'agentExtension', op: 'eq', value: '0154' }).passed, false);
        assert.equal(passes({ field: 'agentExtension', op: 'in', value: '154, 155' }).passed, true);
    });

    it('lists still refuse the ordering operators on deploy', () => {
        assert.throws(() => compileCriteria({ rules: [{ field: 'tags', op: 'gt', value: '1' }] }), /operator "gt" does not fit list field "tags"/);
    });
});
