import assert from 'node:assert/strict';
import { CodedError } from '../../src/errors/coded-error';
import { checkedRedisSettings } from '../../src/store/redis/redis-connection';

/** The ConfigError message of ccaas-redis settings that cannot work (asserts that they throw one). */
export function refusal(settings: Parameters<typeof checkedRedisSettings>[0]): string {
    try {
        checkedRedisSettings(settings);
    } catch (err) {
        assert.ok(err instanceof CodedError && err.code === 'config', `a ConfigError, got ${String(err)}`);
        return err.message;
    }
    assert.fail(`accepted ${JSON.stringify(settings)}`);
}
