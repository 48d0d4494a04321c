// The parts of node-red-node-test-helper (which ships no types) that the tests use.
declare module 'node-red-node-test-helper' {
    import type { Test } from 'supertest';

    interface TestNode {
        id: string;
        type: string;
        on(event: string, listener: (...args: any[]) => void): void;
        receive(msg: object): void;
        error: { (...args: any[]): void; args?: unknown[][] } & Record<string, any>;
        warn: { (...args: any[]): void } & Record<string, any>;
        status: { (...args: any[]): void } & Record<string, any>;
        [key: string]: any;
    }

    interface AdminRequest {
        get(path: string): Test;
        post(path: string): Test;
        put(path: string): Test;
        delete(path: string): Test;
    }

    interface Helper {
        init(runtimePath?: string, userSettings?: Record<string, unknown>): void;
        settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
        load(node: unknown, flow: object[], credentials?: Record<string, object>): Promise<void>;
        unload(): Promise<void>;
        /** Deploys `flow` as the editor would ("full", "flows" or "nodes"), closing and starting the nodes it changes. */
        setFlows(flow: object[], type?: 'full' | 'flows' | 'nodes', credentials?: Record<string, object>): Promise<void>;
        getNode(id: string): TestNode;
        startServer(): Promise<void>;
        stopServer(): Promise<void>;
        request(): AdminRequest;
        url(): string;
        log(): { args: unknown[][]; [key: string]: any };
    }

    const helper: Helper;
    export = helper;
}
