'use strict'
// The README's Jest routes, with seqloop installed as a package (node_modules/seqloop):
// - "override": Jest's Node environment from this folder's install, where `@sinonjs/fake-timers`
//   is the shim in ./shims, so Jest's own ModernFakeTimers loads seqloop/fake-timers.
// - "environment": `testEnvironment: 'seqloop/jest-environment'`, resolved by Jest from the name.
// Both run ../timers.spec.js.
const path = require('node:path')
const common = { rootDir: path.join(__dirname, '..'), testMatch: ['<rootDir>/timers.spec.js'], transform: {} }
module.exports = {
  projects: [
    { ...common, displayName: 'override', testEnvironment: require.resolve('jest-environment-node') },
    { ...common, displayName: 'environment', testEnvironment: 'seqloop/jest-environment' }
  ]
}
