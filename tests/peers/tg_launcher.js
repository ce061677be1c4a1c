'use strict';
// Starts the telegram-test-api Bot API emulator on 127.0.0.1 on a free port, prints
// {"port": N} on one stdout line, and runs until its stdin closes (so it never outlives the test
// process that started it). The PTB compatibility fix-ups live in telegram_emulator.py's proxy.
const TelegramServer = require('telegram-test-api');

async function main() {
  // storeTimeout: keep messages for the whole test session (the default drops them after 60 s).
  const server = new TelegramServer({ host: '127.0.0.1', port: 9000, storeTimeout: 3600 });
  // normalizeConfig() turns port 0 into 9000, so ask for an ephemeral port after construction.
  server.config.port = 0;
  await server.start();
  const { port } = server.server.address();
  server.config.apiURL = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ port })}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(`telegram-test-api failed to start: ${error && error.stack}\n`);
  process.exit(1);
});
