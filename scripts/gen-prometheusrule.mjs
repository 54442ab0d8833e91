// Builds deploy/kubernetes/prometheusrule.yaml, a Prometheus Operator
// PrometheusRule, from every rule group file rules/*.yml: the rules stay written
// once, in the form promtool tests. Comments in the rule files come along.
//
//   node scripts/gen-prometheusrule.mjs            write the file (npm run gen:prometheusrule)
//   node scripts/gen-prometheusrule.mjs --stdout   print it instead (the drift test compares this)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, isMap, isSeq, parseDocument } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RULES = join(ROOT, 'rules');
const OUT = join(ROOT, 'deploy/kubernetes/prometheusrule.yaml');

const HEADER = `# Generated from rules/*.yml by scripts/gen-prometheusrule.mjs: do not edit.
# After changing the rules, run \`npm run gen:prometheusrule\`.
#
# Add the labels your Prometheus's ruleSelector selects (e.g. \`release: <helm
# release>\`). The rules expect the agent's job to be named nginx-port-agent,
# as the ServiceMonitor and PodMonitor in this directory name it.
`;

/** The group sequences of rules/*.yml, in file-name order; every problem is an error. */
function ruleGroups() {
  const files = readdirSync(RULES)
    .filter((f) => f.endsWith('.yml'))
    .sort();
  if (files.length === 0) throw new Error('rules/ has no *.yml rule files');
  const groups = [];
  const names = new Map();
  for (const file of files) {
    const doc = parseDocument(readFileSync(join(RULES, file), 'utf8'));
    if (doc.errors.length > 0) throw new Error(`rules/${file}: ${doc.errors[0].message}`);
    const seq = isMap(doc.contents) ? doc.contents.get('groups', true) : undefined;
    if (!isSeq(seq)) throw new Error(`rules/${file}: no \`groups:\` list`);
    for (const group of seq.items) {
      const name = isMap(group) ? group.get('name') : undefined;
      if (typeof name !== 'string') throw new Error(`rules/${file}: a group without a name`);
      if (names.has(name)) throw new Error(`rules/${file}: group ${name} is also in rules/${names.get(name)}`);
      names.set(name, file);
      groups.push(group);
    }
  }
  return groups;
}

export function generate() {
  const doc = new Document({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'nginx-port-agent',
      labels: { 'app.kubernetes.io/name': 'nginx-port-agent' },
    },
    spec: { groups: [] },
  });
  const seq = doc.getIn(['spec', 'groups'], true);
  for (const group of ruleGroups()) seq.items.push(group);
  return HEADER + doc.toString({ lineWidth: 0 });
}

const text = generate();
if (process.argv.includes('--stdout')) {
  process.stdout.write(text);
} else {
  writeFileSync(OUT, text);
  process.stdout.write(`wrote ${OUT.slice(ROOT.length + 1)}\n`);
}
