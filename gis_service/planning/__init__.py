"""The planning service: facility and scenario edits with their log and undo, and scenarios
loaded from YAML (one writer of scenarios). The planning API and the command line both call it;
facility rows are checked by the same rules as imported ones."""
