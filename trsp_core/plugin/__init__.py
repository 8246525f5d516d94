"""The plugin machinery: hook specifications, the abstract interfaces plugins
implement, and the registry that loads them from entry points."""
