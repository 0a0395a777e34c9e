import { join } from 'node:path';

/**
 * Where tests leave files meant for a person (screenshots): `test-output/` at the top of the
 * repository, git-ignored, overwritten by each run instead of piling up in the temp directory.
 */
export const TEST_OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');
