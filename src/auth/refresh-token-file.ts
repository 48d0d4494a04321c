import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// A config node keeps the refresh token its provider rotated in a file of its own, in its state folder
// (nodeStateDirectory(userDir, 'oauth2', id)): Node-RED's RED.nodes.addCredentials only changes the runtime's
// memory, and flows_cred.json is written on the next deploy, so a restart before one would bring back the revoked
// token.
/**
 * What can go wrong with the kept refresh token, as data: the node says it in the user's words (its message catalog),
 * and in every case the refresh token of the credentials is used instead.
 */
export type TokenFileProblem =
    | { kind: 'unreadable'; path: string; reason: string }
    | { kind: 'undecryptable'; path: string }
    | { kind: 'noSecret' }
    | { kind: 'noUserDir' }
    | { kind: 'writeFailed'; path: string; reason: string };

const FILE_NAME = 'refresh-token.json';
const KEY_INFO = 'ccaas-web-service oauth2 refresh token';

interface StoredToken {
    version: 1;
    /** HMAC of the flow's refresh token this one replaced: a user who enters a new token in the dialog wins. */
    replaces: string;
    iv: string;
    tag: string;
    data: string;
}

/**
 * The rotated refresh token of one config node, encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from
 * Node-RED's credential secret, the key that already protects flows_cred.json.
 */
export class RefreshTokenFile {
    readonly path: string;
    private readonly key: Buffer;
    private writing: Promise<void> = Promise.resolve();

    constructor(directory: string, credentialSecret: string) {
        this.path = path.join(directory, FILE_NAME);
        // Salted with the node id (the folder's name), not the whole path, so a moved user directory still reads.
        this.key = Buffer.from(crypto.hkdfSync('sha256', credentialSecret, path.basename(directory), KEY_INFO, 32));
    }

    private fingerprint(flowToken: string | undefined): string {
        return crypto
            .createHmac('sha256', this.key)
            .update(flowToken ?? '')
            .digest('base64');
    }

    /**
     * The token to start with: the stored one when it replaced the flow's current token (or equals it), else the
     * flow's own (the user entered a new one since; the stale file is removed). A file that cannot be read or
     * decrypted is reported through `problem` and the flow's token is used.
     */
    read(flowToken: string | undefined, problem: (report: TokenFileProblem) => void = () => {}): string | undefined {
        let stored: StoredToken;
        try {
            stored = JSON.parse(fs.readFileSync(this.path, 'utf8')) as StoredToken;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problem({ kind: 'unreadable', path: this.path, reason: (err as Error).message });
            return flowToken;
        }
        let token: string;
        try {
            const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(stored.iv, 'base64'));
            decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
            token = Buffer.concat([decipher.update(Buffer.from(stored.data, 'base64')), decipher.final()]).toString('utf8');
        } catch {
            problem({ kind: 'undecryptable', path: this.path });
            return flowToken;
        }
        if (token === flowToken || stored.replaces === this.fingerprint(flowToken)) return token;
        fs.rmSync(this.path, { force: true });
        return flowToken;
    }

    /** Writes the rotated token (atomically: a crash leaves the old file or the new one); writes run in order. */
    write(token: string, replacesFlowToken: string | undefined): Promise<void> {
        const next = this.writing.then(async () => {
            const iv = crypto.randomBytes(12);
            const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
            const data = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
            const stored: StoredToken = {
                version: 1,
                replaces: this.fingerprint(replacesFlowToken),
                iv: iv.toString('base64'),
                tag: cipher.getAuthTag().toString('base64'),
                data: data.toString('base64'),
            };
            await fs.promises.mkdir(path.dirname(this.path), { recursive: true });
            const temporary = `${this.path}.${process.pid}.tmp`;
            const handle = await fs.promises.open(temporary, 'w', 0o600);
            try {
                await handle.writeFile(JSON.stringify(stored));
                await handle.sync();
            } finally {
                await handle.close();
            }
            await fs.promises.rename(temporary, this.path);
        });
        this.writing = next.catch(() => {});
        return next;
    }

    remove(): void {
        fs.rmSync(path.dirname(this.path), { recursive: true, force: true });
    }
}
