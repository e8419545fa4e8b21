/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

// The dev server forwards the backend's paths to a locally running server (dotnet run --project Crm.Functions).
const backend = process.env.CRM_BACKEND ?? 'http://127.0.0.1:1337';
const proxied = ['/parse', '/negotiate', '/hubs', '/docs', '/graphql'];
// The server's own pages and APIs: never answered with the app shell by the service worker.
const serverPaths = [...proxied, '/api', '/mcp', '/realtime', '/.well-known'];

export default defineConfig({
  plugins: [
    react(),
    // Installable and opens offline: a web manifest, and a Workbox service worker that precaches the built app
    // (HTML, scripts, styles, icons) and answers every app route with index.html. Data is not cached by the
    // worker: the app keeps records in the Parse SDK's local datastore (src/sync.ts).
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: false,
      manifest: {
        name: 'CRM',
        short_name: 'CRM',
        description: 'Pipeline, companies, contacts, deals and activities; works offline and syncs when you reconnect.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f5f6f8',
        theme_color: '#2456c7',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: serverPaths.map((p) => new RegExp(`^${p.replace(/[.]/g, '\\.')}(/|$)`)),
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
        maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
      },
    }),
  ],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, ws: p === '/hubs', changeOrigin: false }])),
  },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
