// Offline policy: contacts, companies, deals and the user's activities are kept on the device and read from
// there while offline; record changes made offline are queued (lib/queue.ts, src/sync.ts). Files cannot be
// uploaded offline (their bytes are not kept), so those writes are refused with a message. See web/README.md.
import { type DealView, STAGES } from './model';

export class OfflineError extends Error {
  constructor(action = 'save changes') {
    super(`You are offline: cannot ${action}. Your change was not sent; try again when the connection is back.`);
    this.name = 'OfflineError';
  }
}

/** Throws OfflineError when offline; call before a write that cannot be queued. */
export function ensureOnline(online: boolean, action?: string): void {
  if (!online) throw new OfflineError(action);
}

/** Parse's "connection failed" code (the server could not be reached). */
export const CONNECTION_FAILED = 100;

/**
 * The server could not be reached: Parse's code 100, or a request that failed below HTTP (the SDK passes the
 * browser's fetch error on without a code: "Failed to fetch" in Chromium, "NetworkError …" in Firefox, "Load
 * failed" in Safari).
 */
export function isConnectionError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === CONNECTION_FAILED) return true;
  return typeof code !== 'number' && typeof message === 'string' && /failed to fetch|networkerror|load failed|unable to connect/i.test(message);
}

/** The message to show for a failed call: the server's validation message, or a clear offline one. */
export function errorMessage(error: unknown): string {
  if (error instanceof OfflineError) return error.message;
  if (isConnectionError(error)) return 'The server cannot be reached; nothing was saved.';
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}

/** The pipeline summary (count and amount per stage) the server's pipelineSummary answers, from the deals on the device. */
export function summaryFromDeals(deals: readonly DealView[]): { stages: { stage: string; count: number; amount: number }[] } {
  return {
    stages: STAGES.map((stage) => {
      const inStage = deals.filter((d) => d.stage === stage);
      return { stage, count: inStage.length, amount: inStage.reduce((sum, d) => sum + d.amount, 0) };
    }),
  };
}
