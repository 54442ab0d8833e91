/**
 * The dashboards against Grafana's own dashboard schema. @grafana/schema
 * publishes it as TypeScript types generated from Grafana's CUE schema (the
 * package ships no JSON Schema), so each dashboard is type-checked as a
 * `Dashboard`: its JSON inlined as an object literal (so strings keep their
 * literal types and unknown keys are excess properties) with
 * `satisfies Dashboard`, compiled with the TypeScript compiler in memory.
 *
 * One adaptation: the schema writes closed sets of strings as TypeScript string
 * enums (ThresholdsMode, FieldColorModeId, MappingType…), which no JSON value
 * can be typed as; `Json<T>` turns each such enum into the union of its values
 * ("absolute" | "percentage"), and nothing else. Numeric enums stay: a literal
 * must be one of their members.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const DIR = 'grafana/dashboards';
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json'));

const PRELUDE = `import type { Dashboard } from '@grafana/schema';
type Json<T> = T extends string ? \`\${T}\` : T extends number | boolean | null | undefined ? T : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
`;

/** Compiler errors of `dashboard satisfies Dashboard`, as "line: message" against the generated file. */
function schemaErrors(dashboard: unknown, name: string): string[] {
  const file = resolve(`test/unit/grafana-schema-check-${name}.ts`);
  const source = `${PRELUDE}export const dashboard = ${JSON.stringify(dashboard, null, 2)} satisfies Json<Dashboard>;\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    resolve(fileName) === file ? ts.createSourceFile(fileName, source, languageVersion, true) : getSourceFile(fileName, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => resolve(fileName) === file || fileExists(fileName);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file !== undefined && d.start !== undefined ? `${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const load = (f: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Record<string, unknown>;

describe("the dashboards against @grafana/schema's Dashboard", () => {
  it('finds the two dashboards', () => {
    expect(FILES.sort()).toEqual(['nginx-port-agent-fleet.json', 'nginx-port-agent-host.json']);
  });

  it.each(FILES)('%s is a Dashboard', (f) => {
    expect(schemaErrors(load(f), f.replace(/\.json$/, ''))).toEqual([]);
  });

  it.each([
    ['a grid position without its height', (d: Record<string, unknown>) => delete ((d['panels'] as { gridPos: Record<string, unknown> }[])[0]!).gridPos['h']],
    ['an unknown top-level key', (d: Record<string, unknown>) => (d['refreshInterval'] = '5s')],
    ['a graph tooltip mode Grafana does not have', (d: Record<string, unknown>) => (d['graphTooltip'] = 7)],
    ['a variable type Grafana does not have', (d: Record<string, unknown>) => (((d['templating'] as { list: Record<string, unknown>[] }).list[0]!)['type'] = 'prometheus')],
    ['a threshold mode Grafana does not have', (d: Record<string, unknown>) => {
      const p = (d['panels'] as { fieldConfig?: { defaults: { thresholds?: { mode: string } } } }[]).find((x) => x.fieldConfig?.defaults.thresholds !== undefined)!;
      p.fieldConfig!.defaults.thresholds!.mode = 'relative';
    }],
  ])('would catch %s (the check is not vacuous)', (_what, breakIt) => {
    const d = load('nginx-port-agent-host.json');
    breakIt(d);
    expect(schemaErrors(d, 'broken').length).toBeGreaterThan(0);
  });
});
