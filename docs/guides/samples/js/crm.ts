// The CRM through the Parse JS SDK with the typed models of GET /docs/models/typescript (saved as ./models.ts).
// The same code serves React, Next.js, Vue, Angular, React Native and Node.js: only the SDK entry point differs
// ('parse' in browsers and bundlers, 'parse/node' on Node.js, 'parse/react-native'). The guides quote this file
// region by region, and the test suite runs it against a started server (GuideSampleTests), so they cannot drift apart.
import ParseNode from 'parse/node';
import type ParseObjectType from 'parse';
import { Activity, Contact, Deal, User, registerModels, type DealStage } from './models.js';

// parse 8.6 types 'parse/node' as a module namespace rather than the Parse object Node hands over; one cast gives the
// full type back. In a browser app, `import Parse from 'parse'` needs no cast.
const Parse = ParseNode as unknown as typeof ParseObjectType.default;

// #region connect
export function connect(serverURL: string, applicationId: string): void {
  Parse.initialize(applicationId);
  Parse.serverURL = serverURL; // e.g. https://<app>.azurewebsites.net/parse
  // Live queries share the server's address: ws(s)://host/parse (in Azure, the liveQueryServerURL azd prints).
  Parse.liveQueryServerURL = serverURL.replace(/^http/, 'ws');
  registerModels(); // queries and pointers now return Deal, Contact, … instances
}
// #endregion

// #region sign-up
export async function signUp(username: string, password: string, email: string): Promise<User> {
  const user = new User({ username, password, email });
  await user.signUp(); // the SDK keeps the session: later calls are made as this user
  return user;
}
// #endregion

// #region log-in
export async function logIn(username: string, password: string): Promise<Parse.User> {
  return Parse.User.logIn(username, password);
}

export async function logOut(): Promise<void> {
  await Parse.User.logOut(); // ends the session on the server too
}
// #endregion

// #region restore
// A browser restores the user from storage by itself (Parse.User.current()). A server, a worker or a test that holds
// a session token makes it current again with become(), which also checks that the session is still valid.
export async function restore(sessionToken: string): Promise<Parse.User> {
  return Parse.User.become(sessionToken);
}
// #endregion

// #region pipeline
export async function pipeline(stage: DealStage): Promise<Deal[]> {
  return new Parse.Query(Deal)
    .equalTo('stage', stage)
    .ascending('expectedCloseDate') // soonest close first
    .include('contact')
    .limit(100)
    .find();
}
// #endregion

// #region create-deal
export async function createDeal(title: string, amount: number, contact: Contact): Promise<Deal> {
  const deal = new Deal({ title, amount, stage: 'lead', contact, expectedCloseDate: new Date(Date.now() + 30 * 86_400_000) });
  return deal.save(); // the server sets the ACL: the deal belongs to its creator (and the Managers role)
}

export async function moveDeal(deal: Deal, stage: DealStage): Promise<Deal> {
  deal.set('stage', stage);
  return deal.save();
}
// #endregion

// #region activities
// relatedTo points to a Contact or a Deal; one query serves both.
export async function activitiesFor(target: Contact | Deal): Promise<Activity[]> {
  return new Parse.Query(Activity).equalTo('relatedTo', target).descending('createdAt').find();
}

export async function logCall(target: Contact | Deal, subject: string): Promise<Activity> {
  return new Activity({ type: 'call', subject, relatedTo: target }).save();
}
// #endregion

// #region live
// Create, update, enter, leave and delete events for the deals of one stage, as the server decides the user may see them.
export async function watchStage(stage: DealStage, onChange: (event: string, deal: Deal) => void) {
  const subscription = await new Parse.Query(Deal).equalTo('stage', stage).subscribe();
  for (const event of ['create', 'update', 'enter', 'leave', 'delete'] as const)
    subscription.on(event, (deal: Parse.Object) => onChange(event, deal as Deal));
  return subscription; // subscription.unsubscribe() when the view goes away
}
// #endregion

// #region offline
// Keep the pipeline on the device: pinned objects are read back without a network round trip.
export async function pinPipeline(deals: Deal[]): Promise<Deal[]> {
  await Parse.Object.pinAllWithName('pipeline', deals);
  return new Parse.Query(Deal).fromPinWithName('pipeline').find();
}
// #endregion

// #region errors
// The codes an app handles; every error carries { code, message } (Parse.Error).
export function explain(error: unknown): string {
  if (!(error instanceof Parse.Error)) throw error;
  switch (error.code) {
    case Parse.Error.INVALID_SESSION_TOKEN: return 'signed out: log in again';          // 209
    case Parse.Error.OBJECT_NOT_FOUND: return 'not found, or not yours to see';         // 101
    case Parse.Error.OPERATION_FORBIDDEN: return 'not allowed';                          // 119
    case Parse.Error.VALIDATION_ERROR: return `invalid: ${error.message}`;              // 142
    case Parse.Error.CONNECTION_FAILED: return 'offline: try again';                     // 100
    default: return `error ${error.code}: ${error.message}`;                            // e.g. 155 too many requests
  }
}
// #endregion

// #region files
export async function uploadProposal(name: string, bytes: Uint8Array): Promise<Parse.File> {
  const file = new Parse.File(name, { base64: Buffer.from(bytes).toString('base64') }, 'application/pdf');
  await file.save();
  return file; // file.url() is where it is served from
}
// #endregion
