import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonNestingDepth, MAX_JSON_DEPTH, nestingProblem } from '../../src/ingest/bounded-json';

function depthOf(value: unknown): number {
    if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
    if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
    return 0;
}

describe('JSON nesting depth, measured before parsing', () => {
    it('equals the depth of the parsed value for any JSON, brackets and escapes inside strings included', () => {
        const tricky = fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', '"[', '\u2028', 'é');
        const text = fc.oneof(
            fc.string(),
            fc.array(tricky, { maxLength: 6 }).map((parts) => parts.join('')),
        );
        const value = fc.letrec((tie) => ({
            node: fc.oneof(
                { depthSize: 'small', withCrossShrink: true },
                text,
                fc.integer(),
                fc.boolean(),
                fc.constant(null),
                fc.array(tie('node'), { maxLength: 4 }),
                fc.dictionary(text, tie('node'), { maxKeys: 4 }),
            ),
        })).node;
        fc.assert(
            fc.property(value, (json) => jsonNestingDepth(JSON.stringify(json)) === depthOf(json)),
            { numRuns: 300 },
        );
    });

    it('refuses just over and far over the bound, naming it, and stops counting once over', () => {
        const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
        assert.equal(nestingProblem(nested(MAX_JSON_DEPTH)), undefined);
        assert.equal(nestingProblem(nested(MAX_JSON_DEPTH + 1)), `nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`);
        assert.equal(jsonNestingDepth(nested(1_000_000), MAX_JSON_DEPTH), MAX_JSON_DEPTH + 1);
        assert.equal(nestingProblem('{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'), undefined);
    });
});
