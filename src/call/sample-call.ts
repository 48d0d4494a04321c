import type { Call } from './call';

/**
 * A realistic call used by the editors' previews and Test buttons, so a user sees real-looking output before a
 * platform is connected.
 */
export function sampleCall(): Call {
    return {
        callId: '1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90',
        reportCallId: '40213',
        direction: 'Inbound',
        callerName: 'Jane Roe',
        dnis: '8005551234',
        externalNumber: '8015550000',
        location: 'Salt Lake City, UT',
        time: 1732482000000,
        agent: 'John Doe (154)',
        agentName: 'John Doe',
        agentExtension: '154',
        group: 'Sales',
        tags: ['VIP', 'Callback'],
        accountCodes: ['Opp Won', 'Large Sale'],
        recordingLink: ['https://recordings.example.com/calls/1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90.wav'],
        event: 'complete',
        answered: true,
        duration: 312,
    };
}
