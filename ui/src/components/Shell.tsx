// Header pieces shared by the shell.

export function ModeBadge({ writeMode }: { writeMode: boolean }) {
  return writeMode ? (
    <span className="badge badge-write" data-testid="mode-badge" title="Changes can be written to the server">
      WRITE MODE
    </span>
  ) : (
    <span className="badge badge-readonly" data-testid="mode-badge" title="Nothing will be written to the server">
      READ-ONLY
    </span>
  );
}

export function Logo() {
  return <span className="logo" aria-hidden="true" />;
}
