import assert from 'node:assert/strict';
import type { Call } from '../../src/call/call';
import { sampleCall } from '../../src/call/sample-call';
import { compileCriteria, CriteriaConfigError } from '../../src/criteria/compile';
import { evaluateCriteria } from '../../src/criteria/evaluate';
import { OPERATORS } from '../../src/criteria/operators';
import type { CriteriaRule } from '../../src/criteria/rule';
import { CodedError } from '../../src/errors/coded-error';

function passes(rule: CriteriaRule, call: object = sampleCall()): boolean {
    return evaluateCriteria(compileCriteria({ rules: [rule] }), call).rules[0].passed;
}

function problemsOf(config: { rules?: unknown; match?: unknown; outputs?: unknown }): string[] {
    try {
        compileCriteria(config);
    } catch (err) {
        assert.ok(err instanceof CriteriaConfigError);
        assert.equal(err.code, 'config');
        return err.problems.map((problem) => problem.message);
    }
    assert.fail('expected the configuration to be refused');
}

// A call with no optional field at all: what each operator does with a missing value.
const BARE: Call = { callId: 'bare-call' };

describe('criteria: text fields', () => {
    const table: Array<[Omit<CriteriaRule, 'field'> & { field?: string }, boolean]> = [
        [{ op: 'eq', value: 'inbound' }, true],
        [{ op: 'eq', value: 'inbound', caseSensitive: true }, false],
        [{ op: 'eq', value: 'Inbound', caseSensitive: true }, true],
        [{ op: 'eq', value: 'Inbou' }, false],
        [{ op: 'neq', value: 'OUTBOUND' }, true],
        [{ op: 'neq', value: 'INBOUND' }, false],
        [{ op: 'contains', value: 'BOUN' }, true],
        [{ op: 'contains', value: 'BOUN', caseSensitive: true }, false],
        [{ op: 'notContains', value: 'out' }, true],
        [{ op: 'notContains', value: 'in' }, false],
        [{ op: 'startsWith', value: 'in' }, true],
        [{ op: 'startsWith', value: 'bound' }, false],
        [{ op: 'endsWith', value: 'BOUND' }, true],
        [{ op: 'endsWith', value: 'in' }, false],
        [{ op: 'regex', value: '^(in|out)bound$' }, true],
        [{ op: 'regex', value: '^(in|out)bound$', caseSensitive: true }, false],
        [{ op: 'regex', value: '^internal' }, false],
        [{ op: 'in', value: 'Outbound, inbound' }, true],
        [{ op: 'in', value: 'Outbound,Internal' }, false],
        [{ op: 'in', value: 'Outbound, inbound', caseSensitive: true }, false],
        [{ op: 'notIn', value: 'Outbound, Internal' }, true],
        [{ op: 'notIn', value: 'Outbound, INBOUND' }, false],
        [{ op: 'empty' }, false],
        [{ op: 'notEmpty' }, true],
    ];
    for (const [rule, expected] of table) {
        it(`direction (Inbound) ${rule.op} ${rule.value ?? ''}${rule.caseSensitive ? ' (case sensitive)' : ''} -> ${expected}`, () => {
            assert.equal(passes({ field: 'direction', ...rule } as CriteriaRule), expected);
        });
    }

    it('an empty text counts as missing for empty / notEmpty', () => {
        assert.equal(passes({ field: 'group', op: 'empty' }, { ...sampleCall(), group: '' }), true);
        assert.equal(passes({ field: 'group', op: 'notEmpty' }, { ...sampleCall(), group: '' }), false);
    });
});

describe('criteria: missing values', () => {
    // A missing text is the empty text, as a placeholder renders it.
    const table: Array<[CriteriaRule, boolean]> = [
        [{ field: 'group', op: 'eq', value: 'Sales' }, false],
        [{ field: 'group', op: 'neq', value: 'Sales' }, true],
        [{ field: 'group', op: 'contains', value: 'S' }, false],
        [{ field: 'group', op: 'notContains', value: 'S' }, true],
        [{ field: 'group', op: 'startsWith', value: 'S' }, false],
        [{ field: 'group', op: 'endsWith', value: 's' }, false],
        [{ field: 'group', op: 'regex', value: '.' }, false],
        [{ field: 'group', op: 'regex', value: '^$' }, true],
        [{ field: 'group', op: 'in', value: 'Sales, Support' }, false],
        [{ field: 'group', op: 'notIn', value: 'Sales, Support' }, true],
        [{ field: 'group', op: 'empty' }, true],
        [{ field: 'group', op: 'notEmpty' }, false],
        [{ field: 'duration', op: 'eq', value: '0' }, false],
        [{ field: 'duration', op: 'neq', value: '0' }, true],
        [{ field: 'duration', op: 'gt', value: '-1' }, false],
        [{ field: 'duration', op: 'gte', value: '0' }, false],
        [{ field: 'duration', op: 'lt', value: '1000' }, false],
        [{ field: 'duration', op: 'lte', value: '1000' }, false],
        [{ field: 'duration', op: 'in', value: '0, 1' }, false],
        [{ field: 'duration', op: 'notIn', value: '0, 1' }, true],
        [{ field: 'duration', op: 'empty' }, true],
        [{ field: 'duration', op: 'notEmpty' }, false],
        [{ field: 'time', op: 'gt', value: '0' }, false],
        [{ field: 'time', op: 'lt', value: '2030-01-01' }, false],
        [{ field: 'time', op: 'empty' }, true],
        [{ field: 'tags', op: 'contains', value: 'VIP' }, false],
        [{ field: 'tags', op: 'notContains', value: 'VIP' }, true],
        [{ field: 'tags', op: 'in', value: 'VIP, Callback' }, false],
        [{ field: 'tags', op: 'notIn', value: 'VIP, Callback' }, true],
        [{ field: 'tags', op: 'eq', value: 'VIP' }, false],
        [{ field: 'tags', op: 'startsWith', value: 'V' }, false],
        [{ field: 'tags', op: 'regex', value: '.*' }, false],
        [{ field: 'tags', op: 'empty' }, true],
        [{ field: 'tags', op: 'notEmpty' }, false],
        [{ field: 'recordingsMissing', op: 'eq', value: 'false' }, true],
        [{ field: 'recordingsMissing', op: 'eq', value: 'true' }, false],
        [{ field: 'recordingsMissing', op: 'neq', value: 'true' }, true],
        [{ field: 'recordingsMissing', op: 'empty' }, true],
    ];
    for (const [rule, expected] of table) {
        it(`missing ${rule.field} ${rule.op} ${rule.value ?? ''} -> ${expected}`, () => {
            assert.equal(passes(rule, BARE), expected);
        });
    }

    it('null and an empty list are missing too', () => {
        assert.equal(passes({ field: 'tags', op: 'empty' }, { callId: 'c', tags: [] }), true);
        assert.equal(passes({ field: 'agent', op: 'empty' }, { callId: 'c', agent: null }), true);
        assert.equal(passes({ field: 'duration', op: 'gt', value: '0' }, { callId: 'c', duration: null }), false);
    });
});

describe('criteria: numbers', () => {
    const table: Array<[string, string, boolean]> = [
        ['eq', '312', true],
        ['eq', '312.0', true],
        ['eq', '311', false],
        ['neq', '311', true],
        ['neq', '312', false],
        ['gt', '311', true],
        ['gt', '312', false],
        ['gte', '312', true],
        ['gte', '313', false],
        ['lt', '313', true],
        ['lt', '312', false],
        ['lte', '312', true],
        ['lte', '311.5', false],
        ['in', '60, 312, 600', true],
        ['in', '60,600', false],
        ['notIn', '60, 600', true],
        ['notIn', '312', false],
    ];
    for (const [op, value, expected] of table) {
        it(`duration (312) ${op} ${value} -> ${expected}`, () => {
            assert.equal(passes({ field: 'duration', op, value }), expected);
        });
    }

    it('a numeric text on the call is compared as a number, a non-numeric one never orders', () => {
        assert.equal(passes({ field: 'duration', op: 'gt', value: '100' }, { callId: 'c', duration: '312' }), true);
        assert.equal(passes({ field: 'duration', op: 'gt', value: '100' }, { callId: 'c', duration: 'long' }), false);
        assert.equal(passes({ field: 'duration', op: 'lte', value: '100' }, { callId: 'c', duration: 'long' }), false);
        assert.equal(passes({ field: 'updateSeq', op: 'gte', value: '2' }, { callId: 'c', updateSeq: 2 }), true);
    });
});

describe('criteria: times', () => {
    const start = sampleCall().time as number; // 2024-11-24T21:00:00.000Z
    const table: Array<[string, string, boolean]> = [
        ['eq', String(start), true],
        ['eq', '2024-11-24T21:00:00Z', true],
        ['eq', '2024-11-24T21:00:00.000+00:00', true],
        ['neq', '2024-11-24T21:00:01Z', true],
        ['gt', '2024-11-24', true],
        ['gt', '2024-11-24T21:00:00Z', false],
        ['gte', '2024-11-24T21:00:00Z', true],
        ['lt', '2024-11-25', true],
        ['lt', String(start), false],
        ['lte', String(start), true],
        ['lte', '2024-11-24T20:59:59.999Z', false],
    ];
    for (const [op, value, expected] of table) {
        it(`time (2024-11-24T21:00:00Z) ${op} ${value} -> ${expected}`, () => {
            assert.equal(passes({ field: 'time', op, value }), expected);
        });
    }

    it('an ISO time on the call is read as a time', () => {
        assert.equal(passes({ field: 'time', op: 'gt', value: '2024-01-01' }, { callId: 'c', time: '2024-11-24T21:00:00Z' }), true);
    });
});

describe('criteria: lists (tags VIP, Callback)', () => {
    const table: Array<[CriteriaRule, boolean]> = [
        [{ field: 'tags', op: 'contains', value: 'vip' }, true],
        [{ field: 'tags', op: 'contains', value: 'vip', caseSensitive: true }, false],
        // Members, not the joined text: "VIP, C" is a substring of "VIP, Callback" but not a tag.
        [{ field: 'tags', op: 'contains', value: 'VIP, C' }, false],
        [{ field: 'tags', op: 'contains', value: 'VI' }, false],
        [{ field: 'tags', op: 'notContains', value: 'Spam' }, true],
        [{ field: 'tags', op: 'notContains', value: 'callback' }, false],
        [{ field: 'tags', op: 'in', value: 'Spam, callback' }, true],
        [{ field: 'tags', op: 'in', value: 'Spam, Robocall' }, false],
        [{ field: 'tags', op: 'notIn', value: 'Spam, Robocall' }, true],
        [{ field: 'tags', op: 'notIn', value: 'Spam, VIP' }, false],
        [{ field: 'tags', op: 'eq', value: 'vip, callback' }, true],
        [{ field: 'tags', op: 'eq', value: 'VIP' }, false],
        [{ field: 'tags', op: 'neq', value: 'VIP' }, true],
        [{ field: 'tags', op: 'startsWith', value: 'call' }, true],
        [{ field: 'tags', op: 'endsWith', value: 'IP' }, true],
        [{ field: 'tags', op: 'endsWith', value: 'x' }, false],
        [{ field: 'tags', op: 'regex', value: '^call' }, true],
        [{ field: 'tags', op: 'regex', value: '^VIP, ' }, false],
        [{ field: 'tags', op: 'empty' }, false],
        [{ field: 'tags', op: 'notEmpty' }, true],
        [{ field: 'accountCodes', op: 'contains', value: 'Opp Won' }, true],
        [{ field: 'recordingLink', op: 'startsWith', value: 'https://recordings.example.com/' }, true],
    ];
    for (const [rule, expected] of table) {
        it(`${rule.field} ${rule.op} ${rule.value ?? ''}${rule.caseSensitive ? ' (case sensitive)' : ''} -> ${expected}`, () => {
            assert.equal(passes(rule), expected);
        });
    }

    it('a list given as its rendered "a, b" text is read as members', () => {
        assert.equal(passes({ field: 'tags', op: 'contains', value: 'Callback' }, { callId: 'c', tags: 'VIP, Callback' }), true);
    });
});

describe('criteria: flags', () => {
    it('recordingsMissing eq / neq true and false', () => {
        const call = { ...sampleCall(), recordingsMissing: true };
        assert.equal(passes({ field: 'recordingsMissing', op: 'eq', value: 'true' }, call), true);
        assert.equal(passes({ field: 'recordingsMissing', op: 'eq', value: 'FALSE' }, call), false);
        assert.equal(passes({ field: 'recordingsMissing', op: 'neq', value: 'false' }, call), true);
        assert.equal(passes({ field: 'recordingsMissing', op: 'notEmpty' }, call), true);
    });
});

describe('criteria: values that are templates', () => {
    it('compares one field with another', () => {
        const call = { ...sampleCall(), agentName: 'Jane Roe' };
        assert.equal(passes({ field: 'callerName', op: 'eq', value: '{{agentName}}' }, call), true);
        assert.equal(passes({ field: 'callerName', op: 'eq', value: '{{agentName}}' }), false);
        assert.equal(passes({ field: 'agent', op: 'startsWith', value: '{{agentName}} (' }), true);
        assert.equal(passes({ field: 'agent', op: 'endsWith', value: '({{agentExtension}})' }), true);
    });

    it('renders numbers and times from the call before comparing', () => {
        assert.equal(passes({ field: 'duration', op: 'gt', value: '{{updateSeq}}' }, { callId: 'c', duration: 5, updateSeq: 3 }), true);
        assert.equal(passes({ field: 'time', op: 'gte', value: '{{time}}' }), true);
        // A placeholder that renders nothing behaves like a missing value: never ordered.
        assert.equal(passes({ field: 'duration', op: 'gt', value: '{{updateSeq}}' }, { callId: 'c', duration: 5 }), false);
    });

    it('shows the rendered value in the explanation', () => {
        const result = evaluateCriteria(compileCriteria({ rules: [{ field: 'agent', op: 'contains', value: '{{agentExtension}}' }] }), sampleCall());
        assert.deepEqual(result.rules[0], { field: 'agent', op: 'contains', value: '154', actual: 'John Doe (154)', passed: true });
    });

    it('a template rendering a non-number for a number rule is an input error naming the rule', () => {
        const criteria = compileCriteria({ rules: [{ field: 'duration', op: 'gt', value: '{{agentName}}' }] });
        assert.throws(
            () => evaluateCriteria(criteria, sampleCall()),
            (err: unknown) =>
                err instanceof CodedError &&
                err.code === 'input' &&
                /^rule 1 value "\{\{agentName\}\}" of call .* rendered "John Doe" is not a number$/.test(err.message),
        );
    });
});

describe('criteria: all, any and the explanation', () => {
    const rules: CriteriaRule[] = [
        { field: 'direction', op: 'eq', value: 'Inbound' },
        { field: 'group', op: 'eq', value: 'Support' },
    ];

    it('all needs every rule; the explanation lists each rule with its actual value', () => {
        const result = evaluateCriteria(compileCriteria({ rules, match: 'all' }), sampleCall());
        assert.deepEqual(result, {
            matched: false,
            match: 'all',
            rules: [
                { field: 'direction', op: 'eq', value: 'Inbound', actual: 'Inbound', passed: true },
                { field: 'group', op: 'eq', value: 'Support', actual: 'Sales', passed: false },
            ],
        });
    });

    it('any needs one rule, and still explains every rule', () => {
        const result = evaluateCriteria(compileCriteria({ rules, match: 'any' }), sampleCall());
        assert.equal(result.matched, true);
        assert.equal(result.match, 'any');
        assert.deepEqual(
            result.rules.map((rule) => rule.passed),
            [true, false],
        );
        assert.equal(evaluateCriteria(compileCriteria({ rules, match: 'any' }), { callId: 'c' }).matched, false);
    });

    it('no rules: every call passes, as the product does', () => {
        assert.deepEqual(evaluateCriteria(compileCriteria({}), BARE), { matched: true, match: 'all', rules: [] });
        assert.equal(evaluateCriteria(compileCriteria({ rules: [], match: 'any' }), BARE).matched, true);
    });

    it('missing actual values are null; empty / notEmpty have no value; case-sensitive rules say so', () => {
        const result = evaluateCriteria(
            compileCriteria({
                rules: [
                    { field: 'group', op: 'empty' },
                    { field: 'callerName', op: 'eq', value: 'x', caseSensitive: true },
                ],
            }),
            BARE,
        );
        assert.deepEqual(result.rules, [
            { field: 'group', op: 'empty', actual: null, passed: true },
            { field: 'callerName', op: 'eq', value: 'x', actual: null, passed: false, caseSensitive: true },
        ]);
    });

    it('the list fields show their members as actual', () => {
        const result = evaluateCriteria(compileCriteria({ rules: [{ field: 'tags', op: 'contains', value: 'VIP' }] }), sampleCall());
        assert.deepEqual(result.rules[0].actual, ['VIP', 'Callback']);
    });
});

describe('criteria: refused on deploy, naming the rule', () => {
    it('unknown field, unknown operator, operator not fit, missing value', () => {
        assert.deepEqual(
            problemsOf({
                rules: [
                    { field: 'colour', op: 'eq', value: 'x' },
                    { field: 'direction', op: 'like', value: 'x' },
                    { field: 'tags', op: 'gt', value: '1' },
                    { field: 'duration', op: 'contains', value: '1' },
                    { field: 'group', op: 'eq', value: '' },
                    { field: 'group', op: 'in' },
                    { field: 'group', op: 'empty' },
                ],
            }),
            [
                'rule 1: unknown field "colour"',
                'rule 2: unknown operator "like"',
                'rule 3: operator "gt" does not fit list field "tags"',
                'rule 4: operator "contains" does not fit number field "duration"',
                'rule 5: "eq" needs a value',
                'rule 6: "in" needs a value',
            ],
        );
    });

    it('bad numbers, times and flags', () => {
        assert.deepEqual(
            problemsOf({
                rules: [
                    { field: 'duration', op: 'gt', value: 'ten' },
                    { field: 'duration', op: 'in', value: '1, two' },
                    { field: 'time', op: 'lt', value: 'yesterday' },
                    { field: 'recordingsMissing', op: 'eq', value: 'maybe' },
                ],
            }),
            [
                'rule 1: "ten" is not a number',
                'rule 2: "two" is not a number',
                'rule 3: "yesterday" is not a time (ms since 1970-01-01 UTC or an ISO date such as 2024-11-24T21:00:00Z)',
                'rule 4: "maybe" is not true or false',
            ],
        );
    });

    it('invalid regexes with their position, bad templates, unknown placeholders', () => {
        assert.deepEqual(
            problemsOf({
                rules: [
                    { field: 'callerName', op: 'regex', value: '(a)\\1' },
                    { field: 'callerName', op: 'regex', value: '(?=x)' },
                    { field: 'callerName', op: 'regex', value: '[abc' },
                    { field: 'callerName', op: 'eq', value: '{{agentName' },
                    { field: 'callerName', op: 'eq', value: '{{agnetName}}' },
                ],
            }),
            [
                'rule 1: invalid regex: backreferences are not supported at position 4',
                'rule 2: invalid regex: lookahead and lookbehind are not supported at position 1',
                'rule 3: invalid regex: unterminated character class at position 1',
                'rule 4 value: unclosed tag at line 1, column 1',
                'rule 5 value: not a call placeholder: agnetName',
            ],
        );
    });

    it('bad match, outputs and rules properties', () => {
        assert.deepEqual(problemsOf({ rules: 'direction=Inbound', match: 'some', outputs: 3 }), [
            'match: must be "all" or "any", got "some"',
            'outputs: must be 1 or 2, got "3"',
            'rules: must be a list of { field, op, value }',
        ]);
        assert.deepEqual(problemsOf({ rules: [null] }), ['rule 1: must be an object with field, op and value']);
    });

    it('outputs arrives as a number or a string from the editor', () => {
        assert.equal(compileCriteria({ outputs: '2' }).outputs, 2);
        assert.equal(compileCriteria({ outputs: 1 }).outputs, 1);
        assert.equal(compileCriteria({}).outputs, 1);
    });

    it('every operator is offered for at least one kind and every kind has eq and empty', () => {
        for (const info of OPERATORS) assert.ok(info.kinds.length > 0, info.op);
        for (const kind of ['text', 'number', 'time', 'list', 'flag'] as const) {
            assert.ok(OPERATORS.some((info) => info.op === 'eq' && info.kinds.includes(kind)));
            assert.ok(OPERATORS.some((info) => info.op === 'empty' && info.kinds.includes(kind)));
        }
    });

    it('a hostile regex rule compiles and evaluates a long value without hanging', () => {
        const criteria = compileCriteria({ rules: [{ field: 'callerName', op: 'regex', value: '(a+)+$' }] });
        const result = evaluateCriteria(criteria, { callId: 'c', callerName: 'a'.repeat(100_000) + '!' });
        assert.equal(result.matched, false);
    });
});
