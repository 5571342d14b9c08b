'use strict'
// Jest projects for `testEnvironment: 'seqloop/jest-environment'`. Inside this repository Jest's
// resolver cannot see `seqloop` as a package (it is the root, not in node_modules), so Node
// resolves the export; override/jest.config.js resolves the literal name through an install.
const common = {
  rootDir: __dirname,
  testEnvironment: require.resolve('seqloop/jest-environment'),
  transform: {}
}
module.exports = {
  projects: [
    { ...common, displayName: 'environment', testMatch: ['<rootDir>/timers.spec.js'] },
    {
      ...common,
      displayName: 'enableGlobally',
      testMatch: ['<rootDir>/global.spec.js'],
      fakeTimers: { enableGlobally: true, now: Date.UTC(2020, 5, 15), doNotFake: ['performance'] }
    }
  ]
}
