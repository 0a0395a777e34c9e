// Removes the library output and the incremental build state before the package is built, so a
// tarball never carries files of deleted sources and `npm start` rebuilds what was removed.
const { rmSync, readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const dist = join(__dirname, '..', 'dist');
for (const dir of ['monitoring', 'migrations'])
  rmSync(join(dist, dir), { recursive: true, force: true });
if (existsSync(dist))
  for (const file of readdirSync(dist))
    if (file.endsWith('.tsbuildinfo')) rmSync(join(dist, file), { force: true });
