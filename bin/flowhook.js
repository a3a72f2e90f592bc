#!/usr/bin/env node
'use strict';
// The package's command; `npm start` builds dist/ first (scripts/build-if-needed.js).
require('../dist/src/cli/main.js')
  .main(process.argv)
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
