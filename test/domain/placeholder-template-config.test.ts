import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import { ConfigError } from '../../src/errors/coded-error';
import { placeholderTemplateOptions, renderBody } from '../../src/nodes/placeholder-template/config';

describe('placeholder template options (config.ts)', () => {
    it('defaults: msg.payload, a json rendering parsed into an object', () => {
        const options = placeholderTemplateOptions({ template: '{"id": "{{callId}}"}', format: 'json' });
        assert.equal(options.property, 'payload');
        assert.equal(options.output, 'parsed');
        assert.deepEqual(renderBody(options.compiled, options.output, { callId: 'c1' }), { id: 'c1' });
    });

    it('output "string" keeps the JSON text; other formats are always text', () => {
        const json = placeholderTemplateOptions({ template: '{"id": "{{callId}}"}', format: 'json', output: 'string', property: 'body' });
        assert.equal(json.property, 'body');
        assert.equal(renderBody(json.compiled, json.output, { callId: 'c1' }), '{"id": "c1"}');
        const form = placeholderTemplateOptions({ template: 'id={{callId}}', format: 'form' });
        assert.equal(renderBody(form.compiled, form.output, sampleCall()), `id=${encodeURIComponent(String((sampleCall() as { callId: string }).callId))}`);
    });

    it('names a format it does not know', () => {
        assert.throws(
            () => placeholderTemplateOptions({ template: '', format: 'yaml' }),
            (err: unknown) => err instanceof ConfigError && err.message === 'format: "yaml" is not one of json, xml, form, text',
        );
        assert.throws(
            () => placeholderTemplateOptions({ template: '' }),
            (err: unknown) => err instanceof ConfigError && err.message.startsWith('format: "undefined" is not one of'),
        );
    });
});
