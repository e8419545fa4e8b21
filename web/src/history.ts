// A record's history from the server: GET /parse/classes/{className}/{objectId}/history, newest first, readable by
// whoever may read the record. The SDK has no call for this route, so it goes over fetch with the signed-in
// user's session, as the other routes the SDK lacks do (account.ts, twoFactor.ts). History is not kept on the
// device: offline there is none to show (the caller says so), and nothing is queued.
import { API_ROOT, APP_ID, connectivity, currentUser } from './api';
import { historyAnswer, type HistoryAnswer } from './lib/history';
import { isConnectionError } from './lib/offline';

export const HISTORY_PAGE = 50;

export async function recordHistory(className: string, id: string, skip = 0, limit = HISTORY_PAGE): Promise<HistoryAnswer> {
  const token = currentUser()?.getSessionToken();
  const url = `${API_ROOT}/parse/classes/${encodeURIComponent(className)}/${encodeURIComponent(id)}/history?limit=${limit}&skip=${skip}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { 'X-Parse-Application-Id': APP_ID, ...(token ? { 'X-Parse-Session-Token': token } : {}) } });
  } catch (e) {
    // Below HTTP: the server cannot be reached, which is what the app's other calls treat as offline.
    if (isConnectionError(e)) connectivity.failed();
    throw e;
  }
  connectivity.succeeded();
  const body: unknown = await response.json().catch(() => undefined);
  return historyAnswer(response.status, body);
}
