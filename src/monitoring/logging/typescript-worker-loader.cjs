'use strict';
/*
 * Preloaded into the log transport's worker thread when the application runs from its TypeScript
 * sources (Jest, scripts run through a TypeScript loader): a worker thread starts with a plain
 * Node.js loader and cannot require `.ts` files. Compiled builds load the `.js` transport and
 * never use this file. It compiles `.ts` files with `@swc/core` (a development dependency).
 */
const Module = require('node:module');
const fs = require('node:fs');

let swc;
try {
  swc = require('@swc/core');
} catch {
  swc = undefined;
}

if (swc && !Module._extensions['.ts']) {
  Module._extensions['.ts'] = function compileTypeScript(module, filename) {
    const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename,
      sourceMaps: 'inline',
      module: { type: 'commonjs' },
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
        keepClassNames: true,
      },
    });
    module._compile(code, filename);
  };
  // thread-stream otherwise tries to load ts-node for `.ts` targets.
  process[Symbol.for('ts-node.register.instance')] = true;
}
