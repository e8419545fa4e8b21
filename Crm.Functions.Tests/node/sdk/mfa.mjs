// Two-factor sign-in through the official Parse JS SDK, in parse-server's authData.mfa shape: enrol with
// user.save({authData: {mfa: {secret, token}}}), log in with Parse.User.logInWithAdditionalAuth, recovery codes, turn off.
// Env: PARSE_SERVER_URL, PARSE_APP_ID, PARSE_MASTER_KEY. Prints one line per check; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { connect } from './connect.mjs';
import { newSecret, totp } from './totp.mjs';

const Parse = connect();
// As in a browser: the logged-in user is Parse.User.current() and its session signs the saves.
Parse.User.enableUnsafeCurrentUser();
let current = '(setup)';
const check = async (name, body) => {
  current = name;
  await body();
  console.log(`ok - ${name}`);
};
const rejects = async (promise, code, message) => {
  await assert.rejects(promise, error => {
    assert.ok(error instanceof Parse.Error, `not a Parse.Error: ${error}`);
    assert.equal(error.code, code, `code ${error.code}: ${error.message}`);
    if (message) assert.equal(error.message, message);
    return true;
  });
};

const username = `sdkmfa${Date.now()}`;
const password = 'correct horse battery';
const secret = newSecret();
// Codes of the current and the next step: the server accepts one step either side, and each step only once.
const now = Date.now();
let recovery = [];

try {
  await check('enrol: user.save({authData: {mfa: {secret, token}}}) answers the recovery codes', async () => {
    const user = await Parse.User.signUp(username, password);
    await rejects(user.save({ authData: { mfa: { secret, token: '12345' } } }), Parse.Error.SCRIPT_FAILED, 'Invalid MFA token');
    await user.save({ authData: { mfa: { secret, token: totp(secret, 0, now) } } });
    const answer = user.get('authDataResponse');
    assert.equal(typeof answer?.mfa?.recovery, 'string');
    recovery = answer.mfa.recovery.split(', ');
    assert.equal(recovery.length, 10);
    await user.fetch();
    assert.ok(!JSON.stringify(user.toJSON()).includes(secret), 'the secret came back');
    await Parse.User.logOut();
  });

  await check('Parse.User.logIn without a code is refused with parse-server\'s error', async () => {
    await rejects(Parse.User.logIn(username, password), Parse.Error.OTHER_CAUSE, 'Missing additional authData mfa');
    assert.equal(Parse.User.current(), null);
  });

  await check('logInWithAdditionalAuth: a wrong code is refused, the current one logs in', async () => {
    await rejects(Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: '000000' } }), Parse.Error.SCRIPT_FAILED, 'Invalid MFA token');
    const user = await Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: totp(secret, 1, now) } });
    assert.ok(user.getSessionToken().startsWith('r:'));
    assert.equal(Parse.User.current().id, user.id);
    assert.equal(user.get('authData').mfa.status, 'enabled');
    await Parse.User.logOut();
  });

  await check('a code cannot be replayed', async () => {
    await rejects(Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: totp(secret, 1, now) } }), Parse.Error.SCRIPT_FAILED);
  });

  await check('a recovery code logs in once', async () => {
    const user = await Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: recovery[0] } });
    assert.ok(user.getSessionToken());
    await Parse.User.logOut();
    await rejects(Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: recovery[0] } }), Parse.Error.SCRIPT_FAILED);
  });

  await check('turning it off needs a current factor; then the password alone logs in', async () => {
    const user = await Parse.User.logInWithAdditionalAuth(username, password, { mfa: { token: recovery[1] } });
    await rejects(user.save({ authData: { mfa: { old: '000000' } } }), Parse.Error.SCRIPT_FAILED);
    await user.save({ authData: { mfa: { old: recovery[2] } } });
    await Parse.User.logOut();
    const plain = await Parse.User.logIn(username, password);
    assert.equal(plain.get('authData')?.mfa, undefined);
    await Parse.User.logOut();
  });

  console.log('all checks passed');
} catch (error) {
  console.error(`FAIL: ${current}: ${error?.stack ?? error}`);
  process.exit(1);
}
