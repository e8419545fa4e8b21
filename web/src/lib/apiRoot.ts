/**
 * The backend's root URL. A build for a static host (the Azure Static Web App) names it in VITE_API_ROOT; a
 * missing *or empty* value means the app is served by the API server itself (`dotnet run`), so the page's
 * own origin is right. Empty must not win: an empty root would send every call to the static host, where no
 * API answers.
 */
export function apiRoot(configured: string | undefined, origin: string): string {
  const root = configured?.trim() ? configured.trim() : origin;
  return root.replace(/\/+$/, '');
}
