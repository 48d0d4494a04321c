import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { sampleCall } from '../call/sample-call';
import { CodedError, ConfigError } from '../errors/coded-error';
import { isBodyFormat, type BodyFormat } from '../placeholders/escaping';
import { parseRenderedJson } from '../placeholders/json-body';
import { compileTemplate, type CompiledTemplate } from '../placeholders/template';
import { computingAdminRoute } from './shared/admin-request';
import { registerEditorResources } from './shared/editor-resources';
import { callOf } from './shared/msg-call';

interface PlaceholderTemplateConfig extends NodeDef {
    template: string;
    format: BodyFormat;
    property: string;
    /** For the json format: `parsed` puts the object on the message, `string` the JSON text. */
    output: 'parsed' | 'string';
}

interface PreviewRequest {
    template?: unknown;
    format?: unknown;
    output?: unknown;
    call?: unknown;
}


/** Renders a template for a call the way the node does on a message: the one code path behind node and preview. */
function renderBody(compiled: CompiledTemplate, output: PlaceholderTemplateConfig['output'], call: object): unknown {
    const text = compiled.render(call);
    return compiled.format === 'json' && output !== 'string' ? parseRenderedJson(text, 'placeholder template') : text;
}

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function PlaceholderTemplateNode(this: Node, config: PlaceholderTemplateConfig): void {
        RED.nodes.createNode(this, config);
        const property = config.property || 'payload';
        const output = config.output === 'string' ? 'string' : 'parsed';
        let compiled: CompiledTemplate | undefined;
        let configError: Error | undefined;
        try {
            if (!isBodyFormat(config.format)) throw new ConfigError(`format: "${String(config.format)}" is not one of json, xml, form, text`);
            compiled = compileTemplate(config.template ?? '', config.format);
        } catch (err) {
            configError = err as Error;
            this.status({ fill: 'red', shape: 'ring', text: RED._('placeholder-template.status.invalid') });
            this.error(configError.message);
        }

        this.on('input', (msg: NodeMessageInFlow & { call?: unknown }, send, done) => {
            if (!compiled) {
                done(configError);
                return;
            }
            try {
                const call = callOf(msg, 'the placeholder template renders call data from msg.call');
                RED.util.setMessageProperty(msg, property, renderBody(compiled, output, call), true);
            } catch (err) {
                done(err as Error);
                return;
            }
            send(msg);
            done();
        });
    }

    RED.nodes.registerType('placeholder-template', PlaceholderTemplateNode);

    // The edit dialog's preview: the node's own rendering applied to the sample call (or one the user edited).
    RED.httpAdmin.post('/placeholder-template/preview', ...computingAdminRoute(RED, 'placeholder-template', '/placeholder-template/preview'), (req, res) => {
        const body = (req.body ?? {}) as PreviewRequest;
        const format = isBodyFormat(body.format) ? body.format : 'text';
        const call = typeof body.call === 'object' && body.call !== null ? body.call : sampleCall();
        try {
            const compiled = compileTemplate(typeof body.template === 'string' ? body.template : '', format);
            const rendered = renderBody(compiled, body.output === 'string' ? 'string' : 'parsed', call);
            res.json({ output: typeof rendered === 'string' ? rendered : JSON.stringify(rendered, null, 2), unknownNames: compiled.unknownNames });
        } catch (err) {
            res.json({ error: err instanceof Error ? err.message : String(err), code: err instanceof CodedError ? err.code : undefined });
        }
    });
};
