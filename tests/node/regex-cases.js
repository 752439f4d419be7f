// The route patterns of regex-cases.json as the generated Function runs them
// (a JavaScript RegExp): every group must be what PCRE2 gives (test_regex.c
// checks the same file on the C side), and every refused pattern must be one
// JavaScript would read differently or not at all... or refuse too.
'use strict';
const cases = require('./regex-cases.json');
let failed = 0;
for (const c of cases.match) {
  const m = new RegExp(c.pattern).exec(c.subject);
  const got = m ? Array.from(m, (g) => (g === undefined ? null : g)) : null;
  if (JSON.stringify(got) !== JSON.stringify(c.groups)) {
    console.error(`${c.pattern} on ${JSON.stringify(c.subject)}: ${JSON.stringify(got)}, expected ${JSON.stringify(c.groups)}`);
    failed++;
  }
}
console.log(`${cases.match.length - failed}/${cases.match.length} patterns give the same groups in JavaScript`);
process.exit(failed ? 1 : 0);
