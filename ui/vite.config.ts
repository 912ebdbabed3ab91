import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The UI is bundled into the Tauri app and loaded from local files: relative
// asset paths, no remote content (no CDNs, web fonts or external scripts).
export default defineConfig({
  base: './',
  plugins: [react()],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
});
