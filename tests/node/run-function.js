// Run a Twilio Serverless function handler the way the runtime does, with the
// real twilio package as the global Twilio, and print the TwiML it returns.
//   node run-function.js FUNCTION.js '{"From": "...", "To": "..."}' ['{"VAR": "value"}']
// The third argument is the context: the environment's variables.
'use strict';
global.Twilio = require('twilio');
const fn = require(require('path').resolve(process.argv[2]));
const event = JSON.parse(process.argv[3] || '{}');
const context = JSON.parse(process.argv[4] || '{}');
fn.handler(context, event, (err, result) => {
  if (err) {
    console.error(String(err));
    process.exit(1);
  }
  process.stdout.write(String(result));
});
