// "Delete" on a company, contact or deal: when other records still point at it, the dialog says how many
// and offers to move them to another record or delete them too, then deletes; never a dangling link.
import { useId, useState } from 'react';
import { destroy } from '../api';
import { useOnline } from '../hooks';
import { errorMessage } from '../lib/offline';
import { dependentCount, type Dependents, dependentsOf, type Resolution, resolveAndDelete } from '../records';
import { ConfirmDialog } from './Dialog';
import { PointerSelect } from './RecordForm';
import { toast } from './Toasts';

type Deletable = 'Company' | 'Contact' | 'Deal';
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function DeleteRecord({ className, id, name, onDeleted }: { className: Deletable; id: string; name: string; onDeleted: () => void }) {
  const [dependents, setDependents] = useState<Dependents>();
  const [open, setOpen] = useState(false);
  const [choice, setChoice] = useState<'delete' | 'relink' | 'unlink'>('relink');
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const online = useOnline();
  const uid = useId();

  const start = async () => {
    setError(undefined);
    if (!online) {
      // Offline, what points at the record cannot be looked up: the deletion is queued as it is, and the server
      // (which refuses to leave links dangling) judges it on reconnect; a refusal stays in the queue to discard.
      setDependents({ kind: 'activities', activities: [] });
      setOpen(true);
      return;
    }
    try {
      const d = await dependentsOf(className, id);
      setDependents(d);
      setChoice(d.kind === 'activities' ? 'delete' : 'relink');
      setTarget('');
      setOpen(true);
    } catch (e) {
      toast.error(`Cannot delete ${name}: ${errorMessage(e)}`);
    }
  };

  const confirm = async () => {
    if (!dependents) return;
    if (choice === 'relink' && dependentCount(dependents) > 0 && !target) {
      setError(`Choose the ${dependents.kind === 'company' ? 'company' : className.toLowerCase()} to move them to.`);
      return;
    }
    const resolution: Resolution = choice === 'delete' ? { action: 'delete' } : { action: 'relink', to: choice === 'relink' ? target : undefined };
    setBusy(true);
    setError(undefined);
    try {
      if (online) await resolveAndDelete(className, id, dependents, resolution);
      else await destroy(className, id);
      setOpen(false);
      toast.success(`${name} deleted.`);
      onDeleted();
    } catch (e) {
      setError(errorMessage(e));
      toast.error(`${name} was not deleted: ${errorMessage(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const count = dependents ? dependentCount(dependents) : 0;
  const targetClass = dependents?.kind === 'company' ? 'Company' : className;
  const what = dependents?.kind === 'company'
    ? [dependents.contacts.length ? plural(dependents.contacts.length, 'contact') : '', dependents.deals.length ? plural(dependents.deals.length, 'deal') : ''].filter(Boolean).join(' and ')
    : plural(dependents?.activities.length ?? 0, 'activity', 'activities');

  return (
    <>
      <button className="danger" onClick={start}>Delete</button>
      {open && dependents && (
        <ConfirmDialog
          title={`Delete ${name}?`}
          message={!online ? 'You are offline: the deletion is sent when you reconnect, and refused then if other records still refer to it.'
            : count === 0 ? 'This cannot be undone.' : `${what} ${count === 1 ? 'refers' : 'refer'} to ${name}. Choose what happens to ${count === 1 ? 'it' : 'them'} first.`}
          confirmLabel="Delete"
          danger
          busy={busy}
          onConfirm={confirm}
          onCancel={() => setOpen(false)}
        >
          {count > 0 && (
            <fieldset className="choices">
              <legend className="sr-only">What happens to the {what}</legend>
              <label><input type="radio" name={`${uid}-choice`} checked={choice === 'relink'} onChange={() => setChoice('relink')} /> Move {count === 1 ? 'it' : 'them'} to another {targetClass.toLowerCase()}</label>
              {choice === 'relink' && (
                <div className="indent">
                  <label htmlFor={`${uid}-target`}>Move to</label>{' '}
                  <PointerSelect id={`${uid}-target`} target={targetClass} value={target} onChange={setTarget} exclude={id} noneLabel={`— choose a ${targetClass.toLowerCase()} —`} />
                </div>
              )}
              {dependents.kind === 'company' && (
                <label><input type="radio" name={`${uid}-choice`} checked={choice === 'unlink'} onChange={() => setChoice('unlink')} /> Keep {count === 1 ? 'it' : 'them'} without a company</label>
              )}
              <label><input type="radio" name={`${uid}-choice`} checked={choice === 'delete'} onChange={() => setChoice('delete')} /> Delete {count === 1 ? 'it' : 'them'} too{dependents.kind === 'company' ? ' (with their activities)' : ''}</label>
            </fieldset>
          )}
          {error && <p className="error" role="alert">{error}</p>}
        </ConfirmDialog>
      )}
    </>
  );
}
