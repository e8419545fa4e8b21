// What every SDK script here starts with: its settings from the environment, and the SDK pointed at the server.
// `parse/node` is the exported subpath for ./node.js (the package's exports map does not list "node.js").
import Parse from 'parse/node';

// A required environment variable; a missing one ends the script with exit code 2.
export const env = name => {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: environment variable ${name} is not set`);
    process.exit(2);
  }
  return value;
};

// Initializes the SDK from PARSE_APP_ID, PARSE_SERVER_URL and PARSE_MASTER_KEY.
export const connect = () => {
  Parse.initialize(env('PARSE_APP_ID'));
  Parse.serverURL = env('PARSE_SERVER_URL');
  Parse.masterKey = env('PARSE_MASTER_KEY');
  return Parse;
};
