// Uses the typed models the server generates (GET /docs/models/typescript?import=parse/node) through the Parse JS SDK:
// sign up, a company, a contact, a deal in the pipeline, an activity related to it, the pipeline query, live types.
// Prints one JSON line of what it saw; TypedModelTests checks it against the server.
import Parse from 'parse/node';
import { Activity, Company, Contact, Deal, DealStageValues, User, registerModels, type DealStage } from '../generated/models.js';

const [serverURL, appId, username] = process.argv.slice(2);
// parse 8.6's Node typings describe the module namespace rather than the object Node hands over: initialize is there
// at run time but missing from the type, hence the narrow cast.
(Parse as unknown as { initialize(applicationId: string): void }).initialize(appId);
Parse.serverURL = serverURL;
// A script acts for one person: let the SDK keep the signed-in user (a server would pass { sessionToken } per call).
Parse.User.enableUnsafeCurrentUser();
registerModels();

const user = new User({ username, password: 'Typed-models-1', email: `${username}@example.com` });
await user.signUp();

const company = await new Company({ name: 'Contoso' }).save();
const contact = await new Contact({ name: 'Ada Lovelace', email: 'ada@example.com', company }).save();
const stage: DealStage = 'proposal';
const later = await new Deal({ title: 'Fleet renewal', amount: 12000, stage, contact, company, expectedCloseDate: new Date('2027-03-01T00:00:00Z') }).save();
const sooner = await new Deal({ title: 'Pilot', amount: 3000, stage, contact, company, expectedCloseDate: new Date('2027-01-15T00:00:00Z') }).save();
await new Deal({ title: 'Lost cause', stage: 'lost', company }).save();
await new Activity({ type: 'call', subject: 'Kick-off call', relatedTo: later }).save();

// The pipeline column: one stage, soonest close first, with the contact.
const column = await new Parse.Query(Deal).equalTo('stage', stage).ascending('expectedCloseDate').include('contact').find();
// Activities about a deal (relatedTo is a Contact or a Deal).
const activities = await new Parse.Query(Activity).equalTo('relatedTo', later).find();

const first = column[0];
const title: string = first.get('title');
const related = activities[0]?.get('relatedTo');
console.log(JSON.stringify({
  stages: DealStageValues,
  columnTitles: column.map(deal => deal.get('title')),
  columnAreDeals: column.every(deal => deal instanceof Deal),
  includedContactIsContact: first.get('contact') instanceof Contact,
  includedContactName: first.get('contact')?.get('name') ?? null,
  title,
  closeIsDate: first.get('expectedCloseDate') instanceof Date,
  activityIsActivity: activities[0] instanceof Activity,
  activityType: activities[0]?.get('type') ?? null,
  relatedIsDeal: related instanceof Deal,
  relatedId: related?.id ?? null,
  laterId: later.id,
  soonerId: sooner.id,
  currentIsUser: Parse.User.current() instanceof User,
}));
await Parse.User.logOut();
