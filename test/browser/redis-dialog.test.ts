// The Store choice of call event in and web service out in a real editor (issue 17): a ccaas-redis configuration is
// added from the dialog, its Test connection answers with the version and the persistence of a real redis-server,
// and after a deploy both nodes keep their state in it.
import assert from 'node:assert/strict';
import { openEditorSession, type Editor, type EditorSession } from '../support/editor-browser';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';

describe('editor: Store in a ccaas-redis configuration', function () {
    this.timeout(120_000);
    let redis: RedisServer;
    let session: EditorSession;
    let editor: Editor;

    before(async () => {
        redis = await startRedisServer({ persistence: 'always', config: ['requirepass editor-secret'] });
        session = await openEditorSession({ width: 1400, height: 1000 });
        ({ editor } = session);
    });
    // A failed test must not leave a dialog whose overlay fails every test after it.
    afterEach(async function () {
        if (this.currentTest?.state === 'failed') await editor?.leaveAsFound();
    });

    after(async () => {
        await session?.close();
        await redis?.stop();
        if (redis) removeRedisDir(redis);
    });

    it('adds the configuration from call event in, tests the connection, and both nodes use it after a deploy', async () => {
        const events = await editor.dropFromPalette('call-event-in', 300, 200);
        await editor.openEditDialog(events);
        await editor.page.locator('#node-input-path').fill('/redis-dialog-events');
        await editor.page.locator('#node-input-btn-store-add').click();
        // The fields follow the mode: Sentinel's list and primary name replace the URL and TLS, and the replica wait
        // shows once a replica is asked for.
        const page = editor.page;
        assert.equal(await page.locator('#node-config-input-mode').inputValue(), 'standalone');
        assert.deepEqual(
            [await page.locator('#node-config-input-url').isVisible(), await page.locator('#node-config-input-sentinels').isVisible()],
            [true, false],
        );
        assert.equal(await page.locator('#node-config-input-replicaWait').isVisible(), false);
        await page.locator('#node-config-input-mode').selectOption('sentinel');
        const visible = (fields: string[]): Promise<boolean[]> => Promise.all(fields.map((field) => page.locator(`#node-config-input-${field}`).isVisible()));
        assert.deepEqual(await visible(['url', 'tls', 'sentinels', 'masterName', 'sentinelPassword', 'useTls', 'sentinelTls']), [
            false,
            false,
            true,
            true,
            true,
            true,
            true,
        ]);
        // The TLS configuration shows once a TLS box is ticked; cluster mode has Use TLS only.
        await page.locator('#node-config-input-sentinelTls').check();
        assert.deepEqual(await visible(['tls']), [true]);
        await page.locator('#node-config-input-sentinelTls').uncheck();
        await page.locator('#node-config-input-mode').selectOption('cluster');
        assert.deepEqual(await visible(['nodes', 'useTls', 'sentinelTls', 'tls']), [true, true, false, false]);
        await page.locator('#node-config-input-useTls').check();
        assert.deepEqual(await visible(['tls']), [true]);
        await page.locator('#node-config-input-useTls').uncheck();
        await page.locator('#node-config-input-mode').selectOption('sentinel');
        await page.locator('#node-config-input-minReplicas').fill('1');
        assert.equal(await page.locator('#node-config-input-replicaWait').isVisible(), true);
        await page.locator('#node-config-input-minReplicas').fill('0');
        await page.locator('#node-config-input-mode').selectOption('standalone');
        assert.equal(await page.locator('#node-config-input-url').isVisible(), true);
        await editor.page.locator('#node-config-input-url').fill(redis.url);
        await editor.page.locator('#node-config-input-prefix').fill('editor-test');
        assert.equal(await editor.page.locator('#node-config-input-password').getAttribute('type'), 'password');

        // Without the password the server says who it wants; with it, its version and persistence.
        await editor.page.locator('#node-config-ccaas-redis-test').click();
        await editor.page.waitForFunction(() => /Not connected/.test(document.querySelector('#node-config-ccaas-redis-result')?.textContent ?? ''));
        assert.match(await editor.page.locator('#node-config-ccaas-redis-result').innerText(), /NOAUTH|Authentication required/i);
        await editor.page.locator('#node-config-input-password').fill('editor-secret');
        await editor.page.locator('#node-config-ccaas-redis-test').click();
        await editor.page.waitForFunction(() => /Connected: Redis/.test(document.querySelector('#node-config-ccaas-redis-result')?.textContent ?? ''));
        assert.match(
            await editor.page.locator('#node-config-ccaas-redis-result').innerText(),
            new RegExp(
                `^Connected: Redis \\d+\\.\\d+\\.\\d+\\. Server 127\\.0\\.0\\.1:${redis.port}\\. Replicas: none\\. Persistence: append-only file, fsync always\\. TLS: none \\(in the clear\\)\\.$`,
            ),
        );
        await editor.screenshot('redis-config-dialog');
        await editor.page.locator('#node-config-dialog-ok').click();
        await editor.page.locator('#node-config-input-url').waitFor({ state: 'detached' });
        const configId = await editor.page.locator('#node-input-store').inputValue();
        assert.match(configId, /^[0-9a-f]+$/, 'the new configuration is selected');
        await editor.closeEditDialog('done');

        // web service out picks the same configuration from its Store list.
        const out = await editor.dropFromPalette('web-service-out', 600, 200);
        await editor.openEditDialog(out);
        await editor.page.locator('#node-input-url').fill('http://127.0.0.1:9/crm/{{callId}}');
        await editor.page.locator('#node-input-store').selectOption(configId);
        await editor.closeEditDialog('done');
        await editor.deploy();
        // Node-RED answers the deploy before it has built the flow's nodes: the endpoint serves once the node reports
        // its calls (the store is open).
        await editor.canvasNode(events).locator('.red-ui-flow-node-status-label', { hasText: /calls/ }).waitFor();

        const deployed = (await (await fetch(`${session.nodeRed.url}/flows`)).json()) as Array<Record<string, unknown>>;
        const byId = new Map(deployed.map((node) => [node.id, node]));
        assert.equal(byId.get(events)?.store, configId);
        assert.equal(byId.get(out)?.store, configId);
        assert.deepEqual(
            { url: byId.get(configId)?.url, prefix: byId.get(configId)?.prefix, password: byId.get(configId)?.password },
            { url: redis.url, prefix: 'editor-test', password: undefined },
            'the password is a credential, not in the flow',
        );
        // Deployed, the node took an event into Redis.
        const answer = await fetch(`${session.nodeRed.url}/redis-dialog-events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'presenting', callId: 'editor-call', eventId: 'editor-call-p' }),
        });
        assert.equal(answer.status, 202, await answer.text());
        assert.match(redis.cli('--scan', '--pattern', 'editor-test:calls:*'), /editor-call/);
        assert.deepEqual(editor.errors, []);
    });
});
