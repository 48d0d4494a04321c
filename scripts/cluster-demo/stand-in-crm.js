// The cluster demo's stand-in CRM: 201 for every request, counting requests and repeats (a request whose
// idempotency key and body it has had before), and keeping, for each trigger, the idempotency keys it came under.
// (The key alone repeats by design when a call rings a second agent: both are Call is Presenting of one call; their
// bodies name different agents.)
'use strict';
const http = require('node:http');
const { triggerName } = require('./trigger-name');

function startStandInCrm(port) {
    const seen = new Set();
    const stats = { requests: 0, repeated: 0 };
    /** trigger name -> { callId, keys: Set, requests } */
    const triggers = new Map();
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            const key = req.headers['idempotency-key'];
            stats.requests += 1;
            const request = `${key} ${body}`;
            if (seen.has(request)) stats.repeated += 1;
            seen.add(request);
            let fields;
            try {
                fields = JSON.parse(body);
            } catch {
                fields = undefined;
            }
            if (fields && typeof fields.callId === 'string') {
                const name = triggerName(fields);
                const trigger = triggers.get(name) ?? { callId: fields.callId, keys: new Set(), requests: 0 };
                trigger.keys.add(String(key));
                trigger.requests += 1;
                triggers.set(name, trigger);
            }
            res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
    });
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ stats, triggers })));
}

module.exports = { startStandInCrm };
