/**
 * Notebooks read as lessons: every code line fits the cell width, and no cell ends in an expression
 * whose value tslab would print as an object dump (it prints the last expression statement's value
 * unless that is undefined). The parameters cell ends in `P` on purpose: it shows the parameters.
 *
 * The second check type-checks each notebook as one TypeScript file (cells in order, imports
 * hoisted, "ntkd-lab" resolved to src/index.ts) and asks the checker for the type of each cell's
 * last expression statement: `void`, `undefined`, `never` or `Promise<void>` print nothing; a bare
 * identifier, an object literal, `await savefig(...)` or `model.dispose()` (a DisposeResult) do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { packageRoot } from "../../src/notebook/self-link";

const ROOT = packageRoot();
const DIR = path.join(ROOT, "notebooks");
const MAX_LINE = 110;


interface CodeCell {
  id: string;
  source: string;
  isParameters: boolean;
}

function codeCells(file: string): CodeCell[] {
  const nb = JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8")) as {
    cells: { id: string; cell_type: string; source: string[] | string; metadata?: { tags?: string[] } }[];
  };
  return nb.cells
    .filter((c) => c.cell_type === "code")
    .map((c) => ({
      id: c.id,
      source: Array.isArray(c.source) ? c.source.join("") : c.source,
      isParameters: (c.metadata?.tags ?? []).includes("parameters"),
    }));
}

const notebooks = fs.readdirSync(DIR).filter((f) => f.endsWith(".ipynb")).sort();

test(`every code line of every notebook is at most ${MAX_LINE} characters`, () => {
  assert.ok(notebooks.length > 0);
  const problems: string[] = [];
  for (const f of notebooks) {
    for (const cell of codeCells(f)) {
      cell.source.split("\n").forEach((line, i) => {
        // Characters, not UTF-16 units: "µ" and "—" are one column each.
        const width = [...line].length;
        if (width > MAX_LINE) problems.push(`${f} cell ${cell.id} line ${i + 1}: ${width} characters`);
      });
    }
  }
  assert.deepEqual(problems, []);
});

/** One virtual file per notebook: hoisted imports, then each cell's other statements, in order. */
function notebookProgramText(cells: CodeCell[]): { text: string; cellStarts: number[] } {
  const imports = new Map<string, Set<string>>();
  const bodies: string[] = [];
  for (const cell of cells) {
    const sf = ts.createSourceFile("cell.ts", cell.source, ts.ScriptTarget.ES2022, true);
    let body = "";
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
        const names = imports.get(st.moduleSpecifier.text) ?? new Set<string>();
        imports.set(st.moduleSpecifier.text, names);
        const bindings = st.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) bindings.elements.forEach((e) => names.add(e.getText(sf)));
      } else body += st.getFullText(sf);
    }
    bodies.push(body);
  }
  let text = [...imports].map(([from, names]) => `import { ${[...names].join(", ")} } from ${JSON.stringify(from)};\n`).join("");
  const cellStarts: number[] = [];
  for (const body of bodies) {
    cellStarts.push(text.length);
    // The empty statement keeps a cell's last line from running into the next cell's first.
    text += `${body}\n;\n`;
  }
  return { text, cellStarts };
}

const PRINTS_NOTHING = /^(void|undefined|never|Promise<void>|Promise<undefined>)$/;

test("no code cell ends in a value tslab prints, other than the parameters cell's display", () => {
  const files = new Map<string, { text: string; cellStarts: number[]; cells: CodeCell[] }>();
  for (const f of notebooks) {
    const cells = codeCells(f);
    files.set(path.join(ROOT, "test-notebook-cells", `${f}.ts`), { ...notebookProgramText(cells), cells });
  }
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    baseUrl: ROOT,
    paths: { "ntkd-lab": ["src/index.ts"] },
  };
  const host = ts.createCompilerHost(options);
  const readSource = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => {
    const virtual = files.get(path.resolve(name));
    return virtual ? ts.createSourceFile(name, virtual.text, version, true) : readSource(name, version, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const checker = program.getTypeChecker();
  const problems: string[] = [];
  for (const [name, { cellStarts, cells }] of files) {
    const f = path.basename(name, ".ts");
    const sf = program.getSourceFile(name);
    assert.ok(sf, `${f}: not in the program`);
    for (const d of program.getSyntacticDiagnostics(sf)) {
      problems.push(`${f}: syntax error: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    }
    cells.forEach((cell, i) => {
      const start = cellStarts[i];
      const end = cellStarts[i + 1] ?? Infinity;
      const own = sf.statements.filter((s) => !ts.isEmptyStatement(s) && s.getStart(sf) >= start && s.getStart(sf) < end);
      const last = own[own.length - 1];
      let printed: string | null = null;
      if (last && ts.isExpressionStatement(last)) {
        const type = checker.typeToString(checker.getTypeAtLocation(last.expression));
        if (!PRINTS_NOTHING.test(type)) printed = type;
      }
      if (cell.isParameters) {
        assert.ok(printed !== null, `${f} cell ${cell.id}: the parameters cell should end by showing the parameters`);
      } else if (printed !== null) {
        problems.push(`${f} cell ${cell.id} ends in \`${last.getText(sf).split("\n")[0]}\`, a ${printed} tslab prints; ` +
          "end it with a statement, `void`, or a call that returns nothing");
      }
    });
  }
  assert.deepEqual(problems, []);
});

/** The names a cell declares or imports at its top level. */
function topLevelNames(sf: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const addBinding = (b: ts.BindingName): void => {
    if (ts.isIdentifier(b)) names.add(b.text);
    else b.elements.forEach((e) => { if (!ts.isOmittedExpression(e)) addBinding(e.name); });
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => addBinding(d.name));
    else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) names.add(st.name.text);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      if (st.importClause.name) names.add(st.importClause.name.text);
      const b = st.importClause.namedBindings;
      if (b && ts.isNamedImports(b)) b.elements.forEach((e) => names.add(e.name.text));
      else if (b) names.add(b.name.text);
    }
  }
  return names;
}

// tslab turns a cell's top-level names into properties of the session, and rewrites references to
// them in later cells, but not a shorthand property: `{ seeds }` in a later cell throws
// "ReferenceError: seeds is not defined" (checked against tslab 1.0.22), so it must be `seeds: seeds`.
test("no cell uses a shorthand property for a name an earlier cell declared", () => {
  const problems: string[] = [];
  for (const f of notebooks) {
    const earlier = new Set<string>();
    for (const cell of codeCells(f)) {
      const sf = ts.createSourceFile("cell.ts", cell.source, ts.ScriptTarget.ES2022, true);
      const own = topLevelNames(sf);
      const visit = (node: ts.Node): void => {
        if (ts.isShorthandPropertyAssignment(node) && earlier.has(node.name.text) && !own.has(node.name.text)) {
          problems.push(`${f} cell ${cell.id}: \`{ ${node.name.text} }\` names an earlier cell's ${node.name.text}; ` +
            `write \`${node.name.text}: ${node.name.text}\``);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
      own.forEach((n) => earlier.add(n));
    }
  }
  assert.deepEqual(problems, []);
});
