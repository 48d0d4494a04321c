// The domain layer as a library: plain modules with no Node-RED import, usable and testable on their own.
export * from './call/call';
export * from './call/call-fields';
export * from './call/trigger-events';
export * from './call/sample-call';
export * from './errors/coded-error';
export * from './placeholders/escaping';
export * from './placeholders/template';
export * from './placeholders/json-body';
export * from './call/raw-event';
