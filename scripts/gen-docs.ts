/**
 * Generates docs/cli.md from the commands' own --help text and docs/api.md from the TSDoc of
 * every symbol src/index.ts exports (TypeScript's compiler API; no extra dependency).
 * `npm run docs` writes them; `npm run docs -- --check` fails when they are stale.
 */
import ts from 'typescript';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/program.js';
import { writeFileAtomic } from '../src/util/atomic.js';

const root = join(import.meta.dirname, '..');

function helpOf(cmd: Command): string {
  // Fixed width so the output does not depend on the terminal running the script.
  cmd.configureOutput({ getOutHelpWidth: () => 100, getErrHelpWidth: () => 100 });
  return cmd.helpInformation().trimEnd();
}

/** Markdown CLI reference: the root help, then every command's help. */
export function cliReference(): string {
  const program = buildProgram();
  const parts = [
    '# CLI reference',
    '',
    'Generated from the commands\' own `--help` by `npm run docs`; do not edit by hand.',
    '',
    '## tfjs-compress',
    '',
    '```text',
    helpOf(program),
    '```',
  ];
  for (const cmd of program.commands) {
    if (cmd.name() === 'help') continue;
    parts.push('', `## tfjs-compress ${cmd.name()}`, '', '```text', helpOf(cmd), '```');
  }
  return parts.join('\n') + '\n';
}

function docOf(checker: ts.TypeChecker, symbol: ts.Symbol): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).split('\n\n')[0]!.replace(/\s+/g, ' ').trim();
}

function kindOf(decl: ts.Declaration | undefined): string {
  if (!decl) return 'symbol';
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isClassDeclaration(decl)) return 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isVariableDeclaration(decl)) return 'const';
  return 'symbol';
}

/** Markdown API reference: every public export, grouped by source folder, with its TSDoc summary. */
export function apiReference(): string {
  const entry = join(root, 'src/index.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry)!;
  const moduleSymbol = checker.getSymbolAtLocation(source)!;
  const groups = new Map<string, string[]>();
  for (const exp of checker.getExportsOfModule(moduleSymbol)) {
    const target = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const decl = target.declarations?.[0];
    const file = decl?.getSourceFile().fileName ?? '';
    const rel = file.slice(file.indexOf('/src/') + 1);
    const folder = rel.split('/').slice(0, 2).join('/');
    let signature = '';
    if (decl && ts.isFunctionDeclaration(decl)) {
      const sig = checker.getSignatureFromDeclaration(decl);
      if (sig) signature = checker.signatureToString(sig, undefined, ts.TypeFormatFlags.NoTruncation);
    }
    const line = `- **${exp.getName()}** (${kindOf(decl)}, \`${rel}\`)${signature ? ` \`${signature}\`` : ''}: ${docOf(checker, target) || '_undocumented_'}`;
    groups.set(folder, [...(groups.get(folder) ?? []), line]);
  }
  const parts = ['# API reference', '', 'Generated from the TSDoc of `src/index.ts` exports by `npm run docs`; do not edit by hand.'];
  for (const [folder, lines] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    parts.push('', `## ${folder}`, '', ...lines.sort());
  }
  return parts.join('\n') + '\n';
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const outputs: Array<[string, string]> = [
    [join(root, 'docs/cli.md'), cliReference()],
    [join(root, 'docs/api.md'), apiReference()],
  ];
  let stale = 0;
  for (const [path, text] of outputs) {
    if (check) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
        console.error(`${path} is out of date: run npm run docs`);
        stale++;
      }
    } else {
      writeFileAtomic(path, text);
      console.log(`wrote ${path}`);
    }
  }
  if (stale) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) void main();
