// A real SMTP server on loopback for the mail tests. It prints one JSON line when it listens
// ({"smtpPort", "httpPort"}) and one per message it accepts ({"mail": {...}}), and serves the messages
// received so far at GET http://127.0.0.1:<httpPort>/messages (for the browser end-to-end run).
// SMTP_USER / SMTP_PASSWORD: when set, mail is accepted only after AUTH with exactly these.
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const user = process.env.SMTP_USER;
const password = process.env.SMTP_PASSWORD;
const messages = [];

const smtp = new SMTPServer({
  secure: false,
  disabledCommands: ['STARTTLS'],
  authOptional: !user,
  authMethods: ['PLAIN', 'LOGIN'],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, callback) {
    if (user && auth.username === user && auth.password === password) return callback(null, { user: auth.username });
    return callback(new Error('Invalid username or password'));
  },
  onData(stream, session, callback) {
    simpleParser(stream).then((parsed) => {
      const mail = {
        envelopeFrom: session.envelope.mailFrom && session.envelope.mailFrom.address,
        envelopeTo: session.envelope.rcptTo.map((r) => r.address),
        authenticatedAs: session.user ?? null,
        from: parsed.from && parsed.from.text,
        to: parsed.to && parsed.to.text,
        subject: parsed.subject,
        text: parsed.text,
        html: typeof parsed.html === 'string' ? parsed.html : null,
        contentTypes: [parsed.text ? 'text/plain' : null, parsed.html ? 'text/html' : null].filter(Boolean),
      };
      messages.push(mail);
      process.stdout.write(JSON.stringify({ mail }) + '\n');
      callback();
    }, callback);
  },
});

const http = createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/messages')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(messages));
    return;
  }
  res.writeHead(404);
  res.end();
});

smtp.listen(0, '127.0.0.1', () => {
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ smtpPort: smtp.server.address().port, httpPort: http.address().port }) + '\n');
  });
});

// Ends with the test run: stdin closes when the parent process goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
