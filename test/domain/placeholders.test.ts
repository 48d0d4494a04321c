import assert from 'node:assert/strict';
import Mustache from 'mustache';
import { CALL_FIELDS, callFieldText } from '../../src/call/call-fields';
import { sampleCall } from '../../src/call/sample-call';
import { TRIGGER_EVENTS, triggerEventLabel } from '../../src/call/trigger-events';
import { compileTemplate, TemplateSyntaxError } from '../../src/placeholders/template';
import { parseRenderedJson } from '../../src/placeholders/json-body';

// What each placeholder renders to from the sample call, written out by hand from the table.
const EXPECTED: Record<string, string> = {
    callId: '1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90',
    reportCallId: '40213',
    direction: 'Inbound',
    callerName: 'Jane Roe',
    dnis: '8005551234',
    externalNumber: '8015550000',
    location: 'Salt Lake City, UT',
    time: '1732482000000',
    agent: 'John Doe (154)',
    agentName: 'John Doe',
    agentExtension: '154',
    group: 'Sales',
    tags: 'VIP, Callback',
    accountCodes: 'Opp Won, Large Sale',
    recordingLink: 'https://recordings.example.com/calls/1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90.wav',
    event: 'complete',
    answered: 'true',
    duration: '312',
    updateSeq: '',
    eventSeq: '',
    recordingsMissing: '',
};

describe('placeholders', () => {
    it('the table lists each call field once, with a label', () => {
        const names = CALL_FIELDS.map((field) => field.name);
        assert.deepEqual([...names].sort(), Object.keys(EXPECTED).sort());
        for (const field of CALL_FIELDS) assert.ok(field.label.length > 0, field.name);
    });

    for (const field of CALL_FIELDS) {
        it(`{{${field.name}}} renders "${EXPECTED[field.name]}" from the sample call`, () => {
            assert.equal(compileTemplate(`{{${field.name}}}`, 'text').render(sampleCall()), EXPECTED[field.name]);
        });
    }

    it('a missing value renders as the empty string', () => {
        assert.equal(compileTemplate('[{{agent}}|{{tags}}|{{time}}]', 'text').render({ callId: 'x' }), '[||]');
    });

    it('lists render comma-delimited, several recording links too', () => {
        const call = { callId: 'x', recordingLink: ['https://r/1.wav', 'https://r/2.wav'], tags: [], accountCodes: ['One'] };
        assert.equal(compileTemplate('{{recordingLink}}|{{tags}}|{{accountCodes}}', 'text').render(call), 'https://r/1.wav, https://r/2.wav||One');
        assert.equal(callFieldText(['a', 'b']), 'a, b');
        assert.equal(callFieldText(null), '');
    });

    it('flags and numbers render as text; sections still test them', () => {
        const template = compileTemplate(
            '{{#recordingsMissing}}missing{{/recordingsMissing}}{{^recordingsMissing}}ok{{/recordingsMissing}} #{{updateSeq}}',
            'text',
        );
        assert.equal(template.render({ callId: 'x', recordingsMissing: true, updateSeq: 2 }), 'missing #2');
        assert.equal(template.render({ callId: 'x', updateSeq: 0 }), 'ok #0');
    });

    it('trigger events carry the product labels', () => {
        assert.deepEqual(
            TRIGGER_EVENTS.map((event) => [event.id, event.label]),
            [
                ['presenting', 'Call is Presenting'],
                ['connected', 'Call is Connected'],
                ['complete', 'Call is Complete'],
                ['processed', 'Call and Recordings Processed'],
                ['updated', 'Call is Updated'],
            ],
        );
        assert.equal(triggerEventLabel('processed'), 'Call and Recordings Processed');
    });

    it('names that are not placeholders are reported, so the editor can point at typos', () => {
        assert.deepEqual(compileTemplate('{{calId}} {{callId}} {{#tags}}{{.}}{{/tags}}', 'text').unknownNames, ['calId']);
    });
});

describe('template errors', () => {
    function syntaxError(source: string): TemplateSyntaxError {
        try {
            compileTemplate(source, 'json', { where: 'body' });
        } catch (err) {
            assert.ok(err instanceof TemplateSyntaxError, String(err));
            return err;
        }
        assert.fail(`"${source}" parsed`);
    }

    it('an unclosed tag is reported with line and column', () => {
        const err = syntaxError('{\n  "a": "{{callId}}",\n  "b": "{{agent"\n}');
        assert.equal(err.code, 'template');
        assert.equal(err.line, 3);
        assert.equal(err.column, 9);
        assert.equal(err.message, 'body: unclosed tag at line 3, column 9');
    });

    it('an unclosed section names the section and where it opened', () => {
        const err = syntaxError('ok\n{{#tags}}x');
        assert.match(err.message, /unclosed section "tags" at line 2, column 1$/);
    });

    it('an unopened section is reported where it closes', () => {
        const err = syntaxError('a {{/tags}}');
        assert.match(err.message, /unopened section "tags" at line 1, column 3/);
        assert.equal(err.column, 3);
    });

    it('partials are refused rather than rendering silently empty', () => {
        assert.match(syntaxError('{{> other}}').message, /partials .* not supported at line 1, column 1/);
    });

    it('a rendered body that is not JSON names the problem', () => {
        const text = compileTemplate('{"a": {{callerName}}}', 'json').render(sampleCall());
        assert.throws(
            () => parseRenderedJson(text, 'placeholder template'),
            (err: Error & { code?: string }) => {
                assert.equal(err.code, 'json');
                assert.match(err.message, /^placeholder template: the rendered text is not valid JSON/);
                return true;
            },
        );
    });

    it('a template is parsed once, not per render', () => {
        const template = compileTemplate('{{callId}}', 'text');
        const MustacheWriter = Mustache.Writer;
        const originalParse = MustacheWriter.prototype.parse;
        let parses = 0;
        MustacheWriter.prototype.parse = function (this: InstanceType<typeof Mustache.Writer>, ...args: Parameters<typeof originalParse>) {
            parses += 1;
            return originalParse.apply(this, args);
        };
        try {
            for (let i = 0; i < 5; i += 1) template.render(sampleCall());
        } finally {
            MustacheWriter.prototype.parse = originalParse;
        }
        assert.equal(parses, 0);
    });
});
