import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { registerEditorResources } from '../shared/editor-resources';
import { callOf } from '../shared/msg-call';
import { registerPreviewRoute } from './admin';
import { placeholderTemplateOptions, renderBody, type PlaceholderTemplateOptions, type PlaceholderTemplateProperties } from './config';

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function PlaceholderTemplateNode(this: Node, config: NodeDef & PlaceholderTemplateProperties): void {
        RED.nodes.createNode(this, config);
        let options: PlaceholderTemplateOptions | undefined;
        let configError: Error | undefined;
        try {
            options = placeholderTemplateOptions(config);
        } catch (err) {
            configError = err as Error;
            this.status({ fill: 'red', shape: 'ring', text: RED._('placeholder-template.status.invalid') });
            this.error(configError.message);
        }

        this.on('input', (msg: NodeMessageInFlow & { call?: unknown }, send, done) => {
            if (!options) {
                done(configError);
                return;
            }
            try {
                const call = callOf(msg, 'the placeholder template renders call data from msg.call');
                RED.util.setMessageProperty(msg, options.property, renderBody(options.compiled, options.output, call), true);
            } catch (err) {
                done(err as Error);
                return;
            }
            send(msg);
            done();
        });
    }

    RED.nodes.registerType('placeholder-template', PlaceholderTemplateNode);
    registerPreviewRoute(RED);
};
