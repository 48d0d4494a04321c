// The package's domain as a library, for code that runs beside the nodes (a function node, a test harness, a
// service of your own): the call model and placeholders, raw-event validation and call tracking, criteria,
// templates, request building, the idempotency key, Standard Webhooks signing, platform adapters and the
// simulator. Only what is listed here is public API; the modules behind it may change shape between versions.
export { agentDisplayName, CALL_DIRECTIONS, type Call, type CallDirection, type TriggerEventId } from './call/call';
export { CALL_FIELDS, callFieldText, findCallField, type CallField, type CallFieldKind } from './call/call-fields';
export { TRIGGER_EVENTS, triggerEventLabel, type TriggerEvent } from './call/trigger-events';
export { sampleCall } from './call/sample-call';
export { RAW_EVENT_TYPES, type RawEvent, type RawEventType } from './call/raw-event';
export { CodedError, ConfigError, InputError, type ErrorCode } from './errors/coded-error';

export { DEFAULT_EVENT_LIMITS, LimitExceededError, type EventLimits } from './lifecycle/event-limits';
export { validateRawEvent, validateRawEvents } from './lifecycle/raw-event-validation';
export { CallTracker, DEFAULT_TRACKER_OPTIONS, type TrackerOptions, type Trigger } from './lifecycle/call-tracker';

export { BODY_FORMATS, type BodyFormat, type PlaceholderFormat } from './placeholders/escaping';
export { compileTemplate, TemplateSyntaxError, type CompiledTemplate, type TemplateOptions } from './placeholders/template';

export { compileCriteria, CriteriaConfigError, type CompiledCriteria, type CriteriaProblem } from './criteria/compile';
export { evaluateCriteria, type CriteriaExplanation, type RuleOutcome } from './criteria/evaluate';
export { OPERATORS, type CriteriaOperator } from './criteria/operators';
export type { CriteriaRule, CriteriaMatch } from './criteria/rule';

export { compileRequest, type OutgoingRequest, type RequestBuilder } from './request/build-request';
export type { AuthType, BodyType, HttpMethod, NameValue, RequestConfig, RequestCredentials } from './request/request-config';
export { DEFAULT_IDEMPOTENCY_HEADER, idempotencyKey } from './delivery/idempotency';
export { signWebhook, verifyWebhook, type WebhookSignatureHeaders } from './signing/standard-webhooks';

export { createWebhookAdapter, WEBHOOK_SOURCES, type WebhookSource, type WebhookSourceConfig } from './adapters/sources';
export { previewCustomMapping, validateMapping, MAPPED_FIELDS, type CustomMapping, type MappingPreview } from './adapters/custom-mapping';
export { WebhookRejection, type AdapterOutcome, type WebhookAdapter, type WebhookAnswer, type WebhookRequest } from './adapters/adapter';

export { callLife, seededRandom, type CallLifeOptions, type CallStep } from './simulator/call-lives';
export { simulateCalls, type SimulationOptions, type SimulationSummary } from './simulator/simulate';
