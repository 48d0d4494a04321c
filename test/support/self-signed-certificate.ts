import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface SelfSignedCertificate {
    certFile: string;
    keyFile: string;
    cert: string;
    key: string;
}

/**
 * A self-signed certificate made with openssl for this run, for TLS servers in tests: `subjectAltName` is what a
 * client checks the name it connects to against, `DNS:crm.test` or `IP:127.0.0.1`.
 */
export function selfSignedCertificate(directory: string, commonName: string, subjectAltName: string): SelfSignedCertificate {
    const keyFile = path.join(directory, 'key.pem');
    const certFile = path.join(directory, 'cert.pem');
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2'];
    execFileSync('openssl', [...args, '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${subjectAltName}`], { stdio: 'ignore' });
    return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}
