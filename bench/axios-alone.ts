// What axios's own request path costs, with nothing under it: the requests web service out makes (built, with the
// idempotency key, given to axios exactly as the node gives them, on an instance set up as the node's is) over an
// adapter that answers at once. The W/C goal is read against it: C's client spends about this much on a whole
// request, socket writes included. Run in a process of its own; prints one JSON line.
import type { AxiosAdapter } from 'axios';
import { deliveryHeaders } from '../src/delivery/delivery-headers';
import { axiosRequest, leanAxios } from '../src/delivery/http-transport';
import { compileRequest } from '../src/request/build-request';
import { crmBody, benchEvent } from './flows';

export interface AxiosAlone {
    requests: number;
    /** CPU time of this process per request, axios's request and response path only. */
    cpuMicrosPerRequest: number;
}

async function measure(requests: number): Promise<AxiosAlone> {
    const answered: AxiosAdapter = (config) =>
        Promise.resolve({
            data: Buffer.from('{"ok":true}'),
            status: 200,
            statusText: 'OK',
            headers: { 'content-type': 'application/json', 'content-length': '11', date: new Date().toUTCString(), connection: 'keep-alive' },
            config,
            request: {},
        });
    const client = leanAxios({ adapter: answered });
    const builder = compileRequest({ method: 'POST', url: 'http://127.0.0.1:8080/crm/calls', bodyType: 'payload', authType: 'none' });
    const decorate = deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', profileHeaders: [] });
    const built = Array.from({ length: 256 }, (_, index) => {
        const event = benchEvent(`axios-${index}`, process.hrtime.bigint());
        return decorate(builder.build({ callId: event.callId, event: 'presenting' }, crmBody(event)), `msg_${index}`);
    });
    const run = async (count: number): Promise<void> => {
        for (let index = 0; index < count; index++) await client.request(axiosRequest(built[index % built.length]!, 10_000));
    };
    await run(Math.min(requests, 10_000));
    const before = process.cpuUsage();
    await run(requests);
    const used = process.cpuUsage(before);
    return { requests, cpuMicrosPerRequest: Math.round((10 * (used.user + used.system)) / requests) / 10 };
}

measure(Number(process.argv[2] ?? 50_000))
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((err: unknown) => {
        process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
        process.exitCode = 1;
    });
