/**
 * Every failure the package reports carries a short, stable `code` (documented in the README and node help) so a
 * flow can branch on `msg.error.code` after a Catch node instead of parsing English text.
 */
export type ErrorCode =
    | 'config'
    | 'input'
    | 'template'
    | 'render'
    | 'header'
    | 'json'
    | 'url'
    | 'timeout'
    | 'dns'
    | 'tls'
    | 'refused'
    | 'reset'
    | 'network'
    | 'http-3xx'
    | 'http-4xx'
    | 'http-5xx'
    | 'store'
    | 'queue-full'
    | 'auth';

export class CodedError extends Error {
    readonly code: ErrorCode;

    constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'CodedError';
        this.code = code;
    }

    /**
     * Node-RED builds `msg.error.message` and its log line from `toString()`; the class name would only be noise
     * there, since the stable `code` travels beside it as `msg.error.code`.
     */
    override toString(): string {
        return this.message;
    }
}

/** A node property that cannot work; reported on deploy, before any message arrives. */
export class ConfigError extends CodedError {
    constructor(message: string, options?: { cause?: unknown }) {
        super('config', message, options);
        this.name = 'ConfigError';
    }
}

/** A message or event that cannot be processed; reported on that message so a Catch node sees it. */
export class InputError extends CodedError {
    constructor(message: string, options?: { cause?: unknown }) {
        super('input', message, options);
        this.name = 'InputError';
    }
}
