// Rendering runs under an output budget and a work budget, checked by the counts the renderer reports.
import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import { CodedError } from '../../src/errors/coded-error';
import { compileTemplate, MAX_RENDER_OUTPUT, MAX_RENDER_STEPS, RenderBudgetError, type RenderWork } from '../../src/placeholders/template';

function renderError(run: () => unknown): CodedError {
    try {
        run();
    } catch (err) {
        assert.ok(err instanceof CodedError, `expected a CodedError, got ${String(err)}`);
        return err;
    }
    assert.fail('expected the rendering to stop');
}

const nested = (name: string, depth: number, inner: string) => `${`{{#${name}}}`.repeat(depth)}${inner}${`{{/${name}}}`.repeat(depth)}`;

describe('template rendering: work budget', () => {
    it('nested sections over a list stop at the step budget, with empty output too', () => {
        // The 790-byte preview of issue 15: 10 levels over a 10-member list would enter 10^10 sections.
        const call = { callId: 'c1', items: Array.from({ length: 10 }, (_, index) => index) };
        const template = compileTemplate(nested('items', 10, ''), 'text', { where: 'preview' });
        const work: RenderWork = { steps: 0, output: 0 };
        const err = renderError(() => template.render(call, work));
        assert.equal(err.code, 'render');
        assert.equal(
            err.message,
            `preview of call c1: rendering stopped: over the budget of ${MAX_RENDER_STEPS} steps (tokens rendered and sections entered); nested sections over a list multiply`,
        );
        assert.ok(err.cause instanceof RenderBudgetError && err.cause.budget === 'steps');
        // It stopped at the first token list over the budget (each list here is 1 + 1 tokens), not later.
        assert.ok(work.steps > MAX_RENDER_STEPS && work.steps <= MAX_RENDER_STEPS + 2, `${work.steps} steps`);
        assert.equal(work.output, 0);
    });

    it('an ordinary body over a call with full lists stays far below the budget', () => {
        const call = { ...sampleCall(), tags: Array.from({ length: 500 }, (_, index) => `tag-${index}`) };
        const template = compileTemplate('{"id":"{{callId}}","tags":"{{tags}}","agent":"{{agentName}}","group":"{{group}}"}', 'json');
        const work: RenderWork = { steps: 0, output: 0 };
        const text = template.render(call, work);
        assert.equal(work.output, text.length);
        assert.ok(work.steps < 20, `${work.steps} steps`);
    });

    it('a section per member of a list costs steps in proportion to the list', () => {
        const call = { callId: 'c', items: Array.from({ length: 500 }, (_, index) => ({ name: `n${index}` })) };
        const template = compileTemplate('{{#items}}<i>{{name}}</i>{{/items}}', 'xml');
        const work: RenderWork = { steps: 0, output: 0 };
        const text = template.render(call, work);
        assert.equal(work.output, text.length);
        // One token list per member (1 + its 3 tokens), plus the outer list.
        assert.equal(work.steps, 2 + 500 * 4);
    });

    it('a smaller budget given by the caller is honoured', () => {
        const template = compileTemplate('{{#items}}{{.}}{{/items}}', 'text', { maxSteps: 10 });
        assert.equal(template.render({ items: [1, 2] }), '12');
        assert.equal(renderError(() => template.render({ items: [1, 2, 3, 4, 5] })).code, 'render');
    });
});

describe('template rendering: output budget', () => {
    it('output growing exponentially stops at the budget before the text is built', () => {
        const call = { callId: 'c2', items: Array.from({ length: 8 }, (_, index) => index), filler: 'x'.repeat(1000) };
        const template = compileTemplate(nested('items', 4, '{{filler}}'), 'text', { where: 'placeholder template' });
        const work: RenderWork = { steps: 0, output: 0 };
        const err = renderError(() => template.render(call, work));
        assert.equal(err.code, 'render');
        assert.match(
            err.message,
            new RegExp(`^placeholder template of call c2: rendering stopped: the output would exceed the budget of ${MAX_RENDER_OUTPUT} characters$`),
        );
        // The count passed the budget by at most the one leaf that crossed it.
        assert.ok(work.output > MAX_RENDER_OUTPUT && work.output <= MAX_RENDER_OUTPUT + 1000, `${work.output} characters`);
    });

    it('one huge value over the budget stops too, and an output of exactly the budget passes', () => {
        const template = compileTemplate('{{{callerName}}}', 'text', { maxOutput: 100 });
        assert.equal(template.render({ callerName: 'x'.repeat(100) }).length, 100);
        assert.equal(renderError(() => template.render({ callerName: 'x'.repeat(101) })).code, 'render');
    });

    it('escaped text counts as it is written (escaping lengthens it)', () => {
        const template = compileTemplate('{{callerName}}', 'xml', { maxOutput: 20 });
        const work: RenderWork = { steps: 0, output: 0 };
        assert.equal(template.render({ callerName: '<&>' }, work), '&lt;&amp;&gt;');
        assert.equal(work.output, 13);
        assert.equal(renderError(() => template.render({ callerName: '<<<<<<' })).code, 'render');
    });

    it('a lambda in a msg.call built by a function node counts its text as output', () => {
        const template = compileTemplate('{{#wrap}}hi{{/wrap}}', 'text', { maxOutput: 50 });
        assert.equal(template.render({ wrap: () => (text: string) => `<${text}>` }), '<hi>');
        assert.equal(renderError(() => template.render({ wrap: () => () => 'y'.repeat(51) })).code, 'render');
    });

    it('a very long call id in the error message is cut, so the error itself stays small', () => {
        const template = compileTemplate('{{#items}}{{#items}}{{/items}}{{/items}}', 'text', { maxSteps: 5 });
        const err = renderError(() => template.render({ callId: 'i'.repeat(100_000), items: [1, 2, 3] }));
        assert.ok(err.message.length < 400, `${err.message.length} characters`);
    });
});
