// Offline policy: records the user opened are pinned and readable offline; edits are refused while
// offline (never queued), with a message saying so. See web/README.md.

export class OfflineError extends Error {
  constructor(action = 'save changes') {
    super(`You are offline: cannot ${action}. Your change was not sent; try again when the connection is back.`);
    this.name = 'OfflineError';
  }
}

/** Throws OfflineError when offline; call before every write. */
export function ensureOnline(online: boolean, action?: string): void {
  if (!online) throw new OfflineError(action);
}

/** Parse's "connection failed" code (the server could not be reached). */
export const CONNECTION_FAILED = 100;

export function isConnectionError(error: unknown): boolean {
  return !!error && typeof error === 'object' && 'code' in error && (error as { code: unknown }).code === CONNECTION_FAILED;
}

/** The message to show for a failed call: the server's validation message, or a clear offline one. */
export function errorMessage(error: unknown): string {
  if (error instanceof OfflineError) return error.message;
  if (isConnectionError(error)) return 'The server cannot be reached; nothing was saved.';
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}
