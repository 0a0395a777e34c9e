/** @type {import('jest').Config} */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false }, target: 'es2022', keepClassNames: true } }];
module.exports = {
  // App log lines go to memory and are shown only under a failing test (test/support/app-output.ts).
  testEnvironment: '<rootDir>/test/support/quiet-test.environment.js',
  setupFilesAfterEnv: ['<rootDir>/test/support/app-output.ts'],
  transform: {
    '^.+\\.ts$': swc,
    // The OTLP exporter loads node:http with a dynamic import(), which Jest's CommonJS runtime
    // cannot run: compile it to require() in tests (plain Node runs it as it is).
    '/node_modules/@opentelemetry/otlp-exporter-base/.+\\.js$': swc,
  },
  transformIgnorePatterns: ['/node_modules/(?!@opentelemetry/otlp-exporter-base/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/support/spool-dir.setup.js'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
