/** The message of anything thrown or rejected: an Error's message, else the value as text. */
export function errorText(err: unknown): string {
    return err instanceof Error
        ? err.message
        : typeof (err as { message?: unknown })?.message === 'string'
          ? (err as { message: string }).message
          : String(err);
}
