// Messages between the demo's pages and its service worker (demo/pwa.ts ⇄ demo/sw.ts).

export const PWA_MESSAGES = {
  /** Page → waiting service worker: the user applies the new version; take over (the page reloads). */
  apply: 'larder-demo:apply-update',
} as const;
