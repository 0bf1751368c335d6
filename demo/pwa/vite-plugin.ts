// Build-time half of the demo's PWA: the web app manifest and its icons, and the service worker with the precache
// list of every file the build wrote (content hashes, and a cache version derived from them) compiled into it.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { build, type Plugin, type ResolvedConfig } from 'vite';
import { ICON_COLOUR, iconPng, type IconSpec } from './icons.ts';

/** What the service worker gets at build time: the cache version and each file to precache. */
export interface PrecacheManifest {
  /** A hash of the file list with content hashes: a new build with any changed file has a new version. */
  version: string;
  files: PrecacheEntry[];
}

export interface PrecacheEntry {
  /** The file's path relative to the service worker (and to the site root), e.g. `assets/index-x1y2.js`. */
  url: string;
  /** Hex SHA-256 of the file's bytes; the service worker checks what it downloads against it. */
  sha256: string;
  size: number;
}

/** The global the service worker reads its precache manifest from (replaced at build time). */
export const PRECACHE_GLOBAL = '__LARDER_PRECACHE__';
/** The service worker's file name at the root of the build. */
export const SERVICE_WORKER_FILE = 'sw.js';
export const MANIFEST_FILE = 'manifest.webmanifest';

const ICONS: (IconSpec & { file: string })[] = [
  { file: 'icons/icon-192.png', size: 192, maskable: false },
  { file: 'icons/icon-512.png', size: 512, maskable: false },
  { file: 'icons/maskable-192.png', size: 192, maskable: true },
  { file: 'icons/maskable-512.png', size: 512, maskable: true },
];

/** The web app manifest. Every URL in it is relative to the manifest, so the site works under any base path. */
export function webAppManifest(): Record<string, unknown> {
  return {
    name: 'Larder demo: a feature store in the browser',
    short_name: 'Larder',
    description: 'A complete ML system in one browser tab: feature groups, training, a model registry and predictions, offline.',
    id: './',
    start_url: './',
    scope: './',
    display: 'standalone',
    background_color: '#f4f6f8',
    theme_color: ICON_COLOUR,
    icons: ICONS.map((icon) => ({
      src: icon.file,
      sizes: `${icon.size}x${icon.size}`,
      type: 'image/png',
      purpose: icon.maskable ? 'maskable' : 'any',
    })),
  };
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file under a folder, as `/`-separated paths relative to it, sorted. */
async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(folder, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * The precache manifest of a built site: every file the build wrote except the service worker itself and source
 * maps, with content hashes; the version hashes the list.
 */
export async function precacheManifest(outDir: string): Promise<PrecacheManifest> {
  const files: PrecacheEntry[] = [];
  for (const url of await listFiles(outDir)) {
    if (url === SERVICE_WORKER_FILE || url.endsWith('.map')) continue;
    const bytes = await readFile(join(outDir, url));
    files.push({ url, sha256: sha256(bytes), size: bytes.length });
  }
  const version = sha256(files.map((f) => `${f.url} ${f.sha256}`).join('\n')).slice(0, 16);
  return { version, files };
}

/** Compiles the service worker on its own (one self-contained classic script) with the precache manifest in it. */
async function buildServiceWorker(entry: string, config: ResolvedConfig, manifest: PrecacheManifest): Promise<string> {
  const output = await build({
    configFile: false,
    root: config.root,
    mode: config.mode,
    logLevel: 'warn',
    publicDir: false,
    define: { [PRECACHE_GLOBAL]: JSON.stringify(manifest) },
    build: {
      write: false,
      target: config.build.target,
      minify: config.build.minify,
      emptyOutDir: false,
      copyPublicDir: false,
      rolldownOptions: { input: entry, output: { format: 'iife', entryFileNames: SERVICE_WORKER_FILE } },
    },
  });
  const outputs = Array.isArray(output) ? output : [output];
  for (const result of outputs) {
    if (!('output' in result)) continue;
    for (const file of result.output) {
      if (file.type === 'chunk' && file.isEntry) return file.code;
    }
  }
  throw new Error(`Building the service worker ${entry} produced no entry chunk.`);
}

/**
 * The demo's PWA in the production build: links the manifest and theme colour from index.html, emits the manifest
 * and icons, and once every file is written compiles `serviceWorker` to `sw.js` at the root of the build with the
 * precache manifest of the whole build. The dev server gets none of it (no service worker while developing).
 */
export function pwa(options: { serviceWorker: string }): Plugin {
  let config: ResolvedConfig | undefined;
  return {
    name: 'larder-demo-pwa',
    apply: 'build',
    configResolved(resolved) {
      config = resolved;
    },
    transformIndexHtml: () => [
      { tag: 'link', attrs: { rel: 'manifest', href: MANIFEST_FILE }, injectTo: 'head' },
      { tag: 'meta', attrs: { name: 'theme-color', content: ICON_COLOUR }, injectTo: 'head' },
      { tag: 'link', attrs: { rel: 'apple-touch-icon', href: ICONS[0]!.file }, injectTo: 'head' },
    ],
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MANIFEST_FILE, source: `${JSON.stringify(webAppManifest(), null, 2)}\n` });
      for (const icon of ICONS) this.emitFile({ type: 'asset', fileName: icon.file, source: iconPng(icon) });
    },
    async writeBundle() {
      if (config === undefined) throw new Error('larder-demo-pwa: the config was not resolved before writing.');
      const outDir = resolve(config.root, config.build.outDir);
      const manifest = await precacheManifest(outDir);
      const code = await buildServiceWorker(resolve(config.root, options.serviceWorker), config, manifest);
      await writeFile(join(outDir, SERVICE_WORKER_FILE), code);
      const megabytes = manifest.files.reduce((n, f) => n + f.size, 0) / 2 ** 20;
      config.logger.info(`PWA: ${SERVICE_WORKER_FILE} precaches ${manifest.files.length} files (${megabytes.toFixed(1)} MiB), cache version ${manifest.version}`);
    },
  };
}
