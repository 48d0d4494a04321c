import assert from 'node:assert/strict';
import { CriteriaConfigError } from '../../src/criteria/compile';
import { criteriaFilterOptions, criteriaProblems, firstProblem } from '../../src/nodes/criteria-filter/config';

describe('criteria filter options (config.ts)', () => {
    it('a node without rules, match or outputs (as an older flow may be) passes every call through one output', () => {
        const criteria = criteriaFilterOptions({});
        assert.equal(criteria.outputs, 1);
    });

    it('every problem is listed, each naming its rule; the status shows the first', () => {
        const rules = [
            { field: 'nope', op: 'eq', value: 'x' },
            { field: 'direction', op: 'nope', value: 'x' },
        ];
        assert.throws(() => criteriaFilterOptions({ rules }), CriteriaConfigError);
        const problems = criteriaProblems({ rules });
        assert.equal(problems.length, 2);
        assert.match(problems[0].message, /^rule 1: /);
        assert.match(problems[1].message, /^rule 2: /);
        let thrown: unknown;
        try {
            criteriaFilterOptions({ rules });
        } catch (err) {
            thrown = err;
        }
        assert.equal(firstProblem(thrown), problems[0].message);
        assert.equal(firstProblem(new Error('plain')), 'plain');
    });

    it('rules the runtime accepts have no problems in the dialog check', () => {
        const config = { rules: [{ field: 'direction', op: 'eq', value: 'inbound' }], match: 'all', outputs: 2 };
        assert.deepEqual(criteriaProblems(config), []);
        assert.equal(criteriaFilterOptions(config).outputs, 2);
    });
});
