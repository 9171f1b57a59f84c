'use strict';
// Built by `npm install` (node-gyp); datamover falls back to microseconds when this does not load.
module.exports = require('./build/Release/utimens.node');
