// Writes an ES-module flavour of the library's declarations (`*.d.mts` next to each `*.d.ts`).
//
// The package is CommonJS, so TypeScript reads its `.d.ts` files as CommonJS. Under
// `moduleResolution: node16` a CommonJS declaration file may not import an ES-module-only
// package, and NestJS 12 is one: an ES-module app importing this package would get TS1479 /
// TS1541 inside our types. The `import` condition of `exports` points at these `.d.mts` copies
// instead, whose relative imports carry the `.mjs` extension ES-module resolution requires. The
// runtime code is the same CommonJS build either way (Node exposes its named exports to `import`).
const { readdirSync, readFileSync, statSync, writeFileSync, existsSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const root = join(__dirname, '..', 'dist', 'monitoring');

function* declarations(dir) {
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) yield* declarations(file);
    else if (name.endsWith('.d.ts')) yield file;
  }
}

function esmSpecifier(fromFile, specifier) {
  const target = resolve(dirname(fromFile), specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.mjs`;
  if (existsSync(join(target, 'index.d.ts'))) return `${specifier}/index.mjs`;
  throw new Error(`${fromFile}: cannot resolve ${specifier}`);
}

let count = 0;
for (const file of declarations(root)) {
  const text = readFileSync(file, 'utf8').replace(
    /(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]+)\2/g,
    (_, lead, quote, specifier) => `${lead}${quote}${esmSpecifier(file, specifier)}${quote}`,
  );
  writeFileSync(file.replace(/\.d\.ts$/, '.d.mts'), text);
  count += 1;
}
console.log(`esm-types: ${count} declaration files`);
