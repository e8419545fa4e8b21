// The service worker (built by vite-plugin-pwa with Workbox, see vite.config.ts) precaches the app shell, so the
// app opens without a connection. A new version takes over at once: the shell is small and data lives in the
// local datastore, not in the worker.
import { registerSW } from 'virtual:pwa-register';

export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  registerSW({ immediate: true });
}
