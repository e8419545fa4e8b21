/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dev server forwards the backend's paths to a locally running server (dotnet run --project Crm.Functions).
const backend = process.env.CRM_BACKEND ?? 'http://127.0.0.1:1337';
const proxied = ['/parse', '/negotiate', '/hubs', '/docs', '/graphql'];

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, ws: p === '/hubs', changeOrigin: false }])),
  },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
