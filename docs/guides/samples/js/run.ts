// Runs every function of crm.ts against a server, in the order a guide teaches them, and prints one JSON line of what
// happened. GuideSampleTests starts the server, compiles this with tsc and checks the line.
import ParseNode from 'parse/node';
import type ParseObjectType from 'parse';
import { activitiesFor, connect, createDeal, explain, logCall, logIn, logOut, moveDeal, pinPipeline, pipeline, restore, signUp, uploadProposal, watchStage } from './crm.js';
import { Company, Contact, Deal } from './models.js';

const Parse = ParseNode as unknown as typeof ParseObjectType.default; // see crm.ts
const [serverURL, appId, username] = process.argv.slice(2);
connect(serverURL, appId);
Parse.User.enableUnsafeCurrentUser(); // a script acts for one person; a server passes { sessionToken } per call instead
Parse.enableLocalDatastore();

const password = 'Guide-sample-1';
const user = await signUp(username, password, `${username}@example.com`);
const token = user.getSessionToken()!;
await logOut();
const loggedIn = await logIn(username, password);
const restored = await restore(loggedIn.getSessionToken()!);

const company = await new Company({ name: 'Contoso' }).save();
const contact = await new Contact({ name: 'Ada Lovelace', company }).save();

const events: string[] = [];
const subscription = await watchStage('qualified', (event, deal) => events.push(`${event}:${deal.get('title')}`));

const deal = await createDeal('Fleet renewal', 12000, contact);
const second = await createDeal('Pilot', 3000, contact);
await moveDeal(deal, 'qualified');
await moveDeal(second, 'qualified');
await logCall(deal, 'Kick-off call');
await logCall(contact, 'Intro call');

const column = await pipeline('qualified');
const pinned = await pinPipeline(column);
const dealActivities = await activitiesFor(deal);
const contactActivities = await activitiesFor(contact);

// Live events arrive asynchronously: wait (bounded) for the two "enter" events of the deals moved into the stage.
for (let i = 0; i < 100 && events.filter(e => e.startsWith('enter:')).length < 2; i++) await new Promise(r => setTimeout(r, 50));
subscription.unsubscribe();

let invalidSession = '';
let notFound = '';
try { await new Parse.Query(Deal).get('doesNotExist1'); } catch (error) { notFound = explain(error); }

const file = await uploadProposal('proposal.pdf', new TextEncoder().encode('%PDF-1.4 sample'));
const downloaded = await (await fetch(file.url()!)).text();

await logOut();
try { await restore(token); } catch (error) { invalidSession = explain(error); } // the first session ended at log-out

console.log(JSON.stringify({
  signedUp: user.id,
  restored: restored.id,
  column: column.map(d => d.get('title')),
  contactIncluded: column.every(d => d.get('contact')?.get('name') === 'Ada Lovelace'),
  pinned: pinned.map(d => d.get('title')),
  dealActivities: dealActivities.map(a => a.get('subject')),
  contactActivities: contactActivities.map(a => a.get('subject')),
  events: [...events].sort(),
  notFound,
  invalidSession,
  fileName: file.name(),
  downloaded,
}));
process.exit(0); // the live query socket would keep the process alive
