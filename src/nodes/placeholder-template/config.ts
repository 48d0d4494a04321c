import { ConfigError } from '../../errors/coded-error';
import { isBodyFormat } from '../../placeholders/escaping';
import { parseRenderedJson } from '../../placeholders/json-body';
import { compileTemplate, type CompiledTemplate } from '../../placeholders/template';

/** The node's properties as the flow JSON holds them. */
export interface PlaceholderTemplateProperties {
    template?: string;
    format?: unknown;
    property?: string;
    /** For the json format: `parsed` puts the object on the message, `string` the JSON text. */
    output?: unknown;
}

export type TemplateOutput = 'parsed' | 'string';

export interface PlaceholderTemplateOptions {
    compiled: CompiledTemplate;
    /** The msg property the rendering goes to. */
    property: string;
    output: TemplateOutput;
}

export const DEFAULT_PROPERTY = 'payload';

/** Anything but `string` parses: the default of a flow that never set it. */
export function templateOutputOf(value: unknown): TemplateOutput {
    return value === 'string' ? 'string' : 'parsed';
}

/** The node's options, validated; throws a ConfigError or the template's own CodedError naming the problem. */
export function placeholderTemplateOptions(config: PlaceholderTemplateProperties): PlaceholderTemplateOptions {
    if (!isBodyFormat(config.format)) throw new ConfigError(`format: "${String(config.format)}" is not one of json, xml, form, text`);
    return {
        compiled: compileTemplate(config.template ?? '', config.format),
        property: config.property || DEFAULT_PROPERTY,
        output: templateOutputOf(config.output),
    };
}

/** Renders a template for a call the way the node does on a message: the one code path behind node and preview. */
export function renderBody(compiled: CompiledTemplate, output: TemplateOutput, call: object): unknown {
    const text = compiled.render(call);
    return compiled.format === 'json' && output !== 'string' ? parseRenderedJson(text, 'placeholder template') : text;
}
