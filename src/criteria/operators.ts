import type { CallFieldKind } from '../call/call-fields';

export type CriteriaOperator =
    | 'eq'
    | 'neq'
    | 'contains'
    | 'notContains'
    | 'startsWith'
    | 'endsWith'
    | 'regex'
    | 'in'
    | 'notIn'
    | 'empty'
    | 'notEmpty'
    | 'gt'
    | 'gte'
    | 'lt'
    | 'lte';

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
 * Which operator fits which field kind. Ordering operators only make sense on numbers and times; a text field such
 * as dnis that merely looks numeric is compared as text, so `gt` there would be a surprise and is refused.
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
    { op: 'gt', symbol: '>', kinds: ['number', 'time'], needsValue: true, comparesText: false },
    { op: 'gte', symbol: '≥', kinds: ['number', 'time'], needsValue: true, comparesText: false },
    { op: 'lt', symbol: '<', kinds: ['number', 'time'], needsValue: true, comparesText: false },
    { op: 'lte', symbol: '≤', kinds: ['number', 'time'], needsValue: true, comparesText: false },
];

export function findOperator(op: unknown): OperatorInfo | undefined {
    return OPERATORS.find((info) => info.op === op);
}

export function operatorsFor(kind: CallFieldKind): OperatorInfo[] {
    return OPERATORS.filter((info) => info.kinds.includes(kind));
}
