'use strict'
// Jest project for `testEnvironment: 'seqloop/jest-environment'`. Inside this repository Jest's
// resolver cannot see `seqloop` as a package (it is the root, not in node_modules), so Node
// resolves the export; override/jest.config.js resolves the literal name through an install.
module.exports = {
  rootDir: __dirname,
  testEnvironment: require.resolve('seqloop/jest-environment'),
  testMatch: ['<rootDir>/*.spec.js'],
  transform: {}
}
