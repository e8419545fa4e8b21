// Files attached to deals and activities, over the Parse SDK: the bytes go to POST /parse/files/{name} (the
// server answers the stored name and URL), then the record's `attachments` array gets an entry for the File value
// with the Add operation; removing uses the Remove operation. Both are atomic on the server, so two people attaching
// at once both keep their file. Removing an entry does not delete the stored bytes (deleting files takes the master
// key in Parse); see docs/files.md.
import { currentUser, guardWrite, Parse } from './api';
import { refreshPinned } from './sync';
import { type Attachment, attachmentEntry, storedEntry, uploadName } from './lib/attachments';

export type AttachableClass = 'Deal' | 'Activity';

export async function attachFile(className: AttachableClass, id: string, file: File): Promise<void> {
  guardWrite('attach files');
  const me = currentUser()?.id;
  if (!me) throw new Error('You are not signed in.');
  const saved = await new Parse.File(uploadName(file.name), file, file.type || undefined).save();
  const url = saved?.url();
  if (!saved || !url) throw new Error('The server did not answer a file URL.');
  const record = new Parse.Object(className);
  record.id = id;
  record.add('attachments', attachmentEntry({ name: saved.name(), url }, file, me, new Date()));
  await record.save();
  // The SDK wrote this partial record over the pinned copy; the device takes the whole record again.
  await refreshPinned(className, id);
}

export async function removeAttachment(className: AttachableClass, id: string, attachment: Attachment): Promise<void> {
  guardWrite('remove the file');
  const record = new Parse.Object(className);
  record.id = id;
  record.remove('attachments', storedEntry(attachment));
  await record.save();
  await refreshPinned(className, id);
}
