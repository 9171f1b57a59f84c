'use strict';
// Built by `npm install` (generate.cjs, then node-gyp). The directory to point FUSE_NATIVE_PREBUILD at, so that
// fuse-native loads this binding instead of its prebuilt one; throws when the build is missing.
const path = require('node:path');
require('./build/Release/fuse.node');
module.exports = { prebuildDir: __dirname, binding: path.join(__dirname, 'build', 'Release', 'fuse.node') };
