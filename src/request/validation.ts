import { CodedError } from '../errors/coded-error';
import { errorText } from '../errors/error-text';
import { parseDeadLetterSettings } from '../delivery/dead-letters';
import { parseRetries } from '../delivery/retry-schedule';
import { compileUrl } from './url-template';

/** The web service out settings the editor cannot judge alone, as its dialog holds them. */
export interface SettingsToCheck {
    url?: unknown;
    authType?: unknown;
    retries?: unknown;
    deadLetters?: unknown;
    deadLetterDays?: unknown;
}

export interface SettingProblem {
    field: 'url' | 'retries' | 'deadLetters' | 'deadLetterDays';
    /** The runtime's own reason, without the leading `<field>: ` its deploy error carries. */
    problem: string;
}

// A reason is the text of the runtime's coded error (a ConfigError, a template's syntax error); any other error is
// a fault of the check itself and propagates.
function problemOf(field: SettingProblem['field'], check: () => unknown): SettingProblem[] {
    try {
        check();
        return [];
    } catch (err) {
        if (!(err instanceof CodedError)) throw err;
        return [{ field, problem: errorText(err).replace(new RegExp(`^${field}: `), '') }];
    }
}

/**
 * Runs the very compilers the node runs on deploy (Target URL, retry schedule), so the editor accepts exactly what
 * deploys. A setting that is absent is not judged: Node-RED's own `required` speaks for an empty URL, and a flow
 * without `retries` gets the default schedule.
 */
export function settingProblems(settings: SettingsToCheck): SettingProblem[] {
    const problems: SettingProblem[] = [];
    if (typeof settings.url === 'string' && settings.url.trim() !== '') {
        problems.push(...problemOf('url', () => compileUrl(settings.url as string, { providerOrigin: settings.authType === 'oauth2' })));
    }
    if (settings.retries !== undefined) problems.push(...problemOf('retries', () => parseRetries(settings.retries)));
    if (settings.deadLetters !== undefined) problems.push(...problemOf('deadLetters', () => parseDeadLetterSettings(settings.deadLetters, undefined)));
    if (settings.deadLetterDays !== undefined) problems.push(...problemOf('deadLetterDays', () => parseDeadLetterSettings(undefined, settings.deadLetterDays)));
    return problems;
}
