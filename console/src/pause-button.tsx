import { useState } from 'preact/hooks';
import { api, ApiError } from './api';

export interface PauseTarget {
  /** `source` or `flow`, for the button's name and the question. */
  kind: 'source' | 'flow';
  /** What the user knows it by: the source name, or the flow id. */
  label: string;
  /** The admin API path without the action: `/sources/billing`, `/flows/f?org=o`. */
  path: string;
  paused: boolean;
}

/**
 * Pause or Resume one source or flow through the admin API. Pausing asks first (nothing is lost,
 * but nothing runs until someone resumes); `onChanged` reloads the screen so the new state shows
 * at once, with what the server said.
 */
export function PauseButton(props: { target: PauseTarget; onChanged: (message: string) => void }) {
  const { target } = props;
  const [busy, setBusy] = useState(false);
  const action = target.paused ? 'resume' : 'pause';
  const click = async () => {
    if (
      action === 'pause' &&
      !window.confirm(
        `Pause ${target.kind} ${target.label}? Its deliveries are still received and kept, ` +
          'queued; none runs until it is resumed (on every instance).',
      )
    )
      return;
    setBusy(true);
    try {
      const [path, query = ''] = target.path.split('?');
      const answer = await api<{ changed: boolean; woken?: number }>(
        'POST',
        `${path}/${action}${query === '' ? '' : `?${query}`}`,
      );
      props.onChanged(
        action === 'pause'
          ? `${target.kind} ${target.label} paused${answer.changed ? '' : ' (it already was)'}`
          : `${target.kind} ${target.label} resumed` +
              (answer.woken ? `: ${answer.woken} waiting deliveries run now` : ''),
      );
    } catch (error) {
      props.onChanged(
        `${action} ${target.kind} ${target.label} failed: ${
          error instanceof ApiError ? error.message : String(error)
        }`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <button
      type="button"
      class="quiet"
      disabled={busy}
      aria-label={`${target.paused ? 'Resume' : 'Pause'} ${target.kind} ${target.label}`}
      onClick={() => void click()}
    >
      {target.paused ? 'Resume' : 'Pause'}
      {target.kind === 'flow' ? ' flow' : ''}
    </button>
  );
}
