// Random templates over random calls: the output never exceeds its budget and every failure is a CodedError.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodedError } from '../../src/errors/coded-error';
import type { PlaceholderFormat } from '../../src/placeholders/escaping';
import { compileTemplate, MAX_RENDER_OUTPUT, type RenderWork } from '../../src/placeholders/template';

const PIECES = [
    '{{callId}}',
    '{{{callerName}}}',
    '{{& agent}}',
    '{{tags}}',
    '{{.}}',
    '{{#tags}}',
    '{{/tags}}',
    '{{#items}}',
    '{{/items}}',
    '{{^group}}',
    '{{/group}}',
    '{{items.0.name}}',
    '{{name}}',
    '{{',
    '}}',
    '{{!note}}',
    '{{=<% %>=}}',
    '"',
    '<',
    '&',
    ' text ',
    '\n',
];
const FORMATS: PlaceholderFormat[] = ['json', 'xml', 'form', 'text', 'url-query', 'url-path', 'header'];

const template = fc.array(fc.constantFrom(...PIECES), { maxLength: 16 }).map((pieces) => pieces.join(''));
const text = fc.oneof(
    fc.string({ maxLength: 30, unit: 'binary' }),
    fc.tuple(fc.constantFrom('x', 'é', '<', '"'), fc.integer({ min: 0, max: 3000 })).map(([char, count]) => char.repeat(count)),
);
const member = fc.oneof(text, fc.integer(), fc.record({ name: text }), fc.constant(null));
const call = fc.record(
    {
        callId: fc.oneof(text, fc.integer()),
        callerName: text,
        agent: fc.oneof(text, fc.constant(null)),
        group: fc.oneof(text, fc.constant('')),
        tags: fc.array(text, { maxLength: 20 }),
        items: fc.array(member, { maxLength: 12 }),
        name: text,
    },
    { requiredKeys: [] },
);

function renderOrCodedError(source: string, format: PlaceholderFormat, value: object, budgets: { maxOutput?: number; maxSteps?: number }): void {
    let compiled;
    try {
        compiled = compileTemplate(source, format, { where: 'random template', ...budgets });
    } catch (err) {
        assert.ok(err instanceof CodedError && err.code === 'template', `compile: ${String(err)}`);
        return;
    }
    const work: RenderWork = { steps: 0, output: 0 };
    try {
        const output = compiled.render(value, work);
        assert.ok(output.length <= (budgets.maxOutput ?? MAX_RENDER_OUTPUT), `${output.length} characters`);
        assert.equal(work.output, output.length);
        if (budgets.maxSteps !== undefined) assert.ok(work.steps <= budgets.maxSteps);
    } catch (err) {
        assert.ok(err instanceof CodedError, `render: ${String(err)}`);
        // The output budget stops the rendering at the leaf that crosses it: one value, escaped (at most 6
        // characters per character, as \u0000 in JSON), is the most it can overshoot by.
        const longestLeaf = 6 * JSON.stringify(value).length;
        if (budgets.maxOutput !== undefined) assert.ok(work.output <= budgets.maxOutput + longestLeaf, `${work.output} characters counted`);
    }
}

describe('template properties (fast-check)', () => {
    it('small budgets: output within the budget, failures are CodedErrors', () => {
        fc.assert(
            fc.property(
                template,
                fc.constantFrom(...FORMATS),
                call,
                fc.integer({ min: 0, max: 4000 }),
                fc.integer({ min: 1, max: 400 }),
                (source, format, value, maxOutput, maxSteps) => {
                    renderOrCodedError(source, format, value, { maxOutput, maxSteps });
                },
            ),
            { numRuns: 300 },
        );
    });

    it('default budgets: output within 1 MiB, failures are CodedErrors', () => {
        fc.assert(
            fc.property(template, fc.constantFrom(...FORMATS), call, (source, format, value) => {
                renderOrCodedError(source, format, value, {});
            }),
            { numRuns: 150 },
        );
    });
});
