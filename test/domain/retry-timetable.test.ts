// The retry timetable keeps the waits of a queue under one timer: each item comes due at its time, earliest first,
// and an item woken early is not woken again by its old entry.
import assert from 'node:assert/strict';
import { RetryTimetable } from '../../src/delivery/retry-timetable';
import { until } from '../support/wait';

interface Item {
    name: string;
    token?: number;
}

function timetable(clock: () => number = Date.now) {
    const due: string[] = [];
    const table = new RetryTimetable<Item>(
        clock,
        (item) => item.token,
        (items) => {
            for (const item of items) {
                item.token = undefined;
                due.push(item.name);
            }
        },
    );
    const wait = (item: Item, at: number) => {
        item.token = table.add(item, at);
    };
    return { table, due, wait };
}

describe('retry timetable', () => {
    it('makes each item due at its time, earliest first and, for the same time, in the order they were added', async () => {
        const { table, due, wait } = timetable();
        const now = Date.now();
        const started = performance.now();
        wait({ name: 'c' }, now + 60);
        wait({ name: 'a' }, now + 20);
        wait({ name: 'b1' }, now + 40);
        wait({ name: 'b2' }, now + 40);
        await until(() => due.length === 1, 'the first item due');
        assert.deepEqual(due, ['a']);
        await until(() => due.length === 4, 'every item due');
        assert.deepEqual(due, ['a', 'b1', 'b2', 'c']);
        assert.ok(performance.now() - started >= 55, 'the last one came at its time, not before');
        assert.equal(table.size, 0);
        table.stop();
    });

    it('does not wake an item woken early, nor one waiting again, by its old entry; stop ends every wait', async () => {
        const { table, due, wait } = timetable();
        const now = Date.now();
        const early: Item = { name: 'early' };
        const again: Item = { name: 'again' };
        const kept: Item = { name: 'kept' };
        wait(early, now + 20);
        wait(again, now + 20);
        wait(kept, now + 30);
        early.token = undefined;
        table.dropped();
        again.token = undefined;
        table.dropped();
        wait(again, now + 50);
        await until(() => due.length === 2, 'the items still waiting');
        assert.deepEqual(due, ['kept', 'again']);
        wait({ name: 'never' }, Date.now() + 20);
        table.stop();
        await new Promise((resolve) => setTimeout(resolve, 60));
        assert.deepEqual(due, ['kept', 'again'], 'nothing comes due once stopped');
    });

    it('drops stale entries once they are the majority, keeping every current one', async () => {
        const { table, due, wait } = timetable();
        const far = Date.now() + 3_600_000;
        const items = Array.from({ length: 3000 }, (_, index) => ({ name: `i${index}` }) as Item);
        for (const item of items) wait(item, far);
        for (const item of items.slice(0, 2500)) {
            item.token = undefined;
            table.dropped();
        }
        assert.equal(table.size, 500);
        assert.ok(table.held < 2000, `stale entries were dropped (${table.held} held)`);
        const soon: Item = { name: 'soon' };
        wait(soon, Date.now() + 10);
        await until(() => due.length === 1, 'the new item due');
        assert.deepEqual(due, ['soon']);
        assert.equal(table.size, 500);
        table.stop();
    });

    it('takes the entry its timer was set for as due even when the clock it was given lags', async () => {
        let offset = 0;
        const { table, due, wait } = timetable(() => Date.now() - offset);
        wait({ name: 'late clock' }, Date.now() + 20);
        offset = 1000;
        await until(() => due.length === 1, 'the item due although the clock went back');
        table.stop();
    });
});
