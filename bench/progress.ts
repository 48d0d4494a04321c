// Progress of a run goes to stderr, line by line as it happens; stdout carries only the table at the end.
export const log = (text: string): void => {
    process.stderr.write(`${text}\n`);
};
