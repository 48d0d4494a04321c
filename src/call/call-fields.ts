import type { Call } from './call';

export type CallFieldKind = 'text' | 'number' | 'time' | 'list' | 'flag';

export interface CallField {
    /** The placeholder name, `{{name}}` in a template. */
    name: keyof Call;
    /** The label the product shows for it. */
    label: string;
    kind: CallFieldKind;
    description: string;
}

/**
 * Every placeholder a template may use, in the order the product lists them. The editor's placeholder picker and
 * the criteria filter's field list are built from this table.
 */
export const CALL_FIELDS: readonly CallField[] = [
    { name: 'callId', label: 'Call ID', kind: 'text', description: 'The UUID of the call (not the caller ID).' },
    { name: 'reportCallId', label: 'Report Call ID', kind: 'text', description: 'The short call id used in Cradle to Grave and reports.' },
    { name: 'direction', label: 'Call Direction', kind: 'text', description: 'Internal, Inbound, Outbound or Intersite.' },
    { name: 'callerName', label: 'Caller Name', kind: 'text', description: 'The caller ID name.' },
    { name: 'dnis', label: 'DNIS', kind: 'text', description: 'The DNIS of the last event on the call.' },
    { name: 'externalNumber', label: 'External Number', kind: 'text', description: 'The number of the other party on the last event.' },
    { name: 'location', label: 'Location', kind: 'text', description: 'Location of the calling number (inbound) or of the dialed number (outbound).' },
    { name: 'time', label: 'Time', kind: 'time', description: 'Start time of the call, in ms since 1970-01-01 00:00:00 UTC.' },
    { name: 'agent', label: 'Agent', kind: 'text', description: 'The agent of the last event: name and extension, e.g. "John Doe (154)".' },
    { name: 'agentName', label: 'Agent Name', kind: 'text', description: 'The agent of the last event, name only.' },
    { name: 'agentExtension', label: 'Agent Extension', kind: 'text', description: 'The agent of the last event, extension only.' },
    { name: 'group', label: 'Group/Skill', kind: 'text', description: 'The group or skill of the last event.' },
    { name: 'tags', label: 'Tag', kind: 'list', description: 'Tags of all the events of the call, comma-delimited.' },
    { name: 'accountCodes', label: 'Account Codes', kind: 'list', description: 'The account codes of the call, comma-delimited.' },
    {
        name: 'recordingLink',
        label: 'Audio Recording Link',
        kind: 'list',
        description: 'Link to the audio recording of the call (several are comma-delimited).',
    },
    {
        name: 'event',
        label: 'Triggering Event',
        kind: 'text',
        description: 'The id of the event that produced the message: presenting, connected, complete, processed or updated.',
    },
    { name: 'answered', label: 'Answered', kind: 'flag', description: 'true once an agent answered the call; false for a missed call.' },
    { name: 'duration', label: 'Duration', kind: 'number', description: 'Seconds from the start of the call to its last event, where known.' },
    { name: 'updateSeq', label: 'Update Sequence', kind: 'number', description: '1, 2, 3, ... on each "Call is Updated" of the call.' },
    {
        name: 'eventSeq',
        label: 'Event Sequence',
        kind: 'number',
        description: '1, 2, 3, ... on each "Call is Presenting" of the call (a second agent rung is 2), and likewise on each "Call is Connected".',
    },
    {
        name: 'recordingsMissing',
        label: 'Recordings Missing',
        kind: 'flag',
        description: 'true when "Call and Recordings Processed" fired after waiting in vain for a recording.',
    },
];

export function findCallField(name: string): CallField | undefined {
    return CALL_FIELDS.find((field) => field.name === name);
}

/**
 * The text a placeholder renders to: lists comma-delimited as "a, b", a missing value as the empty string.
 */
export function callFieldText(value: unknown): string {
    if (value === undefined || value === null) return '';
    if (Array.isArray(value)) return value.map(callFieldText).join(', ');
    return String(value);
}
