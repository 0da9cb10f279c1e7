import { defineConfig } from "vite";

// VITE_API_BASE_URL (build setting): where the API is; empty means the same origin (served
// by `reportbook run`). `npm run dev` proxies /v1 to VITE_DEV_API (default localhost:8000).
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 700 },
  server: {
    proxy: { "/v1": { target: process.env.VITE_DEV_API || "http://127.0.0.1:8000", changeOrigin: true } },
  },
});
