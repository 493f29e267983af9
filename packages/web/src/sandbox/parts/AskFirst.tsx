import type { ReactNode } from 'react';
import { ConfirmDialog } from '../../app/ConfirmDialog.tsx';

/**
 * The confirmation for an action on one item (a port, a process, a file): open while `item` is set,
 * closed by either button, and the action runs only on confirm, with the item it was opened for.
 */
export function AskFirst<T>(props: {
  item: T | undefined;
  onClose: () => void;
  onConfirm: (item: T) => void;
  title: (item: T) => string;
  confirmLabel: string;
  danger?: boolean;
  children: ReactNode | ((item: T) => ReactNode);
}): ReactNode {
  if (props.item === undefined) return null;
  const item = props.item;
  return (
    <ConfirmDialog
      open
      title={props.title(item)}
      confirmLabel={props.confirmLabel}
      {...(props.danger ? { danger: true } : {})}
      onCancel={props.onClose}
      onConfirm={() => {
        props.onClose();
        props.onConfirm(item);
      }}
    >
      {typeof props.children === 'function' ? props.children(item) : props.children}
    </ConfirmDialog>
  );
}
