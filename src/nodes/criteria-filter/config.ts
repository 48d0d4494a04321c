import { compileCriteria, CriteriaConfigError, type CompiledCriteria } from '../../criteria/compile';

/** The node's properties as the flow JSON holds them; compileCriteria owns their defaults and validation. */
export interface CriteriaFilterProperties {
    rules?: unknown;
    match?: unknown;
    outputs?: unknown;
}

/** The compiled criteria, or a CriteriaConfigError listing every problem (each naming its rule). */
export function criteriaFilterOptions(config: CriteriaFilterProperties): CompiledCriteria {
    return compileCriteria({ rules: config.rules, match: config.match, outputs: config.outputs });
}

/** The problem the status shows: it has room for one, the log line lists them all. */
export function firstProblem(err: unknown): string {
    if (err instanceof CriteriaConfigError && err.problems.length > 0) return err.problems[0].message;
    return err instanceof Error ? err.message : String(err);
}

/** The edit dialog's check: the problems the runtime would find, none when the rules deploy. */
export function criteriaProblems(config: CriteriaFilterProperties): ReadonlyArray<{ message: string }> {
    try {
        criteriaFilterOptions(config);
        return [];
    } catch (err) {
        return err instanceof CriteriaConfigError ? err.problems : [{ message: String(err) }];
    }
}
