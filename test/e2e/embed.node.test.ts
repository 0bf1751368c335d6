// End-to-end: Larder as a package inside someone else's app. `npm pack` builds and packs the library, a copy of
// examples/embed installs the tarball the way a user would, the app's own Vite builds it with no configuration, and
// Debian's Chromium (fresh profile) runs it: a feature group, training data, training and an online prediction.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright';
import type * as Vite from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../../scripts/chromium.mjs';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(REPO, 'examples', 'embed');
const SETUP_TIMEOUT_MS = 300_000;
const PAGE_TIMEOUT_MS = 120_000;

interface PackedFile {
  path: string;
}
interface PackResult {
  filename: string;
  files: PackedFile[];
}

let work = '';
let app = '';
let tarball = '';
let packed: PackResult | undefined;
/** The app's own Vite, from its node_modules. */
let vite: typeof Vite;
const timings: Record<string, number> = {};

/** Runs a command to completion; a failure carries its output, so the test report says what went wrong. */
async function sh(what: string, file: string, args: string[], cwd: string): Promise<string> {
  const started = performance.now();
  try {
    const { stdout } = await run(file, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${what} failed:\n${String(stdout).slice(-4000)}\n${String(stderr).slice(-4000)}`, { cause: error });
  } finally {
    timings[what] = Math.round(performance.now() - started);
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'larder-embed-e2e-'));
  // `npm pack` runs prepack, which builds dist/ from src/ and workers/.
  const json = await sh('npm pack', 'npm', ['pack', '--pack-destination', work, '--json'], REPO);
  packed = (JSON.parse(json) as PackResult[])[0];
  if (packed === undefined) throw new Error(`npm pack reported no package: ${json}`);
  tarball = join(work, packed.filename);

  app = join(work, 'app');
  await cp(EXAMPLE, app, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|dist)$|package-lock\.json$/.test(source),
  });
  // As a user would: dependencies from the npm cache `npm ci` filled; nothing is fetched at run time.
  await sh('npm install', 'npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], app);
  // The app's own Vite (its devDependency). The build runs with no configuration at all: the example's
  // vite.config.ts is for the dev server only (see the last test), and is left out here to show it.
  vite = (await import(pathToFileURL(join(app, 'node_modules', 'vite', 'dist', 'node', 'index.js')).href)) as typeof Vite;
  const started = performance.now();
  await vite.build({ root: app, configFile: false, logLevel: 'warn' });
  timings['vite build'] = Math.round(performance.now() - started);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  console.log(`embed e2e timings (ms): ${JSON.stringify(timings)}`);
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('Larder embedded in another Vite app, from its npm tarball', () => {
  test('the tarball holds the built package, with types and source maps that stay inside it, and no tests', async () => {
    const paths = packed!.files.map((f) => f.path);
    // Only dist/ and npm's own files; no sources, tests, benchmarks or the demo.
    expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    expect(paths.filter((p) => /(^|\/)(test|tests|bench|demo|reliability)\/|\.test\.|\.tsbuildinfo$/.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    for (const worker of ['store', 'train', 'inference']) {
      expect(paths).toContain(`dist/workers/${worker}.worker.js`);
    }

    const pkgRoot = join(app, 'node_modules', 'larder');
    const files = await filesUnder(pkgRoot);
    const js = files.filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(40);
    const workerUrls: string[] = [];
    for (const file of js) {
      // Every module has its declarations and a source map.
      expect(files, file).toContain(file.replace(/\.js$/, '.d.ts'));
      expect(files, file).toContain(`${file}.map`);
      // The code without its comment lines (the doc comments show app code, with an app's .ts worker files).
      const code = (await readFile(file, 'utf8')).split('\n').filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join('\n');
      // Worker URLs name the compiled files, which exist (the consumer's bundler follows them).
      for (const [, url] of code.matchAll(/new URL\('([^']+)', import\.meta\.url\)/g)) {
        workerUrls.push(url!);
        expect(url, file).toMatch(/\.js$/);
        expect(files, `${file}: ${url}`).toContain(resolve(dirname(file), url!));
      }
      expect(code, file).not.toMatch(/from '\.\.?\/[^']*\.ts'/);
    }
    expect(workerUrls.map((u) => u.split('/').pop()).sort()).toEqual(['inference.worker.js', 'store.worker.js', 'train.worker.js']);
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources, sourcesContent, sourceRoot } = JSON.parse(await readFile(map, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string };
      expect(sources.length, map).toBeGreaterThan(0);
      for (const [i, source] of sources.entries()) {
        expect(inside(pkgRoot, resolve(dirname(map), sourceRoot ?? '', source)), `${map}: ${source}`).toBe(true);
        expect(typeof sourcesContent?.[i], `${map}: ${source} has its text inlined`).toBe('string');
      }
    }
    for (const declaration of files.filter((f) => f.endsWith('.d.ts'))) {
      // Relative imports of declarations end in .js: they resolve without allowImportingTsExtensions.
      expect(await readFile(declaration, 'utf8'), declaration).not.toMatch(/(from|import\() ?'\.\.?\/[^']*\.ts'/);
    }

    // Every export resolves, in Node's resolution and in the types.
    const manifest = JSON.parse(await readFile(join(pkgRoot, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    const require = createRequire(join(app, 'package.json'));
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './package.json', './pipeline', './service-worker', './worker']);
    for (const [entry, target] of Object.entries(manifest.exports)) {
      const specifier = entry === '.' ? 'larder' : `larder/${entry.slice(2)}`;
      const resolved = require.resolve(specifier);
      expect(inside(pkgRoot, resolved), specifier).toBe(true);
      if (typeof target !== 'string') {
        expect(Object.keys(target)).toEqual(['types', 'default']);
        expect(files, specifier).toContain(join(pkgRoot, target['types']!));
        expect(resolved).toBe(join(pkgRoot, target['default']!));
      }
    }
  });

  test("a consumer's TypeScript type-checks the example against the packed types", async () => {
    // Besides main.ts, a probe that fails if any entry point's types are missing or `any`: each @ts-expect-error
    // must meet a real type error.
    await writeFile(
      join(app, 'probe.ts'),
      [
        "import { openFeatureStore, NotFoundError, type ErrorCode, type Prediction } from 'larder';",
        "import { serveStore } from 'larder/worker';",
        "import { servePipeline } from 'larder/pipeline';",
        "import { handlePeriodicSync } from 'larder/service-worker';",
        '// @ts-expect-error: a store name is a string',
        'void openFeatureStore({ name: 42 });',
        '// @ts-expect-error: a prediction is a number',
        "export const wrong: Prediction = { prediction: 'high', model: { name: 'm', version: 1 }, featureView: { name: 'v', version: 1 } };",
        '// @ts-expect-error: on-demand features are a list',
        "serveStore({ onDemand: 'none' });",
        '// @ts-expect-error: a pipeline is an object with run or onBatch',
        'servePipeline(42);',
        '// @ts-expect-error: the event comes first',
        "handlePeriodicSync({ tag: 'x' }, 1);",
        "export const code: ErrorCode = new NotFoundError('x').code;",
        '// @ts-expect-error: error codes are a closed list',
        "export const unknownCode: ErrorCode = 'NO_SUCH_CODE';",
        '',
      ].join('\n'),
    );
    await writeFile(join(app, 'tsconfig.probe.json'), JSON.stringify({ extends: './tsconfig.json', include: ['main.ts', 'vite.config.ts', 'probe.ts'] }));
    await sh('tsc', process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.probe.json'], app);
  });

  test('the example, built by its own Vite with no configuration, trains and predicts in Chromium: no errors, no requests elsewhere', async () => {
    const server = await vite.preview({ root: app, configFile: false, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
    try {
      const requested = await runExample(server, 'built');
      // Larder's workers and wasm binaries came from the app's own build, on its origin.
      const assets = requested.filter((a) => a.startsWith('/assets/')).map((a) => a.slice('/assets/'.length));
      for (const pattern of [/^store\.worker-.*\.js$/, /^train\.worker-.*\.js$/, /^inference\.worker-.*\.js$/, /^duckdb-browser-eh\.worker-.*\.js$/, /^duckdb-eh-.*\.wasm$/, /^tfjs-backend-wasm.*\.wasm$/]) {
        expect(assets.some((a) => pattern.test(a)), `${String(pattern)} among ${assets.join(', ')}`).toBe(true);
      }
    } finally {
      await server.close();
    }
  });

  test("the example's dev server (with its one line of configuration) runs it too", async () => {
    // DuckDB-WASM's own source maps name files its package does not ship; the dev server warns about each one.
    const logger = vite.createLogger('warn');
    const warnOnce = logger.warnOnce.bind(logger);
    logger.warnOnce = (message, options) => {
      if (!/Sourcemap for ".*\/@duckdb\/duckdb-wasm\/.*outside its package/.test(message)) warnOnce(message, options);
    };
    const server = await vite.createServer({ root: app, customLogger: logger, server: { host: '127.0.0.1', port: 0, strictPort: true } });
    try {
      await server.listen();
      const requested = await runExample(server, 'dev');
      // Served from the package as installed: its workers are the dist/ files the tarball holds.
      for (const worker of ['store', 'train', 'inference']) {
        expect(requested.some((a) => a.startsWith(`/node_modules/larder/dist/workers/${worker}.worker.js`)), worker).toBe(true);
      }
    } finally {
      await server.close();
    }
  });
});

/**
 * Opens the example served by `server` in Chromium with a fresh profile, waits for it to finish and checks what it
 * shows; returns the paths the page and its workers requested. Any console error, uncaught error, failed request or
 * request leaving the origin fails the test.
 */
async function runExample(server: Vite.PreviewServer | Vite.ViteDevServer, label: string): Promise<string[]> {
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error('Vite did not report a local URL');
  const origin = new URL(url).origin;
  const profile = await mkdtemp(join(tmpdir(), 'larder-embed-profile-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true });
    const problems: string[] = [];
    const requested: string[] = [];
    context.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    context.on('weberror', (error) => problems.push(`uncaught: ${String(error.error())}`));
    context.on('request', (request) => {
      const address = request.url();
      if (address.startsWith(`${origin}/`)) requested.push(address.slice(origin.length));
      else if (!/^(data|blob):/.test(address)) problems.push(`request outside the origin: ${address}`);
    });
    context.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
    context.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });

    const page = await context.newPage();
    const started = performance.now();
    await page.goto(origin);
    await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] !== 'busy', null, { timeout: PAGE_TIMEOUT_MS });
    timings[`${label}: open to prediction`] = Math.round(performance.now() - started);
    const field = async (id: string): Promise<string> => (await page.textContent(`[data-testid="${id}"]`)) ?? '';
    expect(await field('status')).toBe('done');

    expect(await field('group')).toBe('readings v1');
    expect(await field('rows')).toBe('720');
    expect(await field('view')).toBe('output v1');
    expect(await field('dataset')).toMatch(/^v1: \d+ train rows, \d+ test rows$/);
    expect(await field('model')).toBe('output v1');
    expect(await field('served-by')).toBe('model output v1, feature view output v1');
    // The model learned output = 3·temperature − 20·humidity + 10 (no noise): the prediction for the sensor's
    // latest reading must be close to it, which a model that did not train (or was served other features) misses.
    const reading = JSON.parse(await field('reading')) as { temperature: number; humidity: number };
    const expected = 3 * reading.temperature - 20 * reading.humidity + 10;
    const prediction = Number(await field('prediction'));
    expect(Number.isFinite(prediction)).toBe(true);
    expect(Math.abs(prediction - expected)).toBeLessThan(1);
    expect(Number(await field('rmse'))).toBeLessThan(1);
    expect(problems).toEqual([]);
    return requested;
  } finally {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  }
}
