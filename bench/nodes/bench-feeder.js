// The feeder of scenario W (web service out alone), as a node of its own: it keeps `window` messages in flight, each
// success coming back from web service out releasing the next. A function node did this before, and its sandbox
// (a vm context entered per message, the message cloned on every node.send) took about a seventh of the CPU that W
// measured: that is the harness, not web service out. Loaded by the benchmark's Node-RED only (settings.nodesDir).
module.exports = function register(RED) {
    function BenchFeederNode(config) {
        RED.nodes.createNode(this, config);
        let round = 0;
        let sent = 0;
        let count = 0;

        function next(send) {
            const i = sent++;
            const stamp = String(Date.now()) + '000000';
            const callId = `out-${round}-${i}`;
            const call = {
                callId,
                reportCallId: stamp,
                event: 'presenting',
                direction: 'Inbound',
                callerName: 'Jane Example',
                externalNumber: '+15551234567',
                dnis: '+15557654321',
                agent: 'John Doe (154)',
            };
            const payload = {
                callId,
                sent: stamp,
                event: 'presenting',
                direction: 'Inbound',
                caller: call.callerName,
                number: call.externalNumber,
                dnis: call.dnis,
                agent: call.agent,
            };
            send({ _msgid: RED.util.generateId(), call, payload });
        }

        this.on('input', (msg, send, done) => {
            if (msg.start) {
                round += 1;
                sent = 0;
                count = msg.payload.count;
                for (let k = 0; k < Math.min(msg.payload.window, count); k++) next(send);
            } else if (sent < count) {
                next(send);
            }
            done();
        });
    }
    RED.nodes.registerType('bench-feeder', BenchFeederNode);
};
