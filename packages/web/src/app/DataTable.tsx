import type { ReactNode } from 'react';

/**
 * A table with one header row, its rows given as children. `wrapClass` is the scrolling box around
 * it (`sbx-table-wrap` in the sandbox tabs, `table-wrap` on the pages whose rows become cards on a
 * phone); the caption is for screen readers only.
 */
export function DataTable(props: {
  columns: readonly string[];
  caption?: string;
  className?: string;
  wrapClass?: string;
  children: ReactNode;
}): ReactNode {
  return (
    <div className={props.wrapClass ?? 'sbx-table-wrap'}>
      <table className={props.className}>
        {props.caption ? <caption className="visually-hidden">{props.caption}</caption> : null}
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
