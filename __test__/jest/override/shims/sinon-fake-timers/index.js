module.exports = require('seqloop/fake-timers')
