/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Django serves dist/ at the site root (WhiteNoise, WHITENOISE_ROOT = FRONTEND_DIST) and answers
// index.html for every other path, so the app lives at "/" and its hashed files under /assets/.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // Plotly is one large, lazily loaded chunk (only the lineage page's chart needs it).
    chunkSizeWarningLimit: 2000,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    // Same origin in development too: the session cookie and csrftoken work unchanged.
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", changeOrigin: false },
      "/admin": { target: "http://127.0.0.1:8000", changeOrigin: false },
      "/static": { target: "http://127.0.0.1:8000", changeOrigin: false },
    },
  },
  test: {
    environment: "jsdom",
    globals: false,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // The machine is shared: a form test typing many fields can pass 5 s under load.
    testTimeout: 20_000,
  },
});
