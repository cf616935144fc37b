// Tests run TypeScript directly through tsx; integration tests need the local
// stack (`whorl stack up`), which scripts/test.sh starts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

module.exports = {
  require: ['tsx/cjs'],
  extension: ['ts'],
  timeout: 120000,
  reporter: 'spec',
};
