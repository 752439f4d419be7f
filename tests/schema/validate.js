// Validate twprov files against a JSON Schema the way YAML editors do
// (yaml-language-server reads YAML 1.2 with the yaml package), with Ajv's
// draft 2020-12 validator, and say where each error is in the file.
//   node validate.js SCHEMA.json FILE.yaml...
// prints one JSON object per file: {file, yaml_error, valid, errors: [{path,
// keyword, message, line, col}]}; `path` is the JSON pointer of the value
// (for an unknown key: of its mapping), line and col those of the value (of
// the key for an unknown key), 1-based as twprov's.  Exits 2 if the schema
// itself is not a valid draft 2020-12 schema.
'use strict';
const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');
const YAML = require('yaml');

const schema = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addKeyword('x-twprov-ref');     // twprov's annotation: the kind a name refers to
let validate;
try {
  validate = ajv.compile(schema);
} catch (e) {
  console.error(`invalid schema: ${e.message}`);
  process.exit(2);
}

// The node at a JSON pointer of the document, and the key node of its last step.
function nodeAt(doc, pointer) {
  let node = doc.contents, key = null;
  const steps = pointer === '' ? [] : pointer.slice(1).split('/').map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const step of steps) {
    if (YAML.isAlias(node)) node = node.resolve(doc);
    if (YAML.isMap(node)) {
      const pair = node.items.find(p => String(YAML.isScalar(p.key) ? p.key.value : p.key) === step);
      if (!pair) return { node: null, key: null };
      key = pair.key;
      node = pair.value;
    } else if (YAML.isSeq(node)) {
      node = node.items[Number(step)];
      key = null;
    } else {
      return { node: null, key: null };
    }
  }
  return { node, key };
}

function position(lc, node) {
  if (!node || !node.range) return { line: 1, col: 1 };     // the document (an empty one)
  const p = lc.linePos(node.range[0]);
  return { line: p.line, col: p.col };
}

for (const file of process.argv.slice(3)) {
  const out = { file, yaml_error: null, valid: false, errors: [] };
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { lineCounter: lc, uniqueKeys: true });
  let data;
  try {
    if (doc.errors.length) throw doc.errors[0];
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    out.yaml_error = String(e.message).split('\n')[0];
    console.log(JSON.stringify(out));
    continue;
  }
  out.valid = validate(data);
  for (const e of validate.errors || []) {
    let { node, key } = nodeAt(doc, e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const inner = nodeAt(doc, `${e.instancePath}/${e.params.additionalProperty.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      node = inner.key;
    } else if (key && (node === null || node === undefined)) {
      node = key;
    }
    out.errors.push({ path: e.instancePath, keyword: e.keyword, message: e.message, ...position(lc, node) });
  }
  console.log(JSON.stringify(out));
}
