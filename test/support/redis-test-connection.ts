// The ccaas-redis dialog's Test connection, asked of the Node-RED runtime the test helper runs: the route answers 200
// whatever it finds, a connection that fails included (then with `error`), so any other status is a failure here.
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';

/** POSTs what the dialog sends (mode, url or sentinels or nodes, prefix, credentials, ...) and resolves with the answer. */
export async function testConnection<Answer>(body: object): Promise<Answer> {
    const response = await helper.request().post('/ccaas-redis/test').send(body);
    assert.equal(response.status, 200);
    return response.body as Answer;
}
