import { InputError } from '../errors/coded-error';
import type { CompiledCriteria, CompiledRule } from './compile';
import { OperandError, parseOperand, readActual, type Actual, type Operand } from './operand';
import type { CriteriaMatch } from './rule';

/** One rule's outcome in msg.criteria. */
export interface RuleOutcome {
    field: string;
    op: string;
    /** The value compared with: the rendered template, the pattern, or absent for empty / notEmpty. */
    value?: string;
    /** The call's value as it was on msg.call; null when the call does not have it. */
    actual: unknown;
    passed: boolean;
    caseSensitive?: boolean;
}

/** msg.criteria: why the call passed or not, for the debug sidebar. */
export interface CriteriaExplanation {
    matched: boolean;
    match: CriteriaMatch;
    rules: RuleOutcome[];
}

function fold(text: string, caseSensitive: boolean): string {
    return caseSensitive ? text : text.toLowerCase();
}

function operandFor(rule: CompiledRule, call: object): { operand?: Operand; shown?: string } {
    if (rule.regex) return { shown: rule.source };
    if (rule.operand) return { operand: rule.operand, shown: rule.source };
    if (!rule.template) return {};
    const rendered = rule.template.render(call);
    try {
        return { operand: parseOperand(rule.field.kind, rule.operator.op, rendered), shown: rendered };
    } catch (err) {
        if (err instanceof OperandError) {
            const callId = (call as { callId?: unknown }).callId;
            throw new InputError(`rule ${rule.number} value "${rule.source}" of call ${String(callId)} rendered ${err.message}`);
        }
        throw err;
    }
}

function textOperand(operand: Operand | undefined): string {
    return operand?.type === 'text' ? operand.text : '';
}

function textsOperand(operand: Operand | undefined): string[] {
    return operand?.type === 'texts' ? operand.texts : [];
}

function compareNumbers(op: string, actual: number, operand: Operand | undefined): boolean {
    if (op === 'in' || op === 'notIn') {
        const found = operand?.type === 'numbers' && operand.numbers.includes(actual);
        return op === 'in' ? found : !found;
    }
    const value = operand?.type === 'number' ? operand.number : undefined;
    // A missing or non-numeric side: equal only when both are missing, never ordered.
    const comparable = Number.isFinite(actual) && value !== undefined;
    switch (op) {
        case 'eq':
            return comparable ? actual === value : Number.isNaN(actual) && value === undefined;
        case 'neq':
            return !compareNumbers('eq', actual, operand);
        case 'gt':
            return comparable && actual > value;
        case 'gte':
            return comparable && actual >= value;
        case 'lt':
            return comparable && actual < value;
        case 'lte':
            return comparable && actual <= value;
        default:
            return false;
    }
}

function compareText(rule: CompiledRule, actual: string, operand: Operand | undefined): boolean {
    const cs = rule.caseSensitive;
    const text = fold(actual, cs);
    switch (rule.operator.op) {
        case 'eq':
            return text === fold(textOperand(operand), cs);
        case 'neq':
            return text !== fold(textOperand(operand), cs);
        case 'contains':
            return text.includes(fold(textOperand(operand), cs));
        case 'notContains':
            return !text.includes(fold(textOperand(operand), cs));
        case 'startsWith':
            return text.startsWith(fold(textOperand(operand), cs));
        case 'endsWith':
            return text.endsWith(fold(textOperand(operand), cs));
        case 'regex':
            return rule.regex ? rule.regex.test(actual) : false;
        case 'in':
            return textsOperand(operand).some((item) => fold(item, cs) === text);
        case 'notIn':
            return !textsOperand(operand).some((item) => fold(item, cs) === text);
        default:
            return false;
    }
}

/**
 * Lists are tested member by member ("tags contains VIP" means VIP is one of the tags), except eq / neq, which
 * compare the text the list renders to, "a, b", like a template shows it.
 */
function compareList(rule: CompiledRule, members: string[], operand: Operand | undefined): boolean {
    const cs = rule.caseSensitive;
    const folded = members.map((member) => fold(member, cs));
    const value = fold(textOperand(operand), cs);
    switch (rule.operator.op) {
        case 'eq':
        case 'neq':
            return compareText(rule, members.join(', '), operand);
        case 'contains':
            return folded.includes(value);
        case 'notContains':
            return !folded.includes(value);
        case 'startsWith':
            return folded.some((member) => member.startsWith(value));
        case 'endsWith':
            return folded.some((member) => member.endsWith(value));
        case 'regex':
            return members.some((member) => (rule.regex ? rule.regex.test(member) : false));
        case 'in':
        case 'notIn': {
            const items = textsOperand(operand).map((item) => fold(item, cs));
            const found = folded.some((member) => items.includes(member));
            return rule.operator.op === 'in' ? found : !found;
        }
        default:
            return false;
    }
}

function comparePresence(op: string, actual: Actual): boolean | undefined {
    if (op === 'empty') return actual.missing;
    if (op === 'notEmpty') return !actual.missing;
    return undefined;
}

function evaluateRule(rule: CompiledRule, call: Record<string, unknown>): RuleOutcome {
    const raw = call[rule.field.name];
    const actual = readActual(rule.field.kind, raw);
    const { operand, shown } = operandFor(rule, call);
    let passed = comparePresence(rule.operator.op, actual);
    if (passed === undefined) {
        switch (actual.type) {
            case 'number':
                passed = compareNumbers(rule.operator.op, actual.missing ? NaN : actual.number, operand);
                break;
            case 'flag': {
                // A flag the call does not carry is false: recordingsMissing is only ever set to true.
                const value = operand?.type === 'flag' ? operand.flag : undefined;
                const equal = value !== undefined && actual.flag === value;
                passed = rule.operator.op === 'eq' ? equal : !equal;
                break;
            }
            case 'list':
                passed = compareList(rule, actual.members, operand);
                break;
            default:
                passed = compareText(rule, actual.text, operand);
        }
    }
    const outcome: RuleOutcome = { field: rule.field.name, op: rule.operator.op, actual: raw === undefined ? null : raw, passed };
    if (shown !== undefined) outcome.value = shown;
    if (rule.caseSensitive) outcome.caseSensitive = true;
    return outcome;
}

/**
 * Applies the rules to a call. Every rule is evaluated, even once the answer is known, so msg.criteria explains
 * all of them. With no rules every call passes, as the product's "Triggering Call Criteria" does.
 */
export function evaluateCriteria(criteria: CompiledCriteria, call: object): CriteriaExplanation {
    const outcomes = criteria.rules.map((rule) => evaluateRule(rule, call as Record<string, unknown>));
    const matched =
        outcomes.length === 0 || (criteria.match === 'any' ? outcomes.some((outcome) => outcome.passed) : outcomes.every((outcome) => outcome.passed));
    return { matched, match: criteria.match, rules: outcomes };
}
