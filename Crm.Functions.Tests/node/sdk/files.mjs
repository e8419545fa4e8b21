// Parse files through the official JS SDK (npm `parse`) against a running server.
// Env: PARSE_SERVER_URL, PARSE_APP_ID, PARSE_MASTER_KEY, PARSE_MAX_UPLOAD_BYTES (the server's Parse:Files:MaxUploadBytes),
// PARSE_SIGNED_LIFETIME (seconds; set when the server signs file URLs, whose expiry is then checked), PARSE_FILES_STORE (local or blob).
// Prints one line per check; exits non-zero with the failing check's message on the first failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, env } from './connect.mjs';

const Parse = connect();
// A signed-in user's session rides along with every request, as in a browser (off by default in Node).
Parse.User.enableUnsafeCurrentUser();
const maxUpload = Number(env('PARSE_MAX_UPLOAD_BYTES'));
const signedLifetime = process.env.PARSE_SIGNED_LIFETIME ? Number(process.env.PARSE_SIGNED_LIFETIME) : null;
const master = { useMasterKey: true };

let current = '(setup)';
const check = async (name, body) => {
  current = name;
  await body();
  console.log(`ok - ${name}`);
};

const download = async (url, headers = {}) => {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, redirected: response.redirected, bytes: Buffer.from(await response.arrayBuffer()) };
};

const refused = async (promise, code) => {
  await assert.rejects(promise, error => {
    assert.equal(error.code, code, `expected Parse error ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
};

try {
  await check('schema: Deal with a File field (master key)', async () => {
    const schema = new Parse.Schema('Deal');
    schema.addString('title').addFile('proposal');
    await schema.save();
  });

  const user = await Parse.User.signUp(`files${Date.now()}`, 'correct horse battery');
  const proposalBytes = randomBytes(300_000);
  let proposal;

  await check('a signed-in user saves a Parse.File (base64 JSON form) with metadata and tags', async () => {
    proposal = new Parse.File('proposal.pdf', { base64: proposalBytes.toString('base64') }, 'application/pdf',
      { dealStage: 'proposal' }, { kind: 'contract' });
    await proposal.save();
    assert.match(proposal.name(), /^[0-9a-f]{32}_proposal\.pdf$/);
    assert.ok(proposal.url().startsWith(`${Parse.serverURL}/files/${Parse.applicationId}/`), proposal.url());
    if (signedLifetime) assert.match(proposal.url(), /\?expires=\d+&signature=/);
  });

  await check('the file attached to a Deal reads back and downloads byte for byte', async () => {
    const deal = new Parse.Object('Deal', { title: 'Acme renewal', proposal });
    deal.setACL(new Parse.ACL(user));
    await deal.save();
    const read = await new Parse.Query('Deal').get(deal.id);
    const file = read.get('proposal');
    assert.ok(file instanceof Parse.File);
    assert.equal(file.name(), proposal.name());
    const { status, headers, bytes, redirected } = await download(file.url());
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'application/pdf');
    assert.match(headers.get('content-disposition'), /^attachment/);
    // Signed reads on Blob Storage are redirected to a short-lived SAS: the storage origin serves them, as attachments.
    assert.equal(redirected, Boolean(signedLifetime && process.env.PARSE_FILES_STORE === 'blob'));
    if (!redirected) {
      assert.equal(headers.get('x-content-type-options'), 'nosniff');
      assert.equal(headers.get('content-security-policy'), "default-src 'none'; sandbox");
    }
    assert.ok(bytes.equals(proposalBytes), 'downloaded bytes differ');
    // The SDK's own download.
    const data = await file.getData();
    assert.ok(Buffer.from(data, 'base64').equals(proposalBytes), 'getData() bytes differ');
  });

  // With signed URLs, a URL read now (the one saved earlier may have expired already).
  const freshUrl = async () => (await new Parse.Query('Deal').equalTo('title', 'Acme renewal').first()).get('proposal').url();

  await check('range reads answer 206 with exactly the bytes asked for', async () => {
    const { status, headers, bytes } = await download(await freshUrl(), { Range: 'bytes=1000-1999' });
    assert.equal(status, 206);
    assert.equal(headers.get('content-range'), `bytes 1000-1999/${proposalBytes.length}`);
    assert.ok(bytes.equals(proposalBytes.subarray(1000, 2000)));
  });

  await check('a Buffer source is sent raw (saveBinary) with its metadata headers', async () => {
    const bytes = randomBytes(50_000);
    const file = new Parse.File('call-notes.txt', bytes, 'text/plain', { author: 'alice' });
    await file.save();
    const { status, bytes: got, headers } = await download(file.url());
    assert.equal(status, 200);
    assert.match(headers.get('content-disposition'), /^inline/);
    assert.ok(got.equals(bytes));
    const metadata = await (await fetch(file.url().replace(`/files/${Parse.applicationId}/`, `/files/${Parse.applicationId}/metadata/`))).json();
    assert.equal(metadata.metadata.author, 'alice');
  });

  await check('uploads: signed out refused (130), master key allowed', async () => {
    await Parse.User.logOut();
    await refused(new Parse.File('anon.txt', { base64: Buffer.from('hi').toString('base64') }).save(), 130);
    const byMaster = new Parse.File('master.txt', { base64: Buffer.from('hi').toString('base64') });
    await byMaster.save(master);
    assert.ok(byMaster.url());
    await Parse.User.logIn(user.getUsername(), 'correct horse battery');
  });

  await check('limits: over the maximum size refused (130), at the maximum accepted', async () => {
    await refused(new Parse.File('big.bin', { base64: randomBytes(maxUpload + 1).toString('base64') }, 'application/octet-stream').save(), 130);
    const fits = new Parse.File('fits.bin', { base64: randomBytes(maxUpload).toString('base64') }, 'application/octet-stream');
    await fits.save();
    assert.equal((await download(fits.url())).bytes.length, maxUpload);
  });

  await check('XSS shapes: HTML, SVG, a trailing dot and a lying type are refused', async () => {
    const page = Buffer.from('<html><script>alert(1)</script></html>').toString('base64');
    await refused(new Parse.File('page.html', { base64: page }, 'text/html').save(), 130);
    await refused(new Parse.File('logo.svg', { base64: page }, 'image/svg+xml').save(), 130);
    await refused(new Parse.File('notes.txt', { base64: page }, 'text/html').save(), 130);
    await refused(new Parse.File('evil.html.', { base64: page }, 'text/plain').save(), 122);
  });

  await check('destroy needs the master key; the file is gone afterwards', async () => {
    const file = new Parse.File('temp.txt', { base64: Buffer.from('temporary').toString('base64') });
    await file.save();
    const url = file.url();
    await file.destroy(master);
    assert.equal((await download(url)).status, signedLifetime ? 404 : 404);
  });

  if (signedLifetime) {
    await check('signed URLs: an unsigned URL is refused, a signed one expires', async () => {
      const fresh = await freshUrl();
      const unsigned = fresh.split('?')[0];
      assert.equal((await download(unsigned)).status, 403);
      assert.equal((await download(fresh)).status, 200);
      await new Promise(resolve => setTimeout(resolve, (signedLifetime + 1.5) * 1000));
      assert.equal((await download(fresh)).status, 403);
    });
  }

  console.log('all checks passed');
} catch (error) {
  console.error(`FAIL: ${current}: ${error?.stack ?? error}`);
  process.exit(1);
}
