/**
 * The criteria filter's configuration as it is stored in flow JSON. These property names are public API.
 */
export interface CriteriaRule {
    /** A call placeholder name, e.g. `direction`, `tags`, `duration`. */
    field: string;
    /** One of the operators in OPERATORS, e.g. `eq`, `contains`, `gt`. */
    op: string;
    /** Text, a comma list (in / notIn), a number, a time, a pattern (regex) or a Mustache template over msg.call. */
    value?: string;
    /** Text comparisons ignore case unless this is true. */
    caseSensitive?: boolean;
}

export type CriteriaMatch = 'all' | 'any';

export interface CriteriaConfig {
    rules?: unknown;
    match?: unknown;
    outputs?: unknown;
}
