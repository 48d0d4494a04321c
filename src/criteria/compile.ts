import { findCallField, type CallField } from '../call/call-fields';
import { ConfigError } from '../errors/coded-error';
import { compileTemplate, type CompiledTemplate } from '../placeholders/template';
import { findOperator, type OperatorInfo } from './operators';
import { OperandError, parseOperand, type Operand } from './operand';
import type { CriteriaConfig, CriteriaMatch, CriteriaRule } from './rule';
import { compileSafeRegex, RegexSyntaxError, RegexTooComplexError, type SafeRegex } from './safe-regex';

export interface CompiledRule {
    /** 1-based, as the editor numbers the rows and every message names them. */
    number: number;
    field: CallField;
    operator: OperatorInfo;
    caseSensitive: boolean;
    /** The value as configured, shown in msg.criteria for a regex. */
    source: string | undefined;
    /** Set for a plain value: parsed once, here. */
    operand?: Operand;
    /** Set for a value with placeholders: rendered from msg.call, then parsed, on each message. */
    template?: CompiledTemplate;
    regex?: SafeRegex;
}

export interface CompiledCriteria {
    rules: CompiledRule[];
    match: CriteriaMatch;
    outputs: 1 | 2;
}

export interface CriteriaProblem {
    /** The 1-based rule the problem is in; absent for a node-level property. */
    rule?: number;
    message: string;
}

/** Every problem of a criteria filter's configuration, found on deploy. */
export class CriteriaConfigError extends ConfigError {
    readonly problems: readonly CriteriaProblem[];

    constructor(problems: CriteriaProblem[]) {
        super(problems.map((problem) => problem.message).join('; '));
        this.name = 'CriteriaConfigError';
        this.problems = problems;
    }
}

function compileRule(rule: unknown, number: number): CompiledRule {
    const where = `rule ${number}`;
    if (typeof rule !== 'object' || rule === null) throw new OperandError(`${where}: must be an object with field, op and value`);
    const { field: fieldName, op, value, caseSensitive } = rule as Partial<CriteriaRule>;
    const field = typeof fieldName === 'string' ? findCallField(fieldName) : undefined;
    if (!field) throw new OperandError(`${where}: unknown field "${String(fieldName ?? '')}"`);
    const operator = findOperator(op);
    if (!operator) throw new OperandError(`${where}: unknown operator "${String(op ?? '')}"`);
    if (!operator.kinds.includes(field.kind)) {
        throw new OperandError(`${where}: operator "${operator.op}" does not fit ${field.kind} field "${field.name}"`);
    }
    const compiled: CompiledRule = { number, field, operator, caseSensitive: caseSensitive === true, source: undefined };
    if (!operator.needsValue) return compiled;
    if (value !== undefined && value !== null && typeof value !== 'string') throw new OperandError(`${where}: value must be text`);
    if (value === undefined || value === null || value.trim() === '') throw new OperandError(`${where}: "${operator.op}" needs a value`);
    compiled.source = value;

    if (operator.op === 'regex') {
        // A pattern is never a template: braces are regex syntax, and it must be compiled (and checked) here.
        try {
            compiled.regex = compileSafeRegex(value, { caseSensitive: compiled.caseSensitive });
        } catch (err) {
            if (err instanceof RegexSyntaxError) throw new OperandError(`${where}: invalid regex: ${err.message}`);
            if (err instanceof RegexTooComplexError) throw new OperandError(`${where}: ${err.message}`);
            throw err;
        }
        return compiled;
    }

    const template = compileTemplate(value, 'text', { where: `${where} value` });
    if (template.isPlainText) {
        try {
            compiled.operand = parseOperand(field.kind, operator.op, value);
        } catch (err) {
            if (err instanceof OperandError) throw new OperandError(`${where}: ${err.message}`);
            throw err;
        }
        return compiled;
    }
    // A misspelt placeholder would render empty and silently change what the rule means.
    if (template.unknownNames.length > 0) {
        throw new OperandError(`${where} value: not a call placeholder: ${template.unknownNames.join(', ')}`);
    }
    compiled.template = template;
    return compiled;
}

function compileOutputs(outputs: unknown): 1 | 2 {
    if (outputs === undefined || outputs === null || outputs === '') return 1;
    const count = Number(outputs);
    if (count !== 1 && count !== 2) throw new OperandError(`outputs: must be 1 or 2, got "${String(outputs)}"`);
    return count;
}

function compileMatch(match: unknown): CriteriaMatch {
    if (match === undefined || match === null || match === '') return 'all';
    if (match !== 'all' && match !== 'any') throw new OperandError(`match: must be "all" or "any", got "${String(match)}"`);
    return match;
}

/**
 * Compiles a criteria filter's properties once, on deploy: fields, operators, values, templates and regexes are
 * all checked here, so a message never meets a rule that cannot work. Throws CriteriaConfigError listing every
 * problem, each naming its rule.
 */
export function compileCriteria(config: CriteriaConfig): CompiledCriteria {
    const problems: CriteriaProblem[] = [];
    const attempt = <T>(rule: number | undefined, build: () => T): T | undefined => {
        try {
            return build();
        } catch (err) {
            // Template syntax errors arrive as CodedErrors that already name "rule N value".
            problems.push({ rule, message: err instanceof Error ? err.message : String(err) });
            return undefined;
        }
    };
    const match = attempt(undefined, () => compileMatch(config.match));
    const outputs = attempt(undefined, () => compileOutputs(config.outputs));
    const rawRules = config.rules === undefined || config.rules === null || config.rules === '' ? [] : config.rules;
    const rules: CompiledRule[] = [];
    if (!Array.isArray(rawRules)) {
        problems.push({ message: 'rules: must be a list of { field, op, value }' });
    } else {
        rawRules.forEach((rule, index) => {
            const compiled = attempt(index + 1, () => compileRule(rule, index + 1));
            if (compiled) rules.push(compiled);
        });
    }
    if (problems.length > 0 || !match || !outputs) throw new CriteriaConfigError(problems);
    return { rules, match, outputs };
}
