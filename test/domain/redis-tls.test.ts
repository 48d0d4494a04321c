// The TLS options a Redis connection gives each server (the server name, as standalone has always sent it) and the
// meaning added to Node's TLS errors, which name OpenSSL's problem but not what to change.
import assert from 'node:assert/strict';
import { explainedTlsProblem, hostAndPort, tlsOptionsFor } from '../../src/store/redis/redis-tls';

describe('Redis TLS options', () => {
    it('sends a host name as the server name, an IP address none, and the TLS configuration server name for every host', () => {
        assert.deepEqual(tlsOptionsFor({ ca: 'the CA' }, 'redis-a.internal'), { ca: 'the CA', servername: 'redis-a.internal' });
        // No servername key at all: ioredis lays the options over the address, where an undefined one would still count.
        assert.deepEqual(Object.keys(tlsOptionsFor({ ca: 'the CA', servername: '' }, '10.0.0.5')), ['ca']);
        assert.deepEqual(Object.keys(tlsOptionsFor(undefined, '::1')), []);
        assert.deepEqual(tlsOptionsFor({ servername: 'redis.example' }, '10.0.0.5'), { servername: 'redis.example' });
        assert.deepEqual(tlsOptionsFor({ servername: 'redis.example' }, 'other.internal'), { servername: 'redis.example' });
    });

    it('reads node keys as ioredis writes them', () => {
        assert.deepEqual(hostAndPort('10.0.0.5:7001'), { host: '10.0.0.5', port: 7001 });
        assert.deepEqual(hostAndPort('::1:7002'), { host: '::1', port: 7002 });
        assert.deepEqual(hostAndPort('redis-b.internal:6379'), { host: 'redis-b.internal', port: 6379 });
    });

    it('says what a TLS error means, once, and leaves other errors alone', () => {
        assert.match(
            explainedTlsProblem('self-signed certificate'),
            /^self-signed certificate \(TLS: the server's certificate is not signed by a CA this node trusts; /,
        );
        assert.match(explainedTlsProblem('unable to verify the first certificate'), /\(TLS: the server's certificate is not signed by a CA/);
        assert.match(
            explainedTlsProblem("Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: "),
            /\(TLS: the server's certificate is for another name/,
        );
        assert.match(explainedTlsProblem('certificate has expired'), /\(TLS: the server's certificate is out of its validity dates\)$/);
        assert.match(
            explainedTlsProblem('C0F7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'),
            /\(TLS: the server does not answer TLS on that port/,
        );
        const once = explainedTlsProblem('self-signed certificate');
        assert.equal(explainedTlsProblem(once), once);
        assert.equal(explainedTlsProblem('connect ECONNREFUSED 127.0.0.1:6379'), 'connect ECONNREFUSED 127.0.0.1:6379');
    });
});
