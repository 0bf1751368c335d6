// Builds the published package: src/ and workers/ compiled by TypeScript (tsconfig.build.json) into dist/, as ES
// modules with declarations and source maps (sources inlined). Run by `npm run build:lib` and by `npm pack` (prepack).
//
// The sources import each other with `.ts` extensions, which Vite needs when it serves them directly (the demo, the
// tests). `rewriteRelativeImportExtensions` turns those into `.js` in the JavaScript, but two places stay behind, and
// this script handles them with TypeScript's own transformers (no text substitution):
// - worker URLs, `new Worker(new URL('../workers/store.worker.ts', import.meta.url))`: a string, not an import, so
//   TypeScript leaves it; in dist/ it must name the compiled `.js` file, which the consumer's bundler then follows;
// - the declarations: `.d.ts` files keep `from './feature-store.ts'`, which a consumer's TypeScript only accepts with
//   `allowImportingTsExtensions`; `./feature-store.js` resolves under every module resolution mode.
import { existsSync, rmSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const configPath = resolve(root, 'tsconfig.build.json');

/** A relative specifier that names a TypeScript source (`./x.ts`, `../y.mts`), not a declaration file. */
function isRelativeTs(specifier) {
  return /^\.\.?\//.test(specifier) && /\.[mc]?ts$/.test(specifier) && !/\.d\.[mc]?ts$/.test(specifier);
}

function toJs(specifier) {
  return specifier.replace(/\.([mc]?)ts$/, '.$1js');
}

/** `new URL('<relative .ts>', import.meta.url)`: the URL argument, else undefined. */
function workerUrlLiteral(node) {
  if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'URL') return undefined;
  const [first, second] = node.arguments ?? [];
  if (first === undefined || second === undefined || !ts.isStringLiteralLike(first) || !isRelativeTs(first.text)) return undefined;
  const isImportMetaUrl =
    ts.isPropertyAccessExpression(second) &&
    second.name.text === 'url' &&
    ts.isMetaProperty(second.expression) &&
    second.expression.keywordToken === ts.SyntaxKind.ImportKeyword;
  return isImportMetaUrl ? first : undefined;
}

/** Every `new URL('./x.ts', import.meta.url)` must name a file of the program: it is emitted next to its importer. */
const problems = [];

function rewriteWorkerUrls(context) {
  const { factory } = context;
  return (sourceFile) => {
    const visit = (node) => {
      const literal = workerUrlLiteral(node);
      if (literal !== undefined) {
        const target = resolve(dirname(sourceFile.fileName), literal.text);
        if (!existsSync(target)) {
          problems.push(`${relative(root, sourceFile.fileName)}: new URL('${literal.text}', import.meta.url) names no file`);
        }
        return factory.updateNewExpression(node, node.expression, node.typeArguments, [
          factory.createStringLiteral(toJs(literal.text), true),
          ...node.arguments.slice(1),
        ]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sourceFile, visit);
  };
}

function rewriteDeclarationSpecifiers(context) {
  const { factory } = context;
  const specifier = (node) =>
    node !== undefined && ts.isStringLiteral(node) && isRelativeTs(node.text) ? factory.createStringLiteral(toJs(node.text), true) : undefined;
  return (file) => {
    const visit = (node) => {
      if (ts.isImportDeclaration(node)) {
        const next = specifier(node.moduleSpecifier);
        if (next) return factory.updateImportDeclaration(node, node.modifiers, node.importClause, next, node.attributes);
      } else if (ts.isExportDeclaration(node)) {
        const next = specifier(node.moduleSpecifier);
        if (next) return factory.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, next, node.attributes);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
        const next = specifier(node.argument.literal);
        if (next) {
          return factory.updateImportTypeNode(
            node,
            factory.updateLiteralTypeNode(node.argument, next),
            node.attributes,
            node.qualifier,
            ts.visitNodes(node.typeArguments, visit, ts.isTypeNode),
            node.isTypeOf,
          );
        }
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.isSourceFile(file) ? ts.visitNode(file, visit) : file;
  };
}

const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => report([d]) });
if (config === undefined) process.exit(1);

function report(diagnostics) {
  if (diagnostics.length === 0) return;
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
}

const outDir = config.options.outDir;
if (outDir === undefined || !resolve(outDir).startsWith(root + '/')) throw new Error(`tsconfig.build.json: outDir must lie inside ${root}`);
rmSync(outDir, { recursive: true, force: true });

const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, projectReferences: config.projectReferences });
const diagnostics = [...config.errors, ...ts.getPreEmitDiagnostics(program)];
const emitted = program.emit(undefined, undefined, undefined, false, {
  before: [rewriteWorkerUrls],
  afterDeclarations: [rewriteDeclarationSpecifiers],
});
diagnostics.push(...emitted.diagnostics);
report(diagnostics);
for (const problem of problems) process.stderr.write(`${problem}\n`);
if (diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error) || problems.length > 0 || emitted.emitSkipped) {
  process.stderr.write('build-lib: failed\n');
  process.exit(1);
}
// On stderr, like npm's own lifecycle lines: `npm pack --json` (which runs this through prepack) keeps a clean stdout.
process.stderr.write(`build-lib: ${config.fileNames.length} modules compiled into ${relative(root, outDir)}/\n`);
