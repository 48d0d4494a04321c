// One trigger of one call, named the same way by the call player (from the call snapshot the trigger rules give)
// and by the stand-in CRM (from the request body the demo flow renders: callId, event, agent, updateSeq). The agent
// tells apart the two Call is Presenting of a call that rings a second agent; updateSeq each Call is Updated.
'use strict';

function triggerName(call) {
    return [call.callId, call.event, call.agent ?? '', call.updateSeq ?? ''].map(String).join(' | ');
}

module.exports = { triggerName };
