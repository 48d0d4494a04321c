import type { NodeAPI } from 'node-red';
import { sampleCall } from '../../call/sample-call';
import { CodedError } from '../../errors/coded-error';
import { isBodyFormat } from '../../placeholders/escaping';
import { compileTemplate } from '../../placeholders/template';
import { computingAdminRoute } from '../shared/admin-request';
import { renderBody, templateOutputOf } from './config';

interface PreviewRequest {
    template?: unknown;
    format?: unknown;
    output?: unknown;
    call?: unknown;
}

/** The edit dialog's preview: the node's own rendering applied to the sample call (or one the user edited). */
export function registerPreviewRoute(RED: NodeAPI): void {
    RED.httpAdmin.post('/placeholder-template/preview', ...computingAdminRoute(RED, 'placeholder-template', '/placeholder-template/preview'), (req, res) => {
        const body = (req.body ?? {}) as PreviewRequest;
        const format = isBodyFormat(body.format) ? body.format : 'text';
        const call = typeof body.call === 'object' && body.call !== null ? body.call : sampleCall();
        try {
            const compiled = compileTemplate(typeof body.template === 'string' ? body.template : '', format);
            const rendered = renderBody(compiled, templateOutputOf(body.output), call);
            res.json({ output: typeof rendered === 'string' ? rendered : JSON.stringify(rendered, null, 2), unknownNames: compiled.unknownNames });
        } catch (err) {
            res.json({ error: err instanceof Error ? err.message : String(err), code: err instanceof CodedError ? err.code : undefined });
        }
    });
}
