import type { CallFieldKind } from '../call/call-fields';

export type CriteriaOperator =
    'eq' | 'neq' | 'contains' | 'notContains' | 'startsWith' | 'endsWith' | 'regex' | 'in' | 'notIn' | 'empty' | 'notEmpty' | 'gt' | 'gte' | 'lt' | 'lte';

export interface OperatorInfo {
    op: CriteriaOperator;
    /** Short form for the node's label, e.g. `direction = Inbound`. */
    symbol: string;
    /** The field kinds the operator is offered for (and accepted on deploy). */
    kinds: readonly CallFieldKind[];
    /** False for empty / notEmpty, which look at the field alone. */
    needsValue: boolean;
    /** Whether the rule's "case sensitive" choice changes anything. */
    comparesText: boolean;
}

/**
 * Which operator fits which field kind. Ordering operators also fit text fields, because extensions, DNIS and
 * report call ids are numbers to the people who write rules ("agentExtension gte 200"): the value must be a number
 * on deploy, and a call whose text does not read as a number fails the rule with a reason (see ORDERING_OPERATORS).
 * eq / in on a text field stay text comparisons, so flows saved before keep their meaning.
 */
export const OPERATORS: readonly OperatorInfo[] = [
    { op: 'eq', symbol: '=', kinds: ['text', 'number', 'time', 'list', 'flag'], needsValue: true, comparesText: true },
    { op: 'neq', symbol: '≠', kinds: ['text', 'number', 'time', 'list', 'flag'], needsValue: true, comparesText: true },
    { op: 'contains', symbol: 'contains', kinds: ['text', 'list'], needsValue: true, comparesText: true },
    { op: 'notContains', symbol: 'lacks', kinds: ['text', 'list'], needsValue: true, comparesText: true },
    { op: 'startsWith', symbol: 'starts', kinds: ['text', 'list'], needsValue: true, comparesText: true },
    { op: 'endsWith', symbol: 'ends', kinds: ['text', 'list'], needsValue: true, comparesText: true },
    { op: 'regex', symbol: '~', kinds: ['text', 'list'], needsValue: true, comparesText: true },
    { op: 'in', symbol: 'in', kinds: ['text', 'number', 'list'], needsValue: true, comparesText: true },
    { op: 'notIn', symbol: 'not in', kinds: ['text', 'number', 'list'], needsValue: true, comparesText: true },
    { op: 'empty', symbol: 'is empty', kinds: ['text', 'number', 'time', 'list', 'flag'], needsValue: false, comparesText: false },
    { op: 'notEmpty', symbol: 'is set', kinds: ['text', 'number', 'time', 'list', 'flag'], needsValue: false, comparesText: false },
    { op: 'gt', symbol: '>', kinds: ['number', 'time', 'text'], needsValue: true, comparesText: false },
    { op: 'gte', symbol: '≥', kinds: ['number', 'time', 'text'], needsValue: true, comparesText: false },
    { op: 'lt', symbol: '<', kinds: ['number', 'time', 'text'], needsValue: true, comparesText: false },
    { op: 'lte', symbol: '≤', kinds: ['number', 'time', 'text'], needsValue: true, comparesText: false },
];

/** Operators that compare as numbers whatever the field's kind. */
export const ORDERING_OPERATORS: readonly CriteriaOperator[] = ['gt', 'gte', 'lt', 'lte'];

export function isOrdering(op: CriteriaOperator): boolean {
    return ORDERING_OPERATORS.includes(op);
}

export function findOperator(op: unknown): OperatorInfo | undefined {
    return OPERATORS.find((info) => info.op === op);
}

export function operatorsFor(kind: CallFieldKind): OperatorInfo[] {
    return OPERATORS.filter((info) => info.kinds.includes(kind));
}
