// The SQL boundary, proved with the type checker: every statement DuckDB-WASM runs is a value of type `Sql`, and
// outside src/sql nothing can make an `Sql` except by composing the helpers there (`sql` tagged templates, `ident`,
// `literal`, `timestampLiteral`, `join`, and `raw` of constant text). A plain string, a template literal with `${}`,
// a `+` concatenation or a string variable has type `string`, which is not assignable to the branded `Sql`.
//
// What the checker does not need to cover: `any` flowing into an `Sql` (JSON.parse, untyped values) is an error of
// typescript-eslint's no-unsafe-assignment / no-unsafe-argument / no-unsafe-return (recommendedTypeChecked, see
// eslint.config.js). What it cannot see: a DuckDB method taken out of its object by destructuring
// (`const { query } = connection`) — no such code exists, and a review would have to spot it.
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SQL_MODULE_DIR = join(ROOT, 'src', 'sql') + sep;
const SQL_INDEX = join(ROOT, 'src', 'sql', 'index.ts');
const SCANNED_DIRS = ['src', 'workers'];

/**
 * DuckDB-WASM methods that run or parse SQL text, by declaring class, and the position of the text. The vendor's
 * other methods are listed in {@link DUCKDB_NO_SQL}; a method in neither list fails the test until it is classified
 * here (e.g. `insertCSVFromPath`, which reads a path, or `registerFileURL`, which reaches the network).
 */
const DUCKDB_SQL_ARGUMENT: Readonly<Record<string, number>> = {
  'AsyncDuckDBConnection.query': 0,
  'AsyncDuckDBConnection.send': 0,
  'AsyncDuckDBConnection.prepare': 0,
  'AsyncDuckDBConnection.getTableNames': 0,
  'AsyncDuckDB.runQuery': 1,
  'AsyncDuckDB.startPendingQuery': 1,
  'AsyncDuckDB.getTableNames': 1,
  'AsyncDuckDB.createPrepared': 1,
  'AsyncDuckDB.tokenize': 0,
};

/** DuckDB-WASM methods Larder may call that take no SQL text (names of registered buffers, Arrow bytes, handles). */
const DUCKDB_NO_SQL = new Set([
  'AsyncDuckDB.instantiate', 'AsyncDuckDB.open', 'AsyncDuckDB.connect', 'AsyncDuckDB.terminate', 'AsyncDuckDB.reset',
  'AsyncDuckDB.getVersion', 'AsyncDuckDB.registerFileBuffer', 'AsyncDuckDB.dropFile', 'AsyncDuckDB.dropFiles', 'AsyncDuckDB.flushFiles',
  'AsyncDuckDB.insertArrowFromIPCStream', 'AsyncDuckDB.pollPendingQuery', 'AsyncDuckDB.cancelPendingQuery', 'AsyncDuckDB.fetchQueryResults',
  'AsyncDuckDBConnection.close', 'AsyncDuckDBConnection.cancelSent', 'AsyncDuckDBConnection.insertArrowFromIPCStream',
  'AsyncDuckDBConnection.insertArrowTable',
  // A prepared statement's query/send take bound parameter values, never SQL text.
  'AsyncPreparedStatement.query', 'AsyncPreparedStatement.send', 'AsyncPreparedStatement.close',
]);

/**
 * Constants (by `file:name`, file relative to the repository) that may be passed to `raw()` besides string literals.
 * Empty: every `raw()` today takes a literal. Add one only for a `const` of a closed set of keywords.
 */
const RAW_ALLOWLIST = new Set<string>([]);

interface Violation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** The violations of the SQL boundary in `files` (absolute paths, part of `program`). */
function checkSqlBoundary(program: ts.Program, files: readonly string[]): Violation[] {
  const checker = program.getTypeChecker();
  const sqlModule = program.getSourceFile(SQL_INDEX);
  if (sqlModule === undefined) throw new Error(`${SQL_INDEX} is not part of the program`);
  const moduleSymbol = checker.getSymbolAtLocation(sqlModule)!;
  const exported = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
  const sqlAlias = exported.get('Sql')!.declarations!.find(ts.isTypeAliasDeclaration)!;
  const sqlType = checker.getTypeAtLocation(sqlAlias.name);
  const helper = (name: string): ts.Symbol => {
    const symbol = exported.get(name);
    if (symbol === undefined) throw new Error(`src/sql/index.ts no longer exports ${name}`);
    return symbol;
  };
  const [sqlTag, rawFn, joinFn] = [helper('sql'), helper('raw'), helper('join')];

  const violations: Violation[] = [];
  const resolved = (node: ts.Node): ts.Symbol | undefined => {
    const symbol = checker.getSymbolAtLocation(node);
    return symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  };
  /** Whether a value of this type can only have come from src/sql (`any` and `never` would let anything through). */
  const isSql = (type: ts.Type): boolean =>
    (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Never)) === 0 && checker.isTypeAssignableTo(type, sqlType);
  const isConstantText = (node: ts.Expression): boolean => ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node);

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (source === undefined) throw new Error(`${file} is not part of the program`);
    const report = (node: ts.Node, rule: string): void => {
      violations.push({
        file: relative(ROOT, file),
        line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
        rule,
        text: node.getText(source).replace(/\s+/g, ' ').slice(0, 120),
      });
    };
    /** Text, or a type that could hide text. */
    const isTextLike = (type: ts.Type): boolean =>
      (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0 || checker.isTypeAssignableTo(type, checker.getStringType());
    const rawAllowed = (id: ts.Identifier): boolean => {
      const declaration = resolved(id)?.declarations?.[0];
      if (declaration === undefined || !ts.isVariableDeclaration(declaration)) return false;
      const list = declaration.parent;
      const isConst = ts.isVariableDeclarationList(list) && (list.flags & ts.NodeFlags.Const) !== 0;
      return isConst && RAW_ALLOWLIST.has(`${relative(ROOT, declaration.getSourceFile().fileName)}:${id.text}`);
    };
    /** The expression a reference to a helper stands in: `raw` itself, or `S.raw` through a namespace import. */
    const referenceOf = (id: ts.Identifier): ts.Expression =>
      ts.isPropertyAccessExpression(id.parent) && id.parent.name === id ? id.parent : id;
    const calledWith = (reference: ts.Expression): ts.CallExpression | undefined =>
      ts.isCallExpression(reference.parent) && reference.parent.expression === reference ? reference.parent : undefined;

    const visit = (node: ts.Node): void => {
      // 1. DuckDB-WASM calls: the SQL argument must be an Sql; unknown methods must be classified above.
      if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
        const member = ts.isPropertyAccessExpression(node) ? node.name : node.argumentExpression;
        const declaration = resolved(member)?.declarations?.[0];
        if (declaration !== undefined && /[\\/]@duckdb[\\/]duckdb-wasm[\\/]/.test(declaration.getSourceFile().fileName)
          && (ts.isMethodDeclaration(declaration) || ts.isMethodSignature(declaration))) {
          const owner = (declaration.parent as ts.ClassDeclaration | ts.InterfaceDeclaration).name?.text ?? '?';
          const method = `${owner}.${declaration.name.getText()}`;
          const call = calledWith(node);
          const position = DUCKDB_SQL_ARGUMENT[method];
          if (call === undefined) report(node, `DuckDB method ${method} used other than by a direct call`);
          else if (position !== undefined) {
            const argument = call.arguments[position];
            if (argument === undefined || !isSql(checker.getTypeAtLocation(argument))) {
              report(argument ?? call, `${method} must be given SQL built by src/sql (an Sql), not ${argument === undefined ? 'nothing' : checker.typeToString(checker.getTypeAtLocation(argument))}`);
            }
          } else if (!DUCKDB_NO_SQL.has(method)) {
            report(call, `DuckDB method ${method} is not classified: add it to DUCKDB_SQL_ARGUMENT or DUCKDB_NO_SQL in this test`);
          }
        }
      }
      // 2. No value is asserted into an Sql, nor text into any/never (which an Sql variable would then accept).
      if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
        const target = checker.getTypeFromTypeNode(node.type);
        const escape = (target.flags & (ts.TypeFlags.Any | ts.TypeFlags.Never)) !== 0 && isTextLike(checker.getTypeAtLocation(node.expression));
        if (isSql(target) || escape) report(node, 'type assertion of text to Sql (or to any/never) outside src/sql');
      }
      // 3. No body-less function claims to return an Sql (an overload or `declare function` could return anything).
      if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.body === undefined) {
        const signature = checker.getSignatureFromDeclaration(node);
        if (signature !== undefined && isSql(checker.getReturnTypeOfSignature(signature))) report(node, 'body-less function returning Sql outside src/sql');
      }
      // 4. The helpers are used as intended: `sql` only as a tag, `raw` on constant text, `join` with a constant separator.
      if (ts.isIdentifier(node) && !ts.isImportSpecifier(node.parent) && !ts.isExportSpecifier(node.parent) && !ts.isImportClause(node.parent)) {
        const symbol = resolved(node);
        if (symbol === sqlTag || symbol === rawFn || symbol === joinFn) {
          const reference = referenceOf(node);
          const call = calledWith(reference);
          if (symbol === sqlTag) {
            if (!(ts.isTaggedTemplateExpression(reference.parent) && reference.parent.tag === reference)) report(reference, '`sql` used other than as a template tag');
          } else if (call === undefined) {
            report(reference, `\`${symbol.name}\` used other than by a direct call`);
          } else if (symbol === rawFn) {
            const argument = call.arguments[0];
            const allowed = argument !== undefined && (isConstantText(argument) || (ts.isIdentifier(argument) && rawAllowed(argument)));
            if (!allowed) report(call, '`raw()` takes a string literal or an allowlisted constant (RAW_ALLOWLIST in this test)');
          } else if (call.arguments[1] !== undefined && !isConstantText(call.arguments[1])) {
            report(call, '`join()` separator must be a string literal');
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return violations;
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  return { ...ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT).options, noEmit: true };
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Every .ts file under the scanned folders except src/sql itself. */
function scannedFiles(): string[] {
  return SCANNED_DIRS.flatMap((dir) => tsFilesUnder(join(ROOT, dir))).filter((file) => !file.startsWith(SQL_MODULE_DIR));
}

/** Runs the checker over one in-memory file placed in src/ (so its imports resolve as a real module's would). */
function checkSnippet(code: string): { violations: Violation[]; diagnostics: readonly ts.Diagnostic[] } {
  const file = join(ROOT, 'src', '__sql_boundary_probe__.ts');
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const [getSourceFile, fileExists, readFile] = [host.getSourceFile.bind(host), host.fileExists.bind(host), host.readFile.bind(host)];
  host.getSourceFile = (name, language, ...rest) =>
    resolve(name) === file ? ts.createSourceFile(name, code, language, true) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => resolve(name) === file || fileExists(name);
  host.readFile = (name) => (resolve(name) === file ? code : readFile(name));
  const program = ts.createProgram({ rootNames: [file, SQL_INDEX], options, host });
  return { violations: checkSqlBoundary(program, [file]), diagnostics: ts.getPreEmitDiagnostics(program, program.getSourceFile(file)) };
}

/** Lines of a snippet marked `// caught`: the checker must report exactly these. */
function markedLines(code: string): number[] {
  return code.split('\n').flatMap((line, i) => (line.includes('// caught') ? [i + 1] : []));
}

const PROBE = `
import * as duckdb from '@duckdb/duckdb-wasm';
import * as S from './sql/index.ts';
import { ident, join, literal, raw, sql, type Sql } from './sql/index.ts';

declare const connection: duckdb.AsyncDuckDBConnection;
declare const db: duckdb.AsyncDuckDB;
declare const statement: duckdb.AsyncPreparedStatement;
declare const table: string;
declare const value: string;
declare const fragments: Sql[];
const LIMIT = 'LIMIT 10';

export async function bad(): Promise<void> {
  await connection.query('SELECT 1'); // caught: a constant string is still not Sql
  await connection.query(\`SELECT * FROM \${table}\`); // caught: template literal with a substitution
  await connection.query(sql\`SELECT * FROM \${ident(table)}\` + ' ' + LIMIT); // caught: concatenation
  await connection.query(value); // caught: a string variable
  await connection.send(\`SELECT * FROM t WHERE x = '\${value}'\`); // caught
  await connection.prepare(value); // caught
  await db.runQuery(0, \`SELECT \${value}\`); // caught
  await db.startPendingQuery(0, value); // caught
  await connection['query'](value); // caught: element access
  const q = connection.query.bind(connection); // caught: a DuckDB method passed around
  await q(value);
  await connection.query(value as Sql); // caught: asserted into Sql
  await connection.query(sql\`SELECT \${value as never}\`); // caught: text asserted to never
  await connection.query(sql\`SELECT \${(value as unknown) as never}\`); // caught: through unknown
  await connection.query(raw(value)); // caught: raw() of input
  await connection.query(S.raw(\`SELECT \${value}\`)); // caught: raw() through a namespace import
  const run = raw; // caught: raw passed around
  await connection.query(run('x'));
  await connection.query(join(fragments, value)); // caught: join() with an input separator
  await connection.query(sql(Object.assign([value], { raw: [value] }))); // caught: sql called, not used as a tag
  await connection.insertCSVFromPath(value, { name: 't' }); // caught: an unclassified DuckDB method
}

export declare function forge(text: string): Sql; // caught: a body-less function returning Sql

export async function good(): Promise<void> {
  await connection.query(sql\`SELECT 1\`);
  await connection.query(sql\`SELECT * FROM \${ident(table)} WHERE x = \${literal(value)} \${raw('LIMIT 10')}\`);
  await connection.query(S.sql\`SELECT \${join(fragments, ' AND ')}\`);
  await db.runQuery(0, sql\`SELECT \${join(fragments)}\`);
  await statement.query(value, 1); // bound parameters, not SQL
  await db.registerFileBuffer('larder-ingest/1.csv', new Uint8Array());
  await connection.insertArrowFromIPCStream(new Uint8Array(), { name: table });
  void ({ rows: 1 } as never); // an object asserted to never is no text
}
`;

describe('the SQL boundary', () => {
  it('the checker catches every way around src/sql in a snippet, and nothing in correct code', () => {
    const { violations, diagnostics } = checkSnippet(PROBE);
    // Every bad line compiles: the compiler alone would let them all through.
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
    expect([...new Set(violations.map((v) => v.line))].sort((a, b) => a - b)).toEqual(markedLines(PROBE));
  });

  it('holds in every module of src/ and workers/', () => {
    const files = scannedFiles();
    expect(files.length).toBeGreaterThan(50);
    const program = ts.createProgram({ rootNames: [...files, SQL_INDEX], options: compilerOptions() });
    const violations = checkSqlBoundary(program, files);
    expect(violations.map((v) => `${v.file}:${v.line} ${v.rule}: ${v.text}`)).toEqual([]);
  });

  it('lists every raw() call site outside src/sql, each on constant text', () => {
    // An audit trail: the test above already requires constant text; this shows where raw() is used.
    const files = scannedFiles();
    const sites = files.flatMap((file) => {
      const text = ts.sys.readFile(file) ?? '';
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const found: string[] = [];
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'raw') {
          found.push(`${relative(ROOT, file)}: ${node.getText(source)}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      return found;
    });
    expect(sites.length).toBeGreaterThan(0);
    for (const site of sites) expect(site).toMatch(/: raw\('[^'$`\\]*'\)$/);
  });
});
