import { InputError } from '../errors/coded-error';
import { logText } from '../logging/log-text';
import type { CompiledCriteria, CompiledRule } from './compile';
import { fieldText, OperandError, parseOperand, readActual, readDecimal, type Actual, type Operand } from './operand';
import { isOrdering } from './operators';
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
    /** Why the rule failed when the call's value could not be compared at all (not a number, too long for a regex). */
    reason?: string;
}

/** Work counters of one evaluation, for callers (and tests) that check the bound by count. */
export interface CriteriaWork {
    /** Regex VM steps per rule number; each is at most that rule's regex.worstCaseSteps. */
    regexSteps: Map<number, number>;
}

/** The shortest form of a call's value that still tells a reader which value it was. */
function shownValue(text: string): string {
    return `"${logText(text, 60)}"`;
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

interface Verdict {
    passed: boolean;
    reason?: string;
}

/**
 * A list is tested member by member, but its bound is its "a, b" text: the steps of all members together stay
 * within programSize x (joined length + 1), so one bound covers text and list alike. A longer value is not tested
 * in part (a partial test could pass or fail wrongly): the rule fails and says so.
 */
function evaluateRegex(rule: CompiledRule, actual: Actual, work: CriteriaWork | undefined): Verdict {
    const regex = rule.regex;
    if (!regex) return { passed: false };
    const inputs = actual.type === 'list' ? actual.members : [actual.type === 'text' ? actual.text : ''];
    const length = actual.type === 'list' ? inputs.join(', ').length : inputs[0].length;
    if (length > regex.maxInputLength) {
        return { passed: false, reason: `the value is ${length} characters, over the ${regex.maxInputLength} a regex is tested on` };
    }
    let steps = 0;
    let passed = false;
    for (const input of inputs) {
        const result = regex.run(input);
        steps += result.steps;
        if (result.matched) {
            passed = true;
            break;
        }
    }
    work?.regexSteps.set(rule.number, steps);
    return { passed };
}

/** "agentExtension gte 200": the text must read as a decimal number, or the rule fails saying why. */
function evaluateOrderingOnText(rule: CompiledRule, actual: Actual & { type: 'text' }, operand: Operand | undefined): Verdict {
    if (actual.missing) return { passed: false };
    try {
        return { passed: compareNumbers(rule.operator.op, readDecimal(actual.text), operand) };
    } catch (err) {
        if (err instanceof OperandError) return { passed: false, reason: `${shownValue(actual.text)} is not a number` };
        throw err;
    }
}

function evaluateRule(rule: CompiledRule, call: Record<string, unknown>, work: CriteriaWork | undefined): RuleOutcome {
    const raw = call[rule.field.name];
    const actual = readActual(rule.field.kind, raw);
    const { operand, shown } = operandFor(rule, call);
    let passed = comparePresence(rule.operator.op, actual);
    let reason: string | undefined;
    if (passed === undefined && rule.regex) {
        ({ passed, reason } = evaluateRegex(rule, actual, work));
    } else if (passed === undefined && actual.type === 'text' && isOrdering(rule.operator.op)) {
        ({ passed, reason } = evaluateOrderingOnText(rule, actual, operand));
    } else if (passed === undefined) {
        switch (actual.type) {
            case 'number':
                passed = compareNumbers(rule.operator.op, actual.missing ? NaN : actual.number, operand);
                if (!actual.missing && Number.isNaN(actual.number) && rule.field.kind === 'number') reason = `${shownValue(fieldText(raw))} is not a number`;
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
    if (reason !== undefined) outcome.reason = reason;
    return outcome;
}

/**
 * Applies the rules to a call. Every rule is evaluated, even once the answer is known, so msg.criteria explains
 * all of them. With no rules every call passes, as the product's "Triggering Call Criteria" does.
 */
export function evaluateCriteria(criteria: CompiledCriteria, call: object, work?: CriteriaWork): CriteriaExplanation {
    const outcomes = criteria.rules.map((rule) => evaluateRule(rule, call as Record<string, unknown>, work));
    const matched =
        outcomes.length === 0 || (criteria.match === 'any' ? outcomes.some((outcome) => outcome.passed) : outcomes.every((outcome) => outcome.passed));
    return { matched, match: criteria.match, rules: outcomes };
}
