'use strict';
// `npm run bench`: runs every JS benchmark suite in turn (`node bench/index.js [suite ...]` runs
// only the named ones). To add a suite, create bench/<name>.js exporting `async function run()`
// that prints its own table, and add <name> to SUITES.

const SUITES = ['scheduler', 'event_loop', 'fake_timers', 'slab_mesh', 'explore', 'workers'];

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SUITES.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown bench suite(s): ${unknown.join(', ')} (known: ${SUITES.join(', ')})`);
  }
  const selected = wanted.length > 0 ? wanted : SUITES;
  console.log(`node ${process.version} ${process.platform}-${process.arch}`);
  for (const name of selected) {
    console.log(`\n== ${name} ==`);
    const { run } = require(`./${name}.js`);
    await run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
