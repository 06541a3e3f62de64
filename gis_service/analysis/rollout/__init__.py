"""From a stored plan to its roll-out: the desludging calendar, the SFD and the actions by agency."""
